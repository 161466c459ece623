/**
 * A real OAuth 1.0a service (RFC 5849) for the tests, on 127.0.0.1, shaped like X's:
 * `POST /oauth/request_token`, `GET|POST /oauth/authenticate` (a page with a login form and
 * Allow / Deny), `POST /oauth/access_token`, and the protected resource
 * `GET /1.1/account/verify_credentials.json`.
 *
 * Every signed request is verified here with code of its own (node:crypto's HMAC, its own
 * percent-encoding and parsing), not the functions' `signature.ts`: a request is refused
 * with 401 and `oauth_problem=<reason>` for an invalid signature, an unknown consumer key,
 * an unknown, used or unauthorized token, a used nonce, a timestamp more than five minutes
 * off, or a wrong verifier; 400 for a malformed request. Every refusal is recorded.
 *
 * Also here: `startTamperingProxy`, an HTTP proxy in front of the server that alters the
 * signature of chosen requests on their way (the server sees the proxy's host through
 * `X-Forwarded-Host`, as a service behind a load balancer would), and
 * `authorizeAtOAuth1Server`, which drives the authorization page like a browser.
 *
 * @example
 * ```ts
 * const server = startOAuth1Server({ consumers: { key: "secret" } });
 * server.endpoints.requestToken; // "http://127.0.0.1:<port>/oauth/request_token"
 * await server.stop();
 * ```
 */
import assert from "node:assert/strict";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Client } from "./http.ts";

export interface OAuth1ServerOptions {
  /** Consumer key → consumer secret. */
  consumers: Record<string, string>;
  port?: number;
  /** Seconds a timestamp may be off the server's clock; default 300. */
  timestampWindow?: number;
}

export interface OAuth1User {
  /** A 19-digit id (beyond a double's precision, like X's): `id_str` in the profile. */
  id: string;
  email: string;
  name: string;
  screenName: string;
}

export interface IssuedToken {
  token: string;
  secret: string;
  consumer: string;
  userId: string;
}

export interface Refusal {
  path: string;
  status: number;
  reason: string;
}

export interface OAuth1Server {
  /** `http://127.0.0.1:<port>` */
  url: string;
  endpoints: { requestToken: string; authorize: string; accessToken: string; profile: string };
  /** Every refused request, in order. */
  refusals: Refusal[];
  /** Token credentials issued, by token. */
  accessTokens: Map<string, IssuedToken>;
  /** Temporary credentials issued (whether used or not). */
  requestTokensIssued(): number;
  userFor(email: string): OAuth1User | undefined;
  stop(): Promise<void>;
}

interface TemporaryCredentials {
  token: string;
  secret: string;
  consumer: string;
  callback: string;
  expires: number;
  /** Set once the user allowed access. */
  authorized?: { userId: string; verifier: string };
}

class Refused extends Error {
  constructor(readonly status: number, readonly reason: string) {
    super(reason);
  }
}

const TEMPORARY_LIFETIME_MS = 10 * 60 * 1000;

