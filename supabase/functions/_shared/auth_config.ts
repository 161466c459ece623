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
    debug: config.debug,
    callbacks: {
      redirect({ url, baseUrl }) {
        return allowedRedirect(url, baseUrl, config.allowedOrigins);
      },
      session({ session, token, user }) {
        // Only what a frontend needs, plus the user's id (next_auth.users.id) for RLS. For
        // database sessions Auth.js passes the whole row here, session token included: it
        // must not reach JavaScript (the cookie is httpOnly for a reason).
        const source = (user ?? session.user ?? {}) as {
          id?: string;
          name?: string | null;
          email?: string | null;
          image?: string | null;
        };
        const expires = session.expires as unknown;
        return {
          user: {
            id: (token?.sub as string | undefined) ?? source.id,
            name: source.name ?? null,
            email: source.email ?? null,
            image: source.image ?? null,
          },
          expires: expires instanceof Date ? expires.toISOString() : String(expires),
        } as unknown as typeof session;
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
