/**
 * Sessions for your own Edge Functions and APIs: read the Auth.js session a request carries
 * (the session cookie, its chunks, or `Authorization: Bearer <session token>`) without an
 * HTTP round trip to the `session` function. JWT sessions are decrypted here with the same
 * keys Auth.js uses; database sessions cost one query (the session joined with its user).
 * A bearer access token from the `access-token` function (what supabase-js sends to
 * `functions.invoke` once given `accessToken`) is accepted too, checked against our own key.
 *
 * @example
 * ```ts
 * // supabase/functions/my-api/index.ts (deploy with --no-verify-jwt)
 * import { protect } from "../_shared/protect.ts";
 *
 * Deno.serve(protect((req, session) => Response.json({ hello: session.user.email })));
 * ```
 *
 * Or by hand:
 * ```ts
 * import { getSession, requireSession } from "../_shared/protect.ts";
 *
 * const session = await getSession(req);     // null when signed out
 * const { user } = await requireSession(req); // throws a 401 HttpError when signed out
 * ```
 */
import type { JWTPayload } from "jose";
import { type AccessTokenSigner, createAccessTokenSigner } from "./access_token.ts";
import {
  type Aal,
  type AmrEntry,
  needsSecondFactor,
  secondFactorExpired,
  storedAssurance,
} from "./assurance.ts";
import { type AppConfig, loadConfig } from "./config.ts";
import { applyCors, corsPreflight } from "./cors.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { createSessionCodec, readSessionToken, sessionCookieName } from "./session_token.ts";
import { createSessionLookup } from "./session_lookup.ts";
import { createStore, type Store } from "./store/mod.ts";

export interface SessionUser {
  /** `next_auth.users.id` */
  id: string;
  email?: string | null;
  name?: string | null;
  image?: string | null;
}

export interface VerifiedSession {
  user: SessionUser;
  /** ISO date the session ends. */
  expires: string;
  /** The JWE's `jti` (JWT sessions) or the session row's id (database sessions). */
  sessionId?: string;
  /** `aal2` once the session was proven with a second factor (see `assurance.ts`). */
  aal: Aal;
  /** How the session was authenticated (Supabase's `amr` entries), when known. */
  amr: AmrEntry[];
}

/**
 * Everything known about the session a request carries, partial or not: what the `mfa`
 * function needs to finish or raise one. Others use `getSession` / `requireSession`.
 */
export interface InspectedSession extends VerifiedSession {
  /** The user has a confirmed second factor (JWT sessions: as of sign-in or upgrade). */
  enrolled: boolean;
  /** Partial: the user has a second factor and this session has not been proven with it. */
  secondFactorRequired: boolean;
  /** Partial for longer than the window to give the second factor: sign in again. */
  secondFactorExpired: boolean;
  /** What the request carried: a JWE session, a database session token, or an access token. */
  kind: "jwt" | "database" | "access_token";
  /** The credential itself (session cookie or bearer), to re-issue or upgrade the session. */
  token: string;
  /** JWT sessions: the decrypted claims. */
  claims?: JWTPayload;
}

export interface SessionGuard {
  /**
   * The request's session; null when it carries none, an invalid, expired or revoked one,
   * or one still waiting for its second factor.
   */
  getSession(req: Request): Promise<VerifiedSession | null>;
  /**
   * The request's session, or an `HttpError`: 401 `session_missing` when it carries no
   * session, 401 `session_invalid` when the one it carries is forged, expired or revoked,
   * 403 `second_factor_required` when its user must still give their second factor.
   */
  requireSession(req: Request): Promise<VerifiedSession>;
  /** The request's session as it is, partial ones included; null when it carries none valid. */
  inspectSession(req: Request): Promise<InspectedSession | null>;
}

/**
 * A guard for one configuration and store. Keys are derived once per isolate.
 *
 * @example
 * ```ts
 * const guard = createSessionGuard(loadConfig(Deno.env.toObject()));
 * const { user } = await guard.requireSession(req);
 * ```
 */
