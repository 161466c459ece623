/**
 * The `oauth1` function: the browser's side of the OAuth 1.0a bridge (see `flow.ts`). To
 * Auth.js it is an OAuth 2 authorization endpoint; to the service, an OAuth 1.0a consumer.
 *
 * - `GET /oauth1/<id>/authorize?client_id&redirect_uri&state&code_challenge&…` — where
 *   Auth.js sends the browser. Only Auth.js's own redirect (its callback URL, a `state` it
 *   sealed in the last 15 minutes, an S256 challenge) is accepted; anything else is a 400
 *   and nothing is asked of the service. Gets temporary credentials (§2.1), keeps them in a
 *   sealed cookie, redirects to the service's authorization page (§2.2).
 * - `GET /oauth1/<id>/callback?oauth_token&oauth_verifier` — where the service returns the
 *   browser (§2.2). Hands Auth.js a sealed one-time code, or an `error` (`access_denied`,
 *   `oauth_state_invalid`, the service's failure) for Auth.js to report on the sign-in page.
 *
 * @example
 * ```ts
 * // supabase/functions/oauth1/index.ts
 * Deno.serve(createOAuth1Handler());
 * ```
 */
import { loadConfig } from "../config.ts";
import { readCookie } from "../csrf.ts";
import { describe, HttpError } from "../errors.ts";
import type { HandlerDeps } from "../handler.ts";
import { actionSegments, toPublicUrl } from "../public_url.ts";
import { clientIp, limit } from "../rate_limit.ts";
import { withResponseHeaders } from "../respond.ts";
import { createStore } from "../store/mod.ts";
import { createOAuth1Client, type OAuth1ClientDeps, OAuth1Error } from "./client.ts";
import type { OAuth1ProviderSettings } from "./config.ts";
import {
  bridgeUrls,
  type Code,
  CODE_MAX_AGE,
  createFlowCodecs,
  type Flow,
  FLOW_MAX_AGE,
  flowCookieName,
  timingSafeEqual,
} from "./flow.ts";

const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** Auth.js's state is a JWE of a few hundred characters. */
const MAX_STATE = 2048;
/** Tokens and verifiers are short; a service's are never near this. */
const MAX_PARAM = 1024;

