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
import { type AccessTokenSigner, createAccessTokenSigner } from "./access_token.ts";
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
}

export interface SessionGuard {
  /** The request's session; null when it carries none, or an invalid, expired or revoked one. */
  getSession(req: Request): Promise<VerifiedSession | null>;
  /**
   * The request's session, or a 401 `HttpError`: `session_missing` when it carries no
   * session, `session_invalid` when the one it carries is forged, expired or revoked.
   */
  requireSession(req: Request): Promise<VerifiedSession>;
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
    & Partial<Pick<AppConfig, "accessToken">>,
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

  async function verify(token: string): Promise<VerifiedSession | null> {
    // A session is a JWE (five parts) or an opaque database token; a JWS (three) can only be
    // one of our access tokens.
    if (token.split(".").length === 3) {
      const claims = accessTokens ? await accessTokens.verify(token) : null;
      if (!claims) return null;
      return {
        user: {
          id: claims.sub!,
          email: typeof claims.email === "string" ? claims.email : null,
        },
        expires: new Date(claims.exp! * 1000).toISOString(),
        sessionId: typeof claims.session_id === "string" ? claims.session_id : undefined,
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
    };
  }

  return {
    async getSession(req) {
      const token = readSessionToken(req, cookieName);
      return token ? await verify(token) : null;
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
      return session;
    },
  };
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
 * The request's session, or a 401 `HttpError` with code `session_missing` or
 * `session_invalid` (turn it into a response with `errorResponse` from `errors.ts`).
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