export function createSessionGuard(
  config:
    & Pick<
      AppConfig,
      | "secrets"
      | "publicUrl"
      | "sessionStrategy"
      | "databaseUrl"
      | "databasePrepare"
      | "databasePoolSize"
      | "storeDriver"
      | "rest"
    >
    & Partial<Pick<AppConfig, "accessToken" | "mfa">>,
  deps: { store?: Store; now?: () => number; accessTokens?: AccessTokenSigner } = {},
): SessionGuard {
  const cookieName = sessionCookieName(config.publicUrl);
  const codec = createSessionCodec(config.secrets, cookieName);
  const now = deps.now ?? Date.now;
  let store = deps.store;
  let lookup: ReturnType<typeof createSessionLookup> | undefined;
  const accessTokens = deps.accessTokens ??
    (config.accessToken?.privateKey || config.accessToken?.legacySecret
      ? createAccessTokenSigner(config.accessToken)
      : undefined);
  /** Without AUTH_MFA nothing is enforced: every valid session is a full one. */
  const assess = (stored: Record<string, unknown>) => {
    const assurance = storedAssurance(stored);
    return {
      ...assurance,
      secondFactorRequired: config.mfa === true && needsSecondFactor(assurance),
      secondFactorExpired: config.mfa === true &&
        secondFactorExpired(assurance, Date.now() / 1000),
    };
  };

  async function verify(token: string): Promise<InspectedSession | null> {
    // A session is a JWE (five parts) or an opaque database token; a JWS (three) can only be
    // one of our access tokens.
    if (token.split(".").length === 3) {
      const claims = accessTokens ? await accessTokens.verify(token) : null;
      if (!claims) return null;
      // Only full sessions get access tokens: the token's own aal is the session's.
      return {
        user: {
          id: claims.sub!,
          email: typeof claims.email === "string" ? claims.email : null,
        },
        expires: new Date(claims.exp! * 1000).toISOString(),
        sessionId: typeof claims.session_id === "string" ? claims.session_id : undefined,
        ...assess({ aal: claims.aal, amr: claims.amr }),
        kind: "access_token",
        token,
      };
    }
    if (config.sessionStrategy === "database") {
      store ??= createStore(config);
      lookup ??= createSessionLookup(store);
      const found = await lookup(token);
      if (!found || found.session.expires.valueOf() <= now()) return null;
      const { user, session } = found;
      return {
        user: { id: user.id, email: user.email, name: user.name, image: user.image },
        expires: session.expires.toISOString(),
        sessionId: (session as { id?: string }).id,
        ...assess(session as unknown as Record<string, unknown>),
        kind: "database",
        token,
      };
    }
    const payload = await codec.decode(token);
    if (!payload || typeof payload.sub !== "string" || typeof payload.exp !== "number") {
      return null;
    }
    const text = (value: unknown) => typeof value === "string" ? value : null;
    return {
      user: {
        id: payload.sub,
        email: text(payload.email),
        name: text(payload.name),
        image: text(payload.picture),
      },
      expires: new Date(payload.exp * 1000).toISOString(),
      sessionId: text(payload.jti) ?? undefined,
      ...assess(payload),
      kind: "jwt",
      token,
      claims: payload,
    };
  }

  /** What a caller of getSession / requireSession sees: never the credential itself. */
  const verified = (s: InspectedSession): VerifiedSession => ({
    user: s.user,
    expires: s.expires,
    ...(s.sessionId !== undefined ? { sessionId: s.sessionId } : {}),
    aal: s.aal,
    amr: s.amr,
  });

  async function inspectSession(req: Request): Promise<InspectedSession | null> {
    const token = readSessionToken(req, cookieName);
    return token ? await verify(token) : null;
  }

  return {
    inspectSession,
    async getSession(req) {
      const session = await inspectSession(req);
      return session && !session.secondFactorRequired ? verified(session) : null;
    },
    async requireSession(req) {
      const token = readSessionToken(req, cookieName);
      if (!token) {
        throw new HttpError(401, "session_missing", "Cannot find a session: sign in first", {
          headers: { "WWW-Authenticate": 'Bearer realm="session"' },
        });
      }
      const session = await verify(token);
      if (!session) {
        throw new HttpError(
          401,
          "session_invalid",
          "Cannot verify session: it is invalid, expired or signed out",
          { headers: { "WWW-Authenticate": 'Bearer realm="session", error="invalid_token"' } },
        );
      }
      if (session.secondFactorRequired) throw secondFactorRequired();
      return verified(session);
    },
  };
}

/** The answer to a partial session where a full one is needed. */
export function secondFactorRequired(): HttpError {
  return new HttpError(
    403,
    "second_factor_required",
    "Cannot use this session yet: give the second factor first (POST /mfa/verify)",
  );
}

let defaultGuard: SessionGuard | undefined;
let defaultConfig: AppConfig | undefined;

/** The configuration from the function's environment, validated on first use. */
function envConfig(): AppConfig {
  return (defaultConfig ??= loadConfig(Deno.env.toObject()));
}

function envGuard(): SessionGuard {
  return (defaultGuard ??= createSessionGuard(envConfig()));
}

/**
 * The request's session, or null. Reads the function's environment (`AUTH_SECRET`,
 * `AUTH_URL`, ...) on first use, like the Auth.js functions.
 *
 * @example
 * ```ts
 * const session = await getSession(req);
 * if (!session) return new Response("Sign in first", { status: 401 });
 * ```
 */
export function getSession(req: Request): Promise<VerifiedSession | null> {
  return envGuard().getSession(req);
}

/**
 * The request's session, or an `HttpError`: 401 `session_missing` or `session_invalid`, 403
 * `second_factor_required` (turn it into a response with `errorResponse` from `errors.ts`).
 *
 * @example
 * ```ts
 * try {
 *   const { user } = await requireSession(req);
 *   return Response.json({ id: user.id });
 * } catch (error) {
 *   return errorResponse(error); // {"error":"session_missing","message":"..."} with 401
 * }
 * ```
 */
export function requireSession(req: Request): Promise<VerifiedSession> {
  return envGuard().requireSession(req);
}

export type ProtectedHandler = (
  req: Request,
  session: VerifiedSession,
) => Response | Promise<Response>;

/**
 * Wraps a handler so it runs only for signed-in users: answers CORS preflight for
 * `AUTH_ALLOWED_ORIGINS`, a 401 JSON error without a valid session, and turns thrown
 * `HttpError`s into JSON responses.
 *
 * @example
 * ```ts
 * Deno.serve(protect((req, { user }) => Response.json({ id: user.id })));
 * ```
 */
export function protect(
  handler: ProtectedHandler,
  deps: { guard?: SessionGuard; config?: AppConfig; log?: (line: string) => void } = {},
): (req: Request) => Promise<Response> {
  return async (req) => {
    const config = deps.config ?? envConfig();
    const guard = deps.guard ?? envGuard();
    let response: Response;
    try {
      if (req.method === "OPTIONS") return corsPreflight(req, config.allowedOrigins);
      response = await handler(req, await guard.requireSession(req));
    } catch (error) {
      response = errorResponse(error, deps.log);
    }
    const headers = new Headers(response.headers);
    applyCors(req, headers, config.allowedOrigins);
    if (!headers.has("Cache-Control")) headers.set("Cache-Control", "private, no-store");
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };
}
