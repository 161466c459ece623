/**
 * Builds the Auth.js configuration from validated settings and explicit dependencies.
 *
 * @example
 * ```ts
 * const authConfig = createAuthConfig(config, { store: createStore(config) });
 * const response = await Auth(request, authConfig);
 * ```
 */
import { setEnvDefaults } from "@auth/core";
import type { AuthConfig } from "@auth/core";
import type { Provider } from "@auth/core/providers";
import type { AppConfig } from "./config.ts";
import { describe } from "./errors.ts";
import { createAuthOptions } from "./auth_options.ts";
import { customProviders } from "./custom.ts";
import { createOAuthProviders } from "./oauth_providers.ts";
import { createOAuth1Providers } from "./oauth1/provider.ts";
import { createPasswordProviders } from "./password_provider.ts";
import { createProviders } from "./providers.ts";
import { pagesForAuthJs } from "./redirects.ts";
import type { Store } from "./store/mod.ts";

export interface AuthDeps {
  store: Store;
  /** Where Auth.js's log lines go; tests capture them. */
  log?: (line: string) => void;
  /** Providers loaded on demand (passkeys: see `loadAuthRuntime`). */
  providers?: Provider[];
}

export function createAuthConfig(
  config: AppConfig,
  deps: AuthDeps,
): AuthConfig {
  const log = deps.log ?? ((line: string) => console.error(line));
  const authConfig: AuthConfig = {
    ...createAuthOptions(config, { isEnrolled: (userId) => deps.store.mfa.isEnrolled(userId) }),
    basePath: config.basePath,
    secret: config.secrets,
    // The request Auth.js sees is rebuilt from AUTH_URL, never from client headers.
    trustHost: true,
    adapter: deps.store,
    providers: [
      ...createProviders(config),
      ...createOAuthProviders(config),
      ...createOAuth1Providers(config),
      ...customProviders(config),
      ...createPasswordProviders(config, deps.store),
      ...(deps.providers ?? []),
    ],
    // Always on: it only permits WebAuthn providers, and Auth.js remembers in a module-wide
    // flag that some configuration had one, then refuses any later configuration without it
    // (one process may hold several, e.g. the local gateway).
    experimental: { enableWebAuthn: true },
    pages: pagesForAuthJs(config.pages),
    debug: config.debug,
    logger: {
      // One line per event, never a stack or an error's cause (which may hold tokens).
      error(error) {
        log(`[auth][error] ${describe(error)}`);
      },
      warn(code) {
        // Said on every request once a passkey provider is configured; chosen knowingly.
        if (code === "experimental-webauthn") return;
        log(`[auth][warn] ${code}`);
      },
      debug(message) {
        if (config.debug) log(`[auth][debug] ${message}`);
      },
    },
  };
  // Auth.js's own conventions: AUTH_<PROVIDER>_ID / _SECRET / _ISSUER / _KEY.
  setEnvDefaults(config.env, authConfig, true);
  return authConfig;
}
