/**
 * The `oidc` function: OpenID Connect discovery and the JWKS (public keys only) for the
 * access tokens the `access-token` function signs, so a Supabase project can register this
 * deployment as a third-party auth issuer.
 *
 * - `GET /functions/v1/oidc/.well-known/openid-configuration` — discovery, `issuer` = the
 *   tokens' `iss` (default `<AUTH_URL>/oidc`)
 * - `GET /functions/v1/oidc/jwks` — `{"keys":[{"kty":"EC","crv":"P-256","kid":…}]}`
 *
 * @example
 * ```ts
 * // supabase/functions/oidc/index.ts
 * Deno.serve(createOidcHandler());
 * ```
 */
import { type AccessTokenSigner, createAccessTokenSigner } from "./access_token.ts";
import { type AppConfig, type Env, loadConfig } from "./config.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { actionSegments, toPublicUrl } from "./public_url.ts";

export interface OidcHandlerDeps {
  config?: AppConfig;
  env?: Env;
  signer?: AccessTokenSigner;
  log?: (line: string) => void;
}

export function createOidcHandler(
  deps: OidcHandlerDeps = {},
): (req: Request) => Promise<Response> {
  const config = deps.config ?? loadConfig(deps.env ?? Deno.env.toObject());
  const signer = deps.signer ?? createAccessTokenSigner(config.accessToken);
  const functionUrl = `${config.publicUrl.href.replace(/\/+$/, "")}/oidc`;

  async function handle(req: Request): Promise<Response> {
    const url = toPublicUrl(new URL(req.url), config.publicUrl);
    const [name, ...path] = actionSegments(url, config.basePath);
    const route = path.join("/");
    const known = name === "oidc" &&
      ["", ".well-known/openid-configuration", "jwks", ".well-known/jwks.json"].includes(route);
    if (!known) {
      throw new HttpError(404, "unknown_action", `Cannot handle path "${url.pathname}"`);
    }
    if (req.method === "OPTIONS") {
      return new Response(null, {
        status: 204,
        headers: {
          "Access-Control-Allow-Methods": "GET, OPTIONS",
          "Access-Control-Max-Age": "600",
        },
      });
    }
    if (req.method !== "GET") {
      throw new HttpError(405, "method_not_allowed", `Cannot ${req.method} /oidc: use GET`, {
        headers: { Allow: "GET, OPTIONS" },
      });
    }
    if (signer.alg !== "ES256") {
      throw new HttpError(
        404,
        "oidc_not_configured",
        "Cannot serve OIDC discovery: tokens are signed HS256 with the project's JWT secret (set AUTH_JWT_PRIVATE_KEY to publish a key)",
      );
    }
    if (route === "jwks" || route === ".well-known/jwks.json") {
      return Response.json(await signer.jwks(), {
        headers: { "Content-Type": "application/jwk-set+json" },
      });
    }
    return Response.json({
      issuer: signer.issuer,
      jwks_uri: `${functionUrl}/jwks`,
      // Discovery requires these; sign-in itself is Auth.js's (`/signin`), not an OIDC flow.
      authorization_endpoint: `${config.publicUrl.href.replace(/\/+$/, "")}/signin`,
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["ES256"],
      claims_supported: ["sub", "iss", "aud", "exp", "iat", "role", "email", "session_id"],
    });
  }

  return async (req) => {
    let response: Response;
    try {
      response = await handle(req);
    } catch (error) {
      response = errorResponse(error, deps.log);
    }
    const headers = new Headers(response.headers);
    // Public documents: any origin may read them, without credentials.
    headers.set("Access-Control-Allow-Origin", "*");
    headers.set("X-Content-Type-Options", "nosniff");
    if (response.ok) headers.set("Cache-Control", "public, max-age=300");
    else headers.set("Cache-Control", "no-store");
    return new Response(response.body, { status: response.status, headers });
  };
}
