/**
 * The `access-token` function: trades the Auth.js session a request carries (cookie or
 * `Authorization: Bearer`) for a short-lived access token that Supabase accepts, so the
 * frontend queries PostgREST under Row Level Security as the signed-in user.
 *
 * `GET` or `POST /functions/v1/access-token` →
 * `{"access_token":"eyJ…","token_type":"bearer","expires_in":300,"expires_at":1767225600,"user":{…}}`
 *
 * @example
 * ```ts
 * // supabase/functions/access-token/index.ts
 * Deno.serve(createAccessTokenHandler());
 * ```
 */
import { type AccessTokenSigner, createAccessTokenSigner } from "./access_token.ts";
import { type AppConfig, type Env, loadConfig } from "./config.ts";
import { corsPreflight } from "./cors.ts";
import { HttpError } from "./errors.ts";
import { createSessionGuard, type SessionGuard } from "./protect.ts";
import { actionSegments, toPublicUrl } from "./public_url.ts";
import { withResponseHeaders } from "./respond.ts";
import type { Store } from "./store/mod.ts";

export interface AccessTokenHandlerDeps {
  config?: AppConfig;
  env?: Env;
  store?: Store;
  guard?: SessionGuard;
  signer?: AccessTokenSigner;
  log?: (line: string) => void;
}

/** The JSON body of a successful answer (OAuth 2.0 token response names). */
export interface AccessTokenResponse {
  access_token: string;
  token_type: "bearer";
  expires_in: number;
  /** Seconds since the epoch; refresh a little before. */
  expires_at: number;
  user: { id: string; email: string | null };
}

const METHODS = ["GET", "POST"];

/**
 * Creates the handler; a missing or unusable signing key stops it at start with a message
 * naming `AUTH_JWT_PRIVATE_KEY`.
 */
export function createAccessTokenHandler(
  deps: AccessTokenHandlerDeps = {},
): (req: Request) => Promise<Response> {
  const config = deps.config ?? loadConfig(deps.env ?? Deno.env.toObject());
  const guard = deps.guard ?? createSessionGuard(config, { store: deps.store });
  const signer = deps.signer ?? createAccessTokenSigner(config.accessToken);

  async function handle(req: Request): Promise<Response> {
    const url = toPublicUrl(new URL(req.url), config.publicUrl);
    const segments = actionSegments(url, config.basePath);
    if (segments.length !== 1 || segments[0] !== "access-token") {
      throw new HttpError(404, "unknown_action", `Cannot handle path "${url.pathname}"`);
    }
    if (req.method === "OPTIONS") return corsPreflight(req, config.allowedOrigins);
    if (!METHODS.includes(req.method)) {
      throw new HttpError(
        405,
        "method_not_allowed",
        `Cannot ${req.method} /access-token: use GET or POST`,
        { headers: { Allow: [...METHODS, "OPTIONS"].join(", ") } },
      );
    }
    await req.body?.cancel();
    const session = await guard.requireSession(req);
    const issued = await signer.sign({
      id: session.user.id,
      email: session.user.email,
      sessionId: session.sessionId,
      aal: session.aal,
      amr: session.amr,
    });
    const body: AccessTokenResponse = {
      access_token: issued.token,
      token_type: "bearer",
      expires_in: issued.expiresIn,
      expires_at: issued.expiresAt,
      user: { id: session.user.id, email: session.user.email ?? null },
    };
    return Response.json(body, { headers: { "Cache-Control": "no-store", Pragma: "no-cache" } });
  }

  // A bearer credential: never cached (no-store), never in a Referer.
  return withResponseHeaders(handle, {
    allowedOrigins: config.allowedOrigins,
    log: deps.log ?? ((line: string) => console.error(line)),
  });
}
