/**
 * The fast path for `GET /session`: the same answer Auth.js's session action gives, without
 * Auth.js's per-request work (request parsing, config assembly, CSRF cookie minting, key
 * derivation, and re-encrypting the session on every call).
 *
 * - JWT sessions: the token is opened with keys derived once (`session_token.ts`). It is
 *   re-encrypted (sliding expiry) only when it is older than `updateAge`, or when the `jwt`
 *   callback changed it — otherwise the cookie the browser holds stays valid as it is.
 * - Database sessions: one indexed join, concurrent lookups batched into one query while
 *   the database is busy (`session_lookup.ts`); the expiry is extended only when `updateAge`
 *   says so, as Auth.js does.
 * - The configured `jwt`, `session` callbacks and the `session` event are honoured.
 *
 * What it does not do: mint the CSRF and callback-URL cookies Auth.js sets on any request
 * that lacks them (clients get those from `/csrf` and sign-in). Chunked session cookies are
 * left to Auth.js (`undefined` is returned and the caller falls back).
 *
 * @example
 * ```ts
 * const fast = createFastSession({ config, options: createAuthOptions(config), store });
 * const response = await fast(req) ?? await Auth(req, authConfig);
 * ```
 */
import type { JWT } from "@auth/core/jwt";
import type { AuthOptions } from "./auth_options.ts";
import type { AppConfig } from "./config.ts";
import { describe } from "./errors.ts";
import { preparedResponse, withCommonHeaders } from "./respond.ts";
import { createSessionLookup } from "./session_lookup.ts";
import type { Store } from "./store/mod.ts";
import { createSessionCodec, readSessionToken, sessionCookieName } from "./session_token.ts";

/** Auth.js's default: refresh a session's expiry at most once a day. */
const DEFAULT_UPDATE_AGE = 24 * 60 * 60;

/** Every answer's headers, complete (`withResponseHeaders` only adds a CORS grant). */
const HEADERS = withCommonHeaders([
  ["Content-Type", "application/json"],
  ["Cache-Control", "private, no-cache, no-store"],
  ["Expires", "0"],
  ["Pragma", "no-cache"],
]);

interface CookieOptions {
  httpOnly?: boolean;
  sameSite?: "lax" | "strict" | "none" | boolean;
  path?: string;
  secure?: boolean;
  domain?: string;
  partitioned?: boolean;
}

export interface FastSessionDeps {
  config: AppConfig;
  /** Callbacks, events, session and cookie settings (the full Auth.js config fits too). */
  options: AuthOptions;
  store: Store;
  log?: (line: string) => void;
}

/**
 * Returns a function answering `GET /session` for a request, or `undefined` when the request
 * is one the fast path leaves to Auth.js (chunked cookies).
 */