export function startOAuth1Server(options: OAuth1ServerOptions): OAuth1Server {
  const window = options.timestampWindow ?? 300;
  const temporary = new Map<string, TemporaryCredentials>();
  const accessTokens = new Map<string, IssuedToken>();
  const users = new Map<string, OAuth1User>();
  const nonces = new Set<string>();
  const refusals: Refusal[] = [];
  let issued = 0;

  /**
   * RFC 5849 §3.2: recomputes the signature of `req` (protocol parameters from the
   * Authorization header) with the secrets of its consumer and token. `tokenSecret` finds
   * the secret of the token the request names (or refuses it).
   */
  async function verify(
    req: Request,
    url: URL,
    tokenSecret: (token: string | undefined, consumer: string) => string,
  ): Promise<Map<string, string>> {
    const header = req.headers.get("Authorization") ?? "";
    const match = header.match(/^OAuth\s+(.+)$/i);
    if (!match) throw new Refused(401, "parameter_absent");
    const oauth = new Map<string, string>();
    for (const part of match[1]!.split(",")) {
      const pair = part.trim().match(/^([A-Za-z0-9_%.~-]+)="([^"]*)"$/);
      if (!pair) throw new Refused(400, "parameter_rejected");
      const name = decodeURIComponent(pair[1]!);
      if (oauth.has(name)) throw new Refused(400, "parameter_rejected");
      oauth.set(name, decodeURIComponent(pair[2]!));
    }
    const method = oauth.get("oauth_signature_method");
    if (method !== "HMAC-SHA1" && method !== "PLAINTEXT") {
      throw new Refused(400, "signature_method_rejected");
    }
    if (oauth.has("oauth_version") && oauth.get("oauth_version") !== "1.0") {
      throw new Refused(400, "version_rejected");
    }
    const consumer = oauth.get("oauth_consumer_key") ?? "";
    const consumerSecret = options.consumers[consumer];
    if (consumerSecret === undefined) throw new Refused(401, "consumer_key_unknown");
    const token = oauth.get("oauth_token") || undefined;
    const secret = tokenSecret(token, consumer);
    const timestamp = Number(oauth.get("oauth_timestamp"));
    if (
      method === "HMAC-SHA1" &&
      (!Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > window)
    ) {
      throw new Refused(401, "timestamp_refused");
    }
    const nonce = oauth.get("oauth_nonce") ?? "";
    if (method === "HMAC-SHA1" && !nonce) throw new Refused(400, "parameter_absent");

    const key = `${percent(consumerSecret)}&${percent(secret)}`;
    let expected: string;
    if (method === "PLAINTEXT") {
      expected = key;
    } else {
      const params: [string, string][] = [...url.searchParams];
      for (const [name, value] of oauth) {
        if (name !== "realm" && name !== "oauth_signature") params.push([name, value]);
      }
      if (req.headers.get("Content-Type")?.startsWith("application/x-www-form-urlencoded")) {
        params.push(...new URLSearchParams(await req.text()));
      }
      const normalized = params
        .map(([n, v]) => [percent(n), percent(v)])
        .sort((a, b) => compare(a[0]!, b[0]!) || compare(a[1]!, b[1]!))
        .map(([n, v]) => `${n}=${v}`)
        .join("&");
      // Behind the proxy, the URL the client signed is the proxy's.
      const host = (req.headers.get("X-Forwarded-Host") ?? url.host).toLowerCase();
      const base = `${req.method}&${percent(`${url.protocol}//${host}${url.pathname}`)}&${
        percent(normalized)
      }`;
      expected = createHmac("sha1", key).update(base).digest("base64");
    }
    const given = Buffer.from(oauth.get("oauth_signature") ?? "");
    const wanted = Buffer.from(expected);
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      throw new Refused(401, "signature_invalid");
    }
    // §3.3: a nonce works once per timestamp, consumer and token.
    const seen = `${consumer}\n${token ?? ""}\n${timestamp}\n${nonce}`;
    if (method === "HMAC-SHA1") {
      if (nonces.has(seen)) throw new Refused(401, "nonce_used");
      nonces.add(seen);
    }
    return oauth;
  }

  function userFor(email: string, name: string): OAuth1User {
    let user = users.get(email.toLowerCase());
    if (!user) {
      const serial = 1_000_000_000_000_000_000n + BigInt(users.size + 1) * 7_777_777n;
      user = { id: String(serial), email, name: name || email, screenName: email.split("@")[0]! };
      users.set(email.toLowerCase(), user);
    }
    return user;
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const route = `${req.method} ${url.pathname}`;
    if (route === "POST /oauth/request_token") {
      const oauth = await verify(req, url, (token) => {
        if (token) throw new Refused(400, "parameter_rejected");
        return "";
      });
      const callback = oauth.get("oauth_callback");
      if (!callback) throw new Refused(400, "parameter_absent");
      const credentials: TemporaryCredentials = {
        token: random(),
        secret: random(),
        consumer: oauth.get("oauth_consumer_key")!,
        callback,
        expires: Date.now() + TEMPORARY_LIFETIME_MS,
      };
      temporary.set(credentials.token, credentials);
      issued++;
      return form({
        oauth_token: credentials.token,
        oauth_token_secret: credentials.secret,
        oauth_callback_confirmed: "true",
      });
    }
    if (route === "GET /oauth/authenticate") {
      const credentials = temporary.get(url.searchParams.get("oauth_token") ?? "");
      if (!credentials || credentials.expires < Date.now() || credentials.authorized) {
        return html(400, "<p>This sign-in link is unknown or was used.</p>");
      }
      return html(
        200,
        `<form id="authorize-form" method="post" action="/oauth/authenticate">
<input type="hidden" name="oauth_token" value="${escapeHtml(credentials.token)}">
<label>Email <input id="email" name="email" type="email" required></label>
<label>Name <input id="name" name="name"></label>
<button id="allow" name="decision" value="allow">Allow</button>
<button id="deny" name="decision" value="deny">Deny</button>
</form>`,
      );
    }
    if (route === "POST /oauth/authenticate") {
      const fields = new URLSearchParams(await req.text());
      const token = fields.get("oauth_token") ?? "";
      const credentials = temporary.get(token);
      if (!credentials || credentials.expires < Date.now() || credentials.authorized) {
        return html(400, "<p>This sign-in link is unknown or was used.</p>");
      }
      // §2.2: the callback's own query is kept, the parameters appended.
      const back = new URL(credentials.callback);
      if (fields.get("decision") !== "allow") {
        temporary.delete(token);
        back.searchParams.append("denied", token);
        return Response.redirect(back, 302);
      }
      const email = fields.get("email") ?? "";
      if (!/^[^@\s]+@[^@\s]+$/.test(email)) return html(400, "<p>An email is needed.</p>");
      const user = userFor(email, fields.get("name") ?? "");
      credentials.authorized = { userId: user.id, verifier: random() };
      back.searchParams.append("oauth_token", token);
      back.searchParams.append("oauth_verifier", credentials.authorized.verifier);
      return Response.redirect(back, 302);
    }
    if (route === "POST /oauth/access_token") {
      let credentials: TemporaryCredentials | undefined;
      const oauth = await verify(req, url, (token, consumer) => {
        credentials = temporary.get(token ?? "");
        if (
          !credentials || credentials.consumer !== consumer || !credentials.authorized ||
          credentials.expires < Date.now()
        ) {
          throw new Refused(401, "token_rejected");
        }
        return credentials.secret;
      });
      const authorized = credentials!.authorized!;
      // §2.3: temporary credentials work once, whether the verifier is right or not.
      temporary.delete(credentials!.token);
      if (oauth.get("oauth_verifier") !== authorized.verifier) {
        throw new Refused(401, "verifier_invalid");
      }
      const user = [...users.values()].find((u) => u.id === authorized.userId)!;
      const access: IssuedToken = {
        token: `${user.id}-${random()}`,
        secret: random(),
        consumer: credentials!.consumer,
        userId: user.id,
      };
      accessTokens.set(access.token, access);
      return form({
        oauth_token: access.token,
        oauth_token_secret: access.secret,
        user_id: user.id,
        screen_name: user.screenName,
      });
    }
    if (route === "GET /1.1/account/verify_credentials.json") {
      let access: IssuedToken | undefined;
      await verify(req, url, (token, consumer) => {
        access = accessTokens.get(token ?? "");
        if (!access || access.consumer !== consumer) throw new Refused(401, "token_rejected");
        return access.secret;
      });
      const user = [...users.values()].find((u) => u.id === access!.userId)!;
      // The numeric id as JSON writes it: beyond 2^53 it is not exact, hence id_str.
      const body = `{"id":${user.id},"id_str":"${user.id}",${
        JSON.stringify({
          name: user.name,
          screen_name: user.screenName,
          profile_image_url_https: `https://images.example.com/${user.screenName}_normal.png`,
          ...(url.searchParams.get("include_email") === "true" ? { email: user.email } : {}),
        }).slice(1)
      }`;
      return new Response(body, { headers: { "Content-Type": "application/json" } });
    }
    return new Response("Not found", { status: 404 });
  }

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    async (req) => {
      try {
        return await handle(req);
      } catch (error) {
        if (!(error instanceof Refused)) throw error;
        refusals.push({
          path: new URL(req.url).pathname,
          status: error.status,
          reason: error.reason,
        });
        return new Response(`oauth_problem=${error.reason}`, {
          status: error.status,
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            "WWW-Authenticate": 'OAuth realm="test"',
          },
        });
      }
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    url,
    endpoints: {
      requestToken: `${url}/oauth/request_token`,
      authorize: `${url}/oauth/authenticate`,
      accessToken: `${url}/oauth/access_token`,
      profile: `${url}/1.1/account/verify_credentials.json?include_email=true`,
    },
    refusals,
    accessTokens,
    requestTokensIssued: () => issued,
    userFor: (email) => users.get(email.toLowerCase()),
    stop: () => server.shutdown(),
  };
}

export interface TamperingProxy {
  /** `http://127.0.0.1:<port>`, forwarding to the server. */
  url: string;
  /** Requests whose path this matches get their `oauth_signature` altered; null: none. */
  tamper: RegExp | null;
  /** How many requests had their signature altered. */
  tampered: number;
  stop(): Promise<void>;
}

/** An HTTP proxy to `target` that can change one character of chosen requests' signatures. */
export function startTamperingProxy(target: string): TamperingProxy {
  const proxy: TamperingProxy = {
    url: "",
    tamper: null,
    tampered: 0,
    stop: () => server.shutdown(),
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      const headers = new Headers(req.headers);
      headers.set("X-Forwarded-Host", url.host);
      const authorization = headers.get("Authorization");
      if (authorization && proxy.tamper?.test(url.pathname)) {
        headers.set(
          "Authorization",
          authorization.replace(/oauth_signature="([^"]+)"/, (_, value: string) => {
            const flipped = value[0] === "A" ? "B" : "A";
            return `oauth_signature="${flipped}${value.slice(1)}"`;
          }),
        );
        proxy.tampered++;
      }
      const body = req.body ? await req.arrayBuffer() : undefined;
      return await fetch(`${target}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        body,
        redirect: "manual",
      });
    },
  );
  proxy.url = `http://127.0.0.1:${server.addr.port}`;
  return proxy;
}

