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
import { createProviders } from "./providers.ts";
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
    providers: createProviders(config),
    session: { strategy: config.sessionStrategy, maxAge: config.sessionMaxAge },
    cookies: cookieOptions(config),
    debug: config.debug,
    callbacks: {
      redirect({ url, baseUrl }) {
        return allowedRedirect(url, baseUrl, config.allowedOrigins);
      },
      session({ session, token, user }) {
        // Expose the user's id (next_auth.users.id): frontends and RLS need it.
        const id = (token?.sub as string | undefined) ?? user?.id;
        if (id && session.user) session.user.id = id;
        return session;
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

const AUTH_COOKIES = [
  "sessionToken",
  "callbackUrl",
  "csrfToken",
  "pkceCodeVerifier",
  "state",
  "nonce",
  "webauthnChallenge",
] as const;

/**
 * Auth.js's cookies keep their names and defaults; only SameSite changes. A cross-site
 * frontend's `fetch(..., { credentials: "include" })` carries `SameSite=None` cookies only
 * (and browsers accept those only with `Secure`, which Auth.js sets on https).
 */
function cookieOptions(config: AppConfig): AuthConfig["cookies"] {
  if (config.cookieSameSite === "lax") return undefined;
  const cookies: Record<string, unknown> = {};
  for (const name of AUTH_COOKIES) {
    cookies[name] = { options: { sameSite: "none", secure: true } };
  }
  return cookies as AuthConfig["cookies"];
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