export function createFastSession(
  { config, options, store, log = console.error }: FastSessionDeps,
): (req: Request) => Promise<Response | undefined> {
  const secure = config.publicUrl.protocol === "https:";
  const cookieName = options.cookies?.sessionToken?.name ?? sessionCookieName(config.publicUrl);
  const cookieOptions: CookieOptions = {
    httpOnly: true,
    sameSite: "lax",
    path: "/",
    secure,
    ...(options.cookies?.sessionToken?.options as CookieOptions | undefined),
  };
  const codec = createSessionCodec(config.secrets, cookieName, {
    cacheSize: config.sessionCacheSize,
  });
  const maxAge = options.session?.maxAge ?? config.sessionMaxAge;
  const updateAge = options.session?.updateAge ?? DEFAULT_UPDATE_AGE;
  const strategy = options.session?.strategy ?? config.sessionStrategy;
  const callbacks = options.callbacks ?? {};
  const events = options.events ?? {};
  const lookup = createSessionLookup(store);

  const respond = (body: unknown, cookies: string[] = []) =>
    preparedResponse(
      JSON.stringify(body),
      200,
      cookies.length
        ? [...HEADERS, ...cookies.map((c): [string, string] => ["Set-Cookie", c])]
        : HEADERS,
    );
  const setCookie = (value: string, expires: Date) =>
    serializeCookie(cookieName, value, { ...cookieOptions, expires });
  const clearCookie = () => serializeCookie(cookieName, "", { ...cookieOptions, maxAge: 0 });

  async function jwtSession(token: string): Promise<Response> {
    const payload = await codec.decode(token) as JWT | null;
    if (!payload) {
      log("[auth][error] JWTSessionError: Cannot read session: invalid or expired token");
      return respond(null, [clearCookie()]);
    }
    const next = callbacks.jwt
      ? await callbacks.jwt({ token: payload } as Parameters<NonNullable<typeof callbacks.jwt>>[0])
      : payload;
    if (next === null || next === undefined) return respond(null, [clearCookie()]);
    const now = Math.floor(Date.now() / 1000);
    // Re-encrypt when the sliding window says so, when a callback changed the token, or
    // when it was made with a rotated-out secret (so old secrets can be retired sooner).
    const due = typeof payload.iat !== "number" || now - payload.iat >= updateAge ||
      (next !== payload && JSON.stringify(next) !== JSON.stringify(payload)) ||
      (config.secrets.length > 1 && !(await codec.isCurrent(token)));
    const expires = due ? new Date((now + maxAge) * 1000) : new Date((payload.exp ?? now) * 1000);
    const draft = {
      user: { name: next.name, email: next.email, image: next.picture },
      expires: expires.toISOString(),
    };
    const session = callbacks.session
      ? await callbacks.session({ session: draft, token: next } as never)
      : draft;
    const cookies = due ? [setCookie(await codec.encode(next, maxAge), expires)] : [];
    await events.session?.({ session, token: next } as never);
    return respond(session, cookies);
  }

  async function databaseSession(token: string): Promise<Response> {
    // Errors (the database being away) propagate: a 503, not a silent signed-out answer.
    const found = await lookup(token);
    if (!found) return respond(null, [clearCookie()]);
    const { session, user } = found;
    const now = Date.now();
    if (session.expires.valueOf() < now) {
      await store.deleteSession(token);
      return respond(null, [clearCookie()]);
    }
    const cookies: string[] = [];
    let expires = session.expires;
    if (session.expires.valueOf() - maxAge * 1000 + updateAge * 1000 <= now) {
      expires = new Date(now + maxAge * 1000);
      await store.updateSession({ sessionToken: token, expires });
      cookies.push(setCookie(token, expires));
    }
    const payload = callbacks.session
      ? await callbacks.session({ session: { ...session, expires, user }, user } as never)
      : { user: { name: user.name, email: user.email, image: user.image }, expires };
    await events.session?.({ session: payload } as never);
    return respond(payload, cookies);
  }

  return async (req) => {
    const token = readSessionToken(req, cookieName);
    if (!token) {
      const header = req.headers.get("Cookie") ?? "";
      // Chunked or oversized cookies: Auth.js's SessionStore knows their quirks.
      if (header.includes(`${cookieName}.`) || header.includes(`${cookieName}=`)) return undefined;
      return respond(null);
    }
    try {
      return strategy === "jwt" ? await jwtSession(token) : await databaseSession(token);
    } catch (error) {
      log(`[auth][error] SessionTokenError: ${describe(error)}`);
      throw error;
    }
  };
}

/** A `Set-Cookie` value, with the attributes Auth.js's cookie serializer would write. */
export function serializeCookie(
  name: string,
  value: string,
  options: CookieOptions & { expires?: Date; maxAge?: number },
): string {
  let out = `${name}=${encodeURIComponent(value)}`;
  if (options.maxAge !== undefined) out += `; Max-Age=${Math.floor(options.maxAge)}`;
  if (options.domain) out += `; Domain=${options.domain}`;
  out += `; Path=${options.path ?? "/"}`;
  if (options.expires) out += `; Expires=${options.expires.toUTCString()}`;
  if (options.httpOnly) out += "; HttpOnly";
  if (options.secure) out += "; Secure";
  if (options.partitioned) out += "; Partitioned";
  const sameSite = options.sameSite === true ? "strict" : options.sameSite;
  if (sameSite) out += `; SameSite=${sameSite[0]!.toUpperCase()}${sameSite.slice(1)}`;
  return out;
}
