/**
 * The `account` function: a signed-in user manages their own sessions (database sessions,
 * the strategy that keeps them server-side).
 *
 * - `GET  /account/sessions` → `{ sessions: [{ id, userAgent, ip, createdAt, lastSeenAt,
 *   expires, current }] }`, most recently seen first; never a session token.
 * - `POST /account/sessions/revoke` with `id` → ends that session (only the caller's own).
 * - `POST /account/sessions/revoke-others` → ends every session but the current one.
 * - `GET  /account/passkeys` → `{ passkeys: [{ id, deviceType, backedUp, transports,
 *   createdAt, lastUsedAt }] }` (`AUTH_PASSKEYS=true`; either session strategy).
 * - `POST /account/passkeys/remove` with `id` → removes that passkey (only the caller's own).
 *
 * The session comes from the cookie or `Authorization: Bearer`; cookie POSTs need the CSRF
 * token (`csrfToken`), as Auth.js's own POSTs do. With JWT sessions there is nothing
 * server-side to list or end: 409 `session_management_unavailable`.
 *
 * @example
 * ```ts
 * // supabase/functions/account/index.ts
 * Deno.serve(createAccountHandler());
 * ```
 */
import { readBody } from "./body.ts";
import { loadConfig } from "./config.ts";
import { corsPreflight } from "./cors.ts";
import { csrfCookieName, readCookie, verifyCsrf } from "./csrf.ts";
import { describePasskey, fromCredentialId } from "./passkeys.ts";
import { HttpError } from "./errors.ts";
import type { HandlerDeps } from "./handler.ts";
import { createSessionGuard } from "./protect.ts";
import { actionSegments, toPublicUrl } from "./public_url.ts";
import { withResponseHeaders } from "./respond.ts";
import { readBearerToken } from "./session_token.ts";
import { createStore } from "./store/mod.ts";

export function createAccountHandler(
  deps: HandlerDeps = {},
): (req: Request) => Promise<Response> {
  const config = deps.config ?? loadConfig(deps.env ?? Deno.env.toObject());
  const store = deps.store ?? createStore(config);
  const guard = createSessionGuard(config, { store });
  const log = deps.log ?? ((line: string) => console.error(line));

  async function handle(req: Request): Promise<Response> {
    const url = toPublicUrl(new URL(req.url), config.publicUrl);
    const path = actionSegments(url, config.basePath).join("/");
    const route = ({
      "account/sessions": "GET",
      "account/sessions/revoke": "POST",
      "account/sessions/revoke-others": "POST",
      "account/passkeys": "GET",
      "account/passkeys/remove": "POST",
    } as Record<string, string>)[path];
    if (!route) throw new HttpError(404, "unknown_action", `Cannot handle path "${url.pathname}"`);
    if (req.method === "OPTIONS") return corsPreflight(req, config.allowedOrigins);
    if (req.method !== route) {
      throw new HttpError(
        405,
        "method_not_allowed",
        `Cannot ${req.method} /${path}: use ${route}`,
        {
          headers: { Allow: `${route}, OPTIONS` },
        },
      );
    }
    const passkeys = path.startsWith("account/passkeys");
    if (passkeys && !config.passkeys) {
      throw new HttpError(404, "passkeys_disabled", "Cannot manage passkeys: AUTH_PASSKEYS is off");
    }
    if (!passkeys && config.sessionStrategy !== "database") {
      throw new HttpError(
        409,
        "session_management_unavailable",
        'Cannot manage sessions: they live in the browser with AUTH_SESSION_STRATEGY="jwt"; use "database"',
      );
    }
    const fields = req.method === "POST" ? (await readBody(req)).fields : {};
    const session = await guard.requireSession(req);
    // Cookie requests could be forged by another site; a bearer header cannot.
    if (req.method === "POST" && readBearerToken(req) === undefined) {
      await verifyCsrf({
        cookieValue: readCookie(req.headers.get("Cookie"), csrfCookieName(url)),
        bodyToken: fields.csrfToken,
        secret: config.secrets,
      });
    }
    if (passkeys) return await managePasskeys(path, session.user.id, fields);
    const current = session.sessionId;
    if (!current) throw new HttpError(401, "session_invalid", "Cannot identify this session");

    if (path === "account/sessions") {
      const sessions = await store.listSessions(session.user.id);
      return Response.json({
        sessions: sessions.map((s) => ({
          id: s.id,
          userAgent: s.userAgent ?? null,
          ip: s.ip ?? null,
          createdAt: s.createdAt.toISOString(),
          lastSeenAt: s.lastSeenAt.toISOString(),
          expires: s.expires.toISOString(),
          current: s.id === current,
        })),
      });
    }
    if (path === "account/sessions/revoke") {
      const id = fields.id;
      if (typeof id !== "string" || id === "") {
        throw new HttpError(400, "malformed_body", "Cannot revoke a session: missing id");
      }
      const revoked = await store.revokeSessions(session.user.id, { id });
      if (revoked === 0) {
        throw new HttpError(404, "session_not_found", "Cannot revoke: no such session of yours");
      }
      return Response.json({ revoked, current: id === current });
    }
    const revoked = await store.revokeSessions(session.user.id, { exceptId: current });
    return Response.json({ revoked });
  }

  /** `GET /account/passkeys` and `POST /account/passkeys/remove`, for the signed-in user. */
  async function managePasskeys(
    path: string,
    userId: string,
    fields: Record<string, unknown>,
  ): Promise<Response> {
    if (path === "account/passkeys") {
      const passkeys = await store.listPasskeys(userId);
      return Response.json({ passkeys: passkeys.map(describePasskey) });
    }
    if (typeof fields.id !== "string" || fields.id === "") {
      throw new HttpError(400, "malformed_body", "Cannot remove a passkey: missing id");
    }
    // Unknown and someone else's get the same answer: ids are not to be probed.
    const credentialID = fromCredentialId(fields.id);
    if (!credentialID || !await store.deletePasskey(userId, credentialID)) {
      throw new HttpError(404, "passkey_not_found", "Cannot remove: no such passkey of yours");
    }
    return Response.json({ removed: true });
  }

  return withResponseHeaders(handle, { allowedOrigins: config.allowedOrigins, log });
}
