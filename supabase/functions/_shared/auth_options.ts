/**
 * The part of the Auth.js configuration that answering a session needs: callbacks, session
 * settings, events, cookies. Light to load (no providers, no Auth.js runtime), so the
 * session fast path starts quickly; the full configuration (`auth_config.ts`) spreads it.
 *
 * @example
 * ```ts
 * const options = createAuthOptions(config);
 * options.session?.strategy; // "jwt"
 * ```
 */
import type { AuthConfig } from "@auth/core";
import {
  needsSecondFactor,
  secondFactorExpired,
  signInClaims,
  storedAssurance,
} from "./assurance.ts";
import type { AppConfig } from "./config.ts";
import { customCallbacks } from "./custom.ts";

export type AuthOptions = Pick<AuthConfig, "callbacks" | "session" | "events" | "cookies">;

export interface AuthOptionsDeps {
  /**
   * Whether a user has a confirmed second factor; asked once per JWT sign-in (with
   * `AUTH_MFA`), never when a session is read. Absent where no sign-in happens (the session
   * fast path).
   */
  isEnrolled?: (userId: string) => Promise<boolean>;
}

export function createAuthOptions(config: AppConfig, deps: AuthOptionsDeps = {}): AuthOptions {
  const jwt = config.mfa ? assuranceJwt(deps) : customCallbacks.jwt;
  return {
    session: { strategy: config.sessionStrategy, maxAge: config.sessionMaxAge },
    cookies: cookieOptions(config),
    callbacks: {
      // The user's own callbacks (custom.ts); `redirect` and `session` wrap theirs below.
      ...customCallbacks,
      ...(jwt ? { jwt } : {}),
      async redirect(params) {
        // Whatever a custom redirect returns is still held to the allowed origins.
        const url = customCallbacks.redirect ? await customCallbacks.redirect(params) : params.url;
        return allowedRedirect(url, params.baseUrl, config.allowedOrigins);
      },
      session(params) {
        if (config.mfa && secondFactorExpired(assuranceOf(params), Date.now() / 1000)) {
          // Partial for too long: no session at all; the user signs in again.
          return null as unknown as typeof params.session;
        }
        if (config.mfa && needsSecondFactor(assuranceOf(params))) {
          // Signed in with the first factor only: not a session yet. Auth.js-style clients
          // see no `user` (signed out); ours read `mfaRequired`.
          return {
            mfaRequired: true,
            expires: isoDate(params.session.expires),
          } as unknown as typeof params.session;
        }
        const base = publicSession(params);
        if (config.mfa) (base as unknown as Record<string, unknown>).aal = assuranceOf(params).aal;
        return customCallbacks.session
          ? customCallbacks.session({ ...params, session: base })
          : base;
      },
    },
  };
}

type SessionParams = Parameters<NonNullable<NonNullable<AuthConfig["callbacks"]>["session"]>>[0];
type JwtCallback = NonNullable<NonNullable<AuthConfig["callbacks"]>["jwt"]>;

/** The claims this project owns in a JWT session; custom callbacks cannot change them. */
const ASSURANCE_CLAIMS = ["aal", "amr", "mfa"] as const;

/**
 * The `jwt` callback with the second factor on: at sign-in the session starts with its
 * assurance claims (one lookup: does the user have a confirmed factor?); afterwards those
 * claims stay as issued, whatever a custom `jwt` callback returns. Only the `mfa` function
 * raises them, after a code.
 */
function assuranceJwt(deps: AuthOptionsDeps): JwtCallback {
  return async (params) => {
    const next = customCallbacks.jwt ? await customCallbacks.jwt(params) : params.token;
    if (!next) return next;
    if (params.trigger === "signIn" || params.trigger === "signUp") {
      const userId = params.user?.id ?? params.token.sub;
      if (!deps.isEnrolled || !userId) {
        throw new Error("Cannot sign in: the second factor's store is not available");
      }
      return {
        ...next,
        ...signInClaims({
          account: params.account,
          enrolled: await deps.isEnrolled(userId),
          now: Date.now(),
        }),
      };
    }
    if (next === params.token) return next;
    const kept: Record<string, unknown> = { ...next };
    for (const claim of ASSURANCE_CLAIMS) {
      if (claim in params.token) kept[claim] = params.token[claim];
      else delete kept[claim];
    }
    return kept as typeof next;
  };
}

/** The assurance a session callback sees: JWT claims, or the database row as `sql` reads it. */
function assuranceOf({ token, session }: SessionParams) {
  return storedAssurance((token ?? session) as Record<string, unknown>);
}

function isoDate(value: unknown): string {
  return value instanceof Date ? value.toISOString() : String(value);
}

function publicSession({ session, token, user }: SessionParams): SessionParams["session"] {
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
