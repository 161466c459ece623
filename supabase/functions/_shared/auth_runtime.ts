/**
 * The Auth.js runtime: `Auth()` with the full configuration (providers included). Heavy to
 * load, so `handler.ts` imports it on demand — at start-up in the background for most
 * functions, only when first needed for `session` (whose common request never needs it).
 *
 * @example
 * ```ts
 * const runtime = createAuthRuntime(config, { store, log });
 * runtime.providerTypes.get("email"); // "email"
 * const response = await runtime.auth(request);
 * ```
 */
import { Auth, type AuthConfig } from "@auth/core";
import { type AuthDeps, createAuthConfig } from "./auth_config.ts";
import type { AppConfig } from "./config.ts";

export interface AuthRuntime {
  authConfig: AuthConfig;
  /** Provider id → type, as Auth.js resolves them. */
  providerTypes: Map<string, string>;
  auth(request: Request): Promise<Response>;
}

export function createAuthRuntime(config: AppConfig, deps: AuthDeps): AuthRuntime {
  const authConfig = createAuthConfig(config, deps);
  return {
    authConfig,
    providerTypes: providerIndex(authConfig),
    auth: (request) => Auth(request, authConfig),
  };
}

/**
 * Provider id → type, as Auth.js will resolve them: a provider's user options (such as
 * `id: "email"` given to Nodemailer) override its defaults.
 */
function providerIndex(authConfig: AuthConfig): Map<string, string> {
  const index = new Map<string, string>();
  for (const entry of authConfig.providers) {
    const provider = (typeof entry === "function" ? entry() : entry) as {
      id: string;
      type: string;
      options?: { id?: string; type?: string };
    };
    index.set(provider.options?.id ?? provider.id, provider.options?.type ?? provider.type);
  }
  return index;
}