export interface OAuth1Login {
  email: string;
  name?: string;
  decision?: "allow" | "deny";
}

/**
 * Opens the service's authorization page at `authorizeUrl` (where the `oauth1` function
 * sent the browser), fills the form and presses Allow or Deny; returns where the service
 * redirects (the `oauth1` function's callback), without following it.
 */
export async function authorizeAtOAuth1Server(
  client: Client,
  authorizeUrl: URL,
  login: OAuth1Login,
): Promise<URL> {
  const page = await client.get(authorizeUrl);
  const text = await page.text();
  assert.equal(page.status, 200, `the authorization page (${text.slice(0, 200)})`);
  assert.match(text, /id="authorize-form"/);
  const token = text.match(/name="oauth_token" value="([^"]+)"/)?.[1];
  assert.ok(token, "the form carries the request token");
  const response = await client.postForm(new URL("/oauth/authenticate", authorizeUrl), {
    oauth_token: token,
    email: login.email,
    name: login.name ?? "",
    decision: login.decision ?? "allow",
  });
  await response.body?.cancel();
  assert.equal(response.status, 302, "the service redirects back");
  return new URL(response.headers.get("Location")!);
}

/** Percent-encoding as RFC 5849 §3.6 wants it, from encodeURIComponent. */
function percent(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function random(): string {
  return randomBytes(18).toString("base64url");
}

function form(fields: Record<string, string>): Response {
  return new Response(new URLSearchParams(fields).toString(), {
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
}

function html(status: number, body: string): Response {
  return new Response(`<!doctype html><meta charset="utf-8"><title>Sign in</title>${body}`, {
    status,
    headers: { "Content-Type": "text/html; charset=utf-8" },
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