export function createOAuth1Handler(
  deps: HandlerDeps & OAuth1ClientDeps = {},
): (req: Request) => Promise<Response> {
  const config = deps.config ?? loadConfig(deps.env ?? Deno.env.toObject());
  const store = deps.store ?? createStore(config);
  const log = deps.log ?? ((line: string) => console.error(line));
  const codecs = createFlowCodecs(config.secrets);
  const services = new Map(
    config.oauth1Providers.map((settings) => [
      settings.id,
      { settings, client: createOAuth1Client(settings, deps) },
    ]),
  );
  const secure = config.publicUrl.protocol === "https:" ? "; Secure" : "";

  async function authorize(
    req: Request,
    url: URL,
    { settings, client }: {
      settings: OAuth1ProviderSettings;
      client: ReturnType<typeof createOAuth1Client>;
    },
  ): Promise<Response> {
    const urls = bridgeUrls(config.publicUrl, settings.id);
    const q = url.searchParams;
    if (q.get("client_id") !== settings.consumerKey) {
      throw new HttpError(
        400,
        "invalid_client",
        `Cannot authorize: unknown client_id for "${settings.id}"`,
      );
    }
    if (q.get("redirect_uri") !== urls.authjsCallback) {
      throw new HttpError(
        400,
        "invalid_redirect_uri",
        `Cannot authorize: redirect_uri must be ${urls.authjsCallback}`,
      );
    }
    if (q.get("response_type") !== "code") {
      throw new HttpError(400, "invalid_request", 'Cannot authorize: response_type must be "code"');
    }
    const challenge = q.get("code_challenge") ?? "";
    if (!CHALLENGE.test(challenge) || q.get("code_challenge_method") !== "S256") {
      throw new HttpError(
        400,
        "invalid_code_challenge",
        "Cannot authorize: send an S256 code_challenge",
      );
    }
    // Only a state Auth.js itself sealed lately, i.e. a sign-in started with a CSRF token and
    // counted against the sign-in rate limit; with the per-IP limit below, nobody can make
    // this function call the service at will.
    const state = q.get("state") ?? "";
    if (
      state.length === 0 || state.length > MAX_STATE || !(await codecs.authjsState.decode(state))
    ) {
      throw new HttpError(
        400,
        "invalid_state",
        "Cannot authorize: missing, forged or expired state (start at POST /signin/<provider>)",
      );
    }
    await limit(store, {
      bucket: "oauth1_authorize_ip",
      key: clientIp(req, config.clientIpHeader),
      rule: config.rateLimits.signin_ip,
    });

    const back = new URL(urls.authjsCallback);
    back.searchParams.set("state", state);
    let temporary;
    try {
      temporary = await client.requestToken(settings.requestTokenUrl, urls.callback);
    } catch (error) {
      if (!(error instanceof OAuth1Error)) throw error;
      log(`Cannot start an OAuth 1.0a sign-in: ${describe(error)}`);
      // As an authorization server does (RFC 6749 §4.1.2.1): the error goes back to Auth.js,
      // which reports it on the sign-in page.
      back.searchParams.set("error", error.code);
      return redirect(back);
    }
    const flow: Flow = {
      p: settings.id,
      t: temporary.token,
      s: temporary.tokenSecret,
      st: state,
      c: challenge,
    };
    const target = new URL(settings.authorizeUrl);
    target.searchParams.set("oauth_token", temporary.token);
    const response = redirect(target);
    response.headers.append(
      "Set-Cookie",
      `${flowCookieName(config.publicUrl, settings.id)}=${await codecs.flow.encode(
        { ...flow },
        FLOW_MAX_AGE,
      )}; Path=/; Max-Age=${FLOW_MAX_AGE}; HttpOnly; SameSite=Lax${secure}`,
    );
    return response;
  }

  async function callback(
    req: Request,
    url: URL,
    { settings }: { settings: OAuth1ProviderSettings },
  ): Promise<Response> {
    const urls = bridgeUrls(config.publicUrl, settings.id);
    const q = url.searchParams;
    const cookieName = flowCookieName(config.publicUrl, settings.id);
    const sealed = readCookie(req.headers.get("Cookie"), cookieName) ?? "";
    const flow = sealed && sealed.length <= 8192
      ? await codecs.flow.decode(sealed) as Partial<Flow> | null
      : null;
    const clearCookie = `${cookieName}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax${secure}`;
    if (
      !flow || flow.p !== settings.id || typeof flow.t !== "string" ||
      typeof flow.s !== "string" || typeof flow.st !== "string" || typeof flow.c !== "string"
    ) {
      // No sign-in in flight in this browser: a callback replayed, opened elsewhere, forged,
      // or too late. Nothing to tell Auth.js (no state): straight to the sign-in page.
      const page = new URL(config.pages.signIn ?? `${config.basePath}/signin`, config.publicUrl);
      page.searchParams.set("error", "OAuthCallbackError");
      page.searchParams.set("code", "oauth_state_invalid");
      const response = redirect(page);
      if (sealed) response.headers.append("Set-Cookie", clearCookie);
      return response;
    }

    // From here on the flow is spent, whatever the outcome.
    const back = new URL(urls.authjsCallback);
    const token = q.get("oauth_token");
    const verifier = q.get("oauth_verifier");
    let error: string | undefined;
    if (token !== null && !timingSafeEqual(token, flow.t)) {
      error = "oauth_state_invalid"; // another sign-in's callback
    } else if (q.has("denied") || !verifier) {
      error = "access_denied"; // X answers `denied=<token>`; others come back without a verifier
    } else if (token === null || verifier.length > MAX_PARAM) {
      error = "invalid_request";
    }
    if (error) {
      back.searchParams.set("error", error);
    } else {
      const code: Code = { p: settings.id, t: flow.t, s: flow.s, v: verifier!, c: flow.c };
      back.searchParams.set("code", await codecs.code.encode({ ...code }, CODE_MAX_AGE));
    }
    back.searchParams.set("state", flow.st);
    const response = redirect(back);
    response.headers.append("Set-Cookie", clearCookie);
    return response;
  }

  async function handle(req: Request): Promise<Response> {
    const url = toPublicUrl(new URL(req.url), config.publicUrl);
    const [action, id, step, ...extra] = actionSegments(url, config.basePath);
    if (
      action !== "oauth1" || extra.length > 0 ||
      (step !== undefined && !["authorize", "callback"].includes(step))
    ) {
      throw new HttpError(404, "unknown_action", `Cannot handle path "${url.pathname}"`);
    }
    const service = id ? services.get(id) : undefined;
    if (!service) {
      throw new HttpError(
        404,
        "unknown_provider",
        id
          ? `Cannot find OAuth 1.0a service "${id}"`
          : "Missing provider: use /oauth1/<provider>/…",
      );
    }
    if (!step) {
      throw new HttpError(404, "unknown_action", `Cannot handle path "${url.pathname}"`);
    }
    if (req.method !== "GET") {
      throw new HttpError(
        405,
        "method_not_allowed",
        `Cannot ${req.method} ${url.pathname}: use GET`,
        {
          headers: { Allow: "GET" },
        },
      );
    }
    for (const [name, value] of url.searchParams) {
      if (value.length > MAX_STATE || name.length > 64) {
        throw new HttpError(
          400,
          "invalid_request",
          `Cannot read parameter "${name.slice(0, 64)}": too long`,
        );
      }
    }
    return step === "authorize"
      ? await authorize(req, url, service)
      : await callback(req, url, service);
  }

  return withResponseHeaders(handle, { allowedOrigins: config.allowedOrigins, log });
}

function redirect(target: URL): Response {
  return new Response(null, { status: 302, headers: { Location: target.href } });
}
