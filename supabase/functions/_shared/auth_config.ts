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
import type { AppConfig } from "./config.ts";
import { describe } from "./errors.ts";
import { customCallbacks, customProviders } from "./custom.ts";
import { createOAuthProviders } from "./oauth_providers.ts";
import { createProviders } from "./providers.ts";
import { pagesForAuthJs } from "./redirects.ts";
import type { Store } from "./store/mod.ts";

export interface AuthDeps {
  store: Store;
  /** Where Auth.js's log lines go; tests capture them. */
  log?: (line: string) => void;
}

export function createAuthConfig(
  config: AppConfig,
  deps: AuthDeps,
): AuthConfig {
  const log = deps.log ?? ((line: string) => console.error(line));
  const authConfig: AuthConfig = {
    basePath: config.basePath,
    secret: config.secrets,
    // The request Auth.js sees is rebuilt from AUTH_URL, never from client headers.
    trustHost: true,
    adapter: deps.store,
    providers: [
      ...createProviders(config),
      ...createOAuthProviders(config),
      ...customProviders(config),
    ],
    pages: pagesForAuthJs(config.pages),
    session: { strategy: config.sessionStrategy, maxAge: config.sessionMaxAge },
    debug: config.debug,
    callbacks: {
      ...customCallbacks,
      async redirect(params) {
        const url = customCallbacks.redirect ? await customCallbacks.redirect(params) : params.url;
        return allowedRedirect(url, params.baseUrl, config.allowedOrigins);
      },
      session(params) {
        const { session, token, user } = params;
        // Expose the user's id (next_auth.users.id): frontends and RLS need it.
        const id = (token?.sub as string | undefined) ?? user?.id;
        if (id && session.user) session.user.id = id;
        return customCallbacks.session ? customCallbacks.session(params) : session;
      },
    },
    logger: {
      // One line per event, never a stack or an error's cause (which may hold tokens).
      error(error) {
        log(`[auth][error] ${describe(error)}`);
      },
      warn(code) {
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

/**
 * Where Auth.js may send the browser: relative paths on the functions' origin, or absolute
 * URLs on an allowed origin. Anything else falls back to `baseUrl`.
 */
export function allowedRedirect(
  url: string,
  baseUrl: string,
  allowedOrigins: Set<string>,
): string {
  if (url.startsWith("/") && !url.startsWith("//") && !url.startsWith("/\\")) {
    return `${baseUrl}${url}`;
  }
  try {
    const target = new URL(url);
    if (allowedOrigins.has(target.origin)) return target.href;
  } catch {
    // not a URL: fall through
  }
  return baseUrl;
}
