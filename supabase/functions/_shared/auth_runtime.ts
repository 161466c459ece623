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

export interface AuthOverrides {
  adapter?: AuthConfig["adapter"];
  events?: AuthConfig["events"];
  onError?: (error: unknown) => void;
}

export interface AuthRuntime {
  authConfig: AuthConfig;
  /** Provider id → type, as Auth.js resolves them. */
  providerTypes: Map<string, string>;
  /**
   * `Auth()` for a request, optionally with a per-request adapter and events; `onError` also
   * sees what Auth.js logs while answering it.
   */
  auth(request: Request, overrides?: AuthOverrides): Promise<Response>;
}

/**
 * `createAuthRuntime`, after loading what only some configurations need: the passkey
 * provider (and SimpleWebAuthn with it) when `AUTH_PASSKEYS=true`.
 */
export async function loadAuthRuntime(config: AppConfig, deps: AuthDeps): Promise<AuthRuntime> {
  if (!config.passkeys) return createAuthRuntime(config, deps);
  const { createPasskeyProvider } = await import("./passkey_provider.ts");
  return createAuthRuntime(config, {
    ...deps,
    providers: [...(deps.providers ?? []), createPasskeyProvider(config.passkeys)],
  });
}

export function createAuthRuntime(config: AppConfig, deps: AuthDeps): AuthRuntime {
  const authConfig = createAuthConfig(config, deps);
  return {
    authConfig,
    providerTypes: providerIndex(authConfig),
    auth(request, overrides) {
      if (!overrides) return Auth(request, authConfig);
      const { onError, adapter, events } = overrides;
      return Auth(request, {
        ...authConfig,
        ...(adapter ? { adapter } : {}),
        ...(events ? { events: { ...authConfig.events, ...events } } : {}),
        ...(onError
          ? {
            logger: {
              ...authConfig.logger,
              error(error) {
                onError(error);
                authConfig.logger?.error?.(error);
              },
            },
          }
          : {}),
      });
    },
  };
}

/**
 * Provider id → type, as Auth.js will resolve them: a provider's user options (such as
 * `id: "email"` given to Nodemailer) override its defaults.
 */
export function providerIndex(authConfig: AuthConfig): Map<string, string> {
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
