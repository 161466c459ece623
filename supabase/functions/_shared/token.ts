/**
 * Token mode: sign-in for native apps and for browsers that block third-party cookies. The
 * frontend never needs a cookie on the functions' site from a script; only top-level
 * navigations (first-party) and plain `fetch` calls are used.
 *
 * 1. `GET /token/authorize?provider=…&code_challenge=…&redirect_uri=…&state=…` (a navigation;
 *    OAuth and email) or `POST /token/authorize` (fetch; email only, answers `{ url }`) starts
 *    Auth.js's sign-in with `callbackUrl` = `/token/complete?…`. `redirect_uri` must be on an
 *    allowed origin or use a registered native scheme; `code_challenge` is PKCE S256.
 * 2. After the provider callback Auth.js sends the browser to `GET /token/complete?flow=…`
 *    (the flow sealed with the secret, bound to the browser that navigated to authorize and,
 *    for email, to the address), which turns the fresh session cookie into a one-time code (stored hashed, bound to the
 *    challenge and the redirect origin, short-lived), clears the cookie, and redirects to
 *    `redirect_uri?code=…&state=…`.
 * 3. `POST /token` `{ code, code_verifier, redirect_uri }` consumes the code atomically and
 *    answers `{ tokenType: "Bearer", sessionToken }`. A code is burnt by any attempt: a wrong
 *    verifier or redirect cannot be retried.
 *
 * @example
 * ```ts
 * // supabase/functions/token/index.ts
 * Deno.serve(createTokenHandler());
 * ```
 */
import { Auth } from "@auth/core";
import { base64url } from "jose";
import { createAuthConfig } from "./auth_config.ts";
import { readBody } from "./body.ts";
import { loadConfig } from "./config.ts";
import { corsPreflight } from "./cors.ts";
import { providerIndex } from "./auth_runtime.ts";
import { createCsrfPair, csrfCookieName, readCookie } from "./csrf.ts";
import { HttpError } from "./errors.ts";
import { normalize } from "./auth_action.ts";
import type { HandlerDeps } from "./handler.ts";
import { createSessionGuard } from "./protect.ts";
import { withResponseHeaders } from "./respond.ts";
import { actionSegments, toPublicUrl } from "./public_url.ts";
import {
  createSessionCodec,
  readSessionToken,
  sessionCookieName,
  sessionFromSetCookie,
} from "./session_token.ts";
import { createStore } from "./store/mod.ts";

/** The salt of the key that encrypts sessions while they wait as codes. */
const CODE_SALT = "authjs.token-code";
/** Seconds a started token sign-in may take (provider login, reading the mail). */
const FLOW_MAX_AGE = 15 * 60;
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export function createTokenHandler(
  deps: HandlerDeps = {},
): (req: Request) => Promise<Response> {
  const config = deps.config ?? loadConfig(deps.env ?? Deno.env.toObject());
  const store = deps.store ?? createStore(config);
  const log = deps.log ?? ((line: string) => console.error(line));
  const authConfig = createAuthConfig(config, { store, log });
  const providerTypes = providerIndex(authConfig);
  const sessionCookie = sessionCookieName(config.publicUrl);
  const codeCodec = createSessionCodec(config.secrets, CODE_SALT);
  const guard = createSessionGuard(config, { store });
  const https = config.publicUrl.protocol === "https:";
  const secure = https ? "; Secure" : "";
  const flowCookie = `${https ? "__Host-" : ""}authjs.token-flow`;

  /** Where a code may go: an allowed origin, or a registered native scheme. */
  function redirectTarget(value: unknown): { uri: URL; origin: string } {
    let uri: URL | undefined;
    try {
      if (typeof value === "string") uri = new URL(value);
    } catch {
      // reported below
    }
    if (!uri) {
      throw new HttpError(400, "invalid_redirect_uri", "Missing or malformed redirect_uri");
    }
    if (uri.protocol === "http:" || uri.protocol === "https:") {
      if (config.allowedOrigins.has(uri.origin)) return { uri, origin: uri.origin };
    } else if (config.tokenRedirectSchemes.has(uri.protocol.slice(0, -1))) {
      return { uri, origin: uri.protocol };
    }
    throw new HttpError(
      400,
      "invalid_redirect_uri",
      `Cannot redirect to "${
        uri.origin === "null" ? uri.protocol : uri.origin
      }": not in AUTH_ALLOWED_ORIGINS or AUTH_TOKEN_REDIRECT_SCHEMES`,
    );
  }

  function flowParams(fields: Record<string, unknown>) {
    const challenge = fields.code_challenge;
    if (typeof challenge !== "string" || !CHALLENGE.test(challenge)) {
      throw new HttpError(
        400,
        "invalid_code_challenge",
        "Missing or malformed code_challenge: send BASE64URL(SHA-256(code_verifier))",
      );
    }
    const method = fields.code_challenge_method ?? "S256";
    if (method !== "S256") {
      throw new HttpError(
        400,
        "invalid_code_challenge",
        `Cannot use code_challenge_method "${String(method)}": only "S256"`,
      );
    }
    const state = fields.state ?? "";
    if (typeof state !== "string" || state.length > 512) {
      throw new HttpError(400, "invalid_state", "Cannot read state: at most 512 characters");
    }
    const redirect = redirectTarget(fields.redirect_uri);
    return { challenge, state, redirect };
  }

  async function authorize(req: Request, url: URL): Promise<Response> {
    const viaFetch = req.method === "POST";
    const fields = viaFetch ? (await readBody(req)).fields : Object.fromEntries(url.searchParams);
    const provider = fields.provider;
    const type = typeof provider === "string" ? providerTypes.get(provider) : undefined;
    if (!type || !["oauth", "oidc", "email"].includes(type)) {
      throw new HttpError(
        400,
        "unknown_provider",
        `Cannot start token sign-in with provider "${String(provider)}"`,
      );
    }
    if (viaFetch && type !== "email") {
      // OAuth keeps its state in cookies, which only a navigation sets first-party.
      throw new HttpError(
        400,
        "navigation_required",
        `Cannot start "${provider}" from fetch: navigate to GET /token/authorize`,
      );
    }
    const { challenge, state, redirect } = flowParams(fields);
    const email = type === "email" && typeof fields.email === "string" ? fields.email : "";
    // The flow travels sealed (encrypted, authenticated, expiring) to /token/complete, bound to
    // who may finish it: for OAuth this browser (a first-party cookie, set by the navigation),
    // for a magic link the address it went to (it may be opened on another device). A crafted
    // /token/complete link, opened by someone who already has a session here, is refused
    // rather than turned into a code for the crafter.
    const nonce = type === "email"
      ? undefined
      : base64url.encode(crypto.getRandomValues(new Uint8Array(16)));
    const flow: Flow = { c: challenge, r: redirect.uri.href, s: state };
    if (nonce) flow.n = nonce;
    if (email) flow.e = normalizeEmail(email);
    const complete = new URL(`${config.basePath}/token/complete`, config.publicUrl);
    complete.searchParams.set("flow", await codeCodec.encode({ ...flow }, FLOW_MAX_AGE));

    // Sign-in is started for the client, which may have no cookie here: the CSRF pair is
    // ours. The challenge binds whatever comes out of it to the client that started it.
    const csrf = await createCsrfPair(authConfig.secret!);
    const form = new URLSearchParams({ csrfToken: csrf.token, callbackUrl: complete.href });
    if (type === "email") form.set("email", email);
    const headers = new Headers({
      "Content-Type": "application/x-www-form-urlencoded",
      Cookie: `${csrfCookieName(url)}=${encodeURIComponent(csrf.cookie)}`,
    });
    if (viaFetch) headers.set("X-Auth-Return-Redirect", "1");
    const response = await normalize(
      await Auth(
        new Request(new URL(`${config.basePath}/signin/${provider}`, config.publicUrl), {
          method: "POST",
          headers,
          body: form.toString(),
        }),
        authConfig,
      ),
    );
    const out = new Headers(response.headers);
    out.delete("Set-Cookie");
    for (const line of response.headers.getSetCookie()) {
      if (viaFetch || line.startsWith(`${csrfCookieName(url)}=`)) continue;
      out.append("Set-Cookie", line);
    }
    if (nonce) {
      out.append(
        "Set-Cookie",
        `${flowCookie}=${nonce}; Path=/; Max-Age=${FLOW_MAX_AGE}; HttpOnly; SameSite=Lax${secure}`,
      );
    }
    return new Response(response.body, { status: response.status, headers: out });
  }

  async function complete(req: Request, url: URL): Promise<Response> {
    const sealed = url.searchParams.get("flow");
    const flow = sealed ? (await codeCodec.decode(sealed)) as Flow | null : null;
    if (!flow || typeof flow.c !== "string" || typeof flow.r !== "string") {
      throw new HttpError(
        400,
        "invalid_flow",
        "Cannot complete token sign-in: missing, forged or expired flow (start at /token/authorize)",
      );
    }
    const { challenge, state, redirect } = flowParams({
      code_challenge: flow.c,
      redirect_uri: flow.r,
      state: flow.s,
    });
    const target = new URL(redirect.uri);
    if (state) target.searchParams.set("state", state);

    const cookieOnly = new Headers({ Cookie: req.headers.get("Cookie") ?? "" });
    const current = readSessionToken(new Request(url, { headers: cookieOnly }), sessionCookie);
    // Asking Auth.js validates the session (either strategy) and renews a JWT one.
    const check = await normalize(
      await Auth(
        new Request(new URL(`${config.basePath}/session`, config.publicUrl), {
          headers: cookieOnly,
        }),
        authConfig,
      ),
    );
    const session = check.ok ? await check.json() : null;
    const token = sessionFromSetCookie(check.headers, sessionCookie) ?? current;
    const sameBrowser = !flow.n ||
      timingSafeEqual(readCookie(req.headers.get("Cookie"), flowCookie) ?? "", flow.n);
    // A session still waiting for its second factor shows no user: read its address itself.
    const email = session?.user?.email ??
      (session?.mfaRequired && token
        ? (await guard.inspectSession(
          new Request(url, { headers: { Authorization: `Bearer ${token}` } }),
        ))?.user.email
        : undefined);
    const sameAddress = !flow.e ||
      (typeof email === "string" && normalizeEmail(email) === flow.e);
    if (!session || !token || !sameBrowser || !sameAddress) {
      target.searchParams.set("error", "access_denied");
      const denied = redirectTo(target);
      denied.headers.append("Set-Cookie", `${flowCookie}=; Path=/; Max-Age=0${secure}`);
      return denied;
    }

    const code = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
    await store.createTokenCode({
      codeHash: await sha256(code),
      codeChallenge: challenge,
      redirectOrigin: redirect.origin,
      session: await codeCodec.encode({ t: token }, config.tokenCodeMaxAge),
      expires: new Date(Date.now() + config.tokenCodeMaxAge * 1000),
    });
    target.searchParams.set("code", code);
    const response = redirectTo(target);
    // The session now belongs to the client that holds the verifier, not to this cookie jar.
    response.headers.append(
      "Set-Cookie",
      `${sessionCookie}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax${secure}`,
    );
    response.headers.append("Set-Cookie", `${flowCookie}=; Path=/; Max-Age=0${secure}`);
    return response;
  }

  async function exchange(req: Request): Promise<Response> {
    const { fields } = await readBody(req);
    const { code, code_verifier: verifier } = fields;
    if (typeof code !== "string" || code.length === 0 || code.length > 256) {
      throw new HttpError(400, "invalid_request", "Missing or malformed code");
    }
    if (typeof verifier !== "string" || !VERIFIER.test(verifier)) {
      throw new HttpError(400, "invalid_request", "Missing or malformed code_verifier");
    }
    const redirect = redirectTarget(fields.redirect_uri);
    // Consumed before any check: a code gets exactly one attempt.
    const stored = await store.consumeTokenCode(await sha256(code));
    if (!stored) {
      throw new HttpError(
        400,
        "invalid_grant",
        "Cannot exchange code: unknown, expired or already used",
      );
    }
    if (!timingSafeEqual(await sha256(verifier), stored.codeChallenge)) {
      throw new HttpError(
        400,
        "invalid_grant",
        "Cannot exchange code: the code verifier does not match",
      );
    }
    const origin = req.headers.get("Origin");
    if (
      redirect.origin !== stored.redirectOrigin ||
      (origin && stored.redirectOrigin.includes("//") && origin !== stored.redirectOrigin)
    ) {
      throw new HttpError(
        400,
        "invalid_grant",
        "Cannot exchange code: it was issued for another redirect_uri",
      );
    }
    const payload = await codeCodec.decode(stored.session);
    if (typeof payload?.t !== "string") {
      throw new HttpError(400, "invalid_grant", "Cannot exchange code: it has expired");
    }
    return Response.json({ tokenType: "Bearer", sessionToken: payload.t });
  }

  async function handle(req: Request): Promise<Response> {
    const url = toPublicUrl(new URL(req.url), config.publicUrl);
    const [action, step, ...extra] = actionSegments(url, config.basePath);
    const route = action === "token" && extra.length === 0 ? step ?? "" : undefined;
    if (route === undefined || !["", "authorize", "complete"].includes(route)) {
      throw new HttpError(404, "unknown_action", `Cannot handle path "${url.pathname}"`);
    }
    if (req.method === "OPTIONS") return corsPreflight(req, config.allowedOrigins);
    const allowed = route === "" ? ["POST"] : route === "authorize" ? ["GET", "POST"] : ["GET"];
    if (!allowed.includes(req.method)) {
      throw new HttpError(
        405,
        "method_not_allowed",
        `Cannot ${req.method} ${url.pathname}: use ${allowed.join(" or ")}`,
        { headers: { Allow: [...allowed, "OPTIONS"].join(", ") } },
      );
    }
    if (route === "authorize") return await authorize(req, url);
    if (route === "complete") return await complete(req, url);
    return await exchange(req);
  }

  return withResponseHeaders(handle, { allowedOrigins: config.allowedOrigins, log });
}

/** A token sign-in in flight: challenge, redirect URI, state, browser nonce, email. */
interface Flow {
  c: string;
  r: string;
  s: string;
  n?: string;
  e?: string;
}

/** Auth.js's own normalization of email identifiers, enough to compare two of them. */
function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function redirectTo(target: URL): Response {
  return new Response(null, { status: 302, headers: { Location: target.href } });
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return base64url.encode(new Uint8Array(digest));
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
