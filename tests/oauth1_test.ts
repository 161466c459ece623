/**
 * OAuth 1.0a sign-in end to end, through the gateway, against a real OAuth 1.0a service
 * started here (`support/oauth1_server.ts`, which verifies every signature on its own) with
 * a tampering proxy in front of it: request token → authorization → access token → signed
 * profile, through the `oauth1` function and Auth.js. Users and accounts are Auth.js's
 * (`oauth_token` / `oauth_token_secret` stored), with JWT and database sessions; tampered
 * signatures, denied access, forged or replayed callbacks and codes, bad input and a service
 * that is gone all end in a clear answer with nothing written.
 */
import assert from "node:assert/strict";
import { base64url } from "jose";
import { signRequest } from "../supabase/functions/_shared/oauth1/signature.ts";
import { connect, countRows } from "./support/db.ts";
import { Client } from "./support/http.ts";
import {
  authorizeAtOAuth1Server,
  type OAuth1Login,
  type OAuth1Server,
  startOAuth1Server,
  startTamperingProxy,
  type TamperingProxy,
} from "./support/oauth1_server.ts";
import { startOAuthSignIn } from "./support/oidc.ts";
import { signInWithMagicLink } from "./support/sign_in.ts";
import { type LocalStack, startTestStack } from "./support/stack.ts";

/** Two consumers of the service: X's preset (endpoints moved here) and a generic service. */
const TWITTER = { key: "x-consumer-key", secret: "x consumer/secret+&=é" };
const ACME = { key: "acme-consumer-key", secret: "acme-consumer-secret" };
const FRONTEND = "http://app.localhost:5000";

function stackEnv(via: string): Record<string, string> {
  return {
    AUTH_OAUTH1_PROVIDERS: "twitter,acme",
    AUTH_TWITTER_ID: TWITTER.key,
    AUTH_TWITTER_SECRET: TWITTER.secret,
    AUTH_TWITTER_REQUEST_TOKEN_URL: `${via}/oauth/request_token`,
    AUTH_TWITTER_AUTHORIZE_URL: `${via}/oauth/authenticate`,
    AUTH_TWITTER_ACCESS_TOKEN_URL: `${via}/oauth/access_token`,
    AUTH_TWITTER_PROFILE_URL: `${via}/1.1/account/verify_credentials.json?include_email=true`,
    // No profile URL: the access token response (user_id, screen_name) is the profile.
    AUTH_ACME_ID: ACME.key,
    AUTH_ACME_SECRET: ACME.secret,
    AUTH_ACME_NAME: "Acme",
    AUTH_ACME_REQUEST_TOKEN_URL: `${via}/oauth/request_token`,
    AUTH_ACME_AUTHORIZE_URL: `${via}/oauth/authenticate`,
    AUTH_ACME_ACCESS_TOKEN_URL: `${via}/oauth/access_token`,
    AUTH_ALLOWED_ORIGINS: FRONTEND,
  };
}

/** The steps of one sign-in, each a URL the browser was sent to. */
interface Trip {
  /** Where Auth.js sent the browser: the `oauth1` function's authorize. */
  bridgeAuthorize: URL;
  /** Where the function sent it: the service's authorization page (or Auth.js, on error). */
  service: URL;
  /** Where the service sent it back: the function's callback. */
  bridgeCallback?: URL;
  /** Where the function sent it: Auth.js's callback, with a code or an error. */
  authjsCallback?: URL;
  /** Auth.js's answer to its callback. */
  final?: Response;
}

async function follow(client: Client, url: URL): Promise<URL> {
  const response = await client.get(url);
  const body = await response.text();
  assert.equal(response.status, 302, `${url.pathname} redirects (${body.slice(0, 200)})`);
  return new URL(response.headers.get("Location")!);
}

/** Drives a sign-in like a browser, stopping after `until`. */
async function signIn(
  stack: LocalStack,
  client: Client,
  provider: string,
  login: OAuth1Login,
  until: "service" | "bridgeCallback" | "authjsCallback" | "final" = "final",
): Promise<Trip> {
  const bridgeAuthorize = await startOAuthSignIn(stack.functionsUrl, client, {
    provider,
    callbackUrl: `${stack.functionsUrl}/session`,
  });
  const trip: Trip = { bridgeAuthorize, service: await follow(client, bridgeAuthorize) };
  if (until === "service" || !trip.service.pathname.startsWith("/oauth/")) return trip;
  trip.bridgeCallback = await authorizeAtOAuth1Server(client, trip.service, login);
  if (until === "bridgeCallback") return trip;
  trip.authjsCallback = await follow(client, trip.bridgeCallback);
  if (until === "authjsCallback") return trip;
  trip.final = await client.get(trip.authjsCallback);
  await trip.final.body?.cancel();
  return trip;
}

/** Asserts a redirect to the functions' sign-in page with Auth.js's error and our code. */
function assertSignInError(location: URL | string | null, functionsUrl: string, code: string) {
  assert.ok(location, "a redirect");
  const url = new URL(location);
  assert.equal(`${url.origin}${url.pathname}`, `${functionsUrl}/signin`);
  assert.equal(url.searchParams.get("error"), "OAuthCallbackError");
  assert.equal(url.searchParams.get("code"), code);
}

async function withService(
  fn: (server: OAuth1Server, proxy: TamperingProxy) => Promise<void>,
): Promise<void> {
  const server = startOAuth1Server({
    consumers: { [TWITTER.key]: TWITTER.secret, [ACME.key]: ACME.secret },
  });
  const proxy = startTamperingProxy(server.url);
  try {
    await fn(server, proxy);
  } finally {
    await proxy.stop().catch(() => {});
    await server.stop();
  }
}

Deno.test("the test service refuses what RFC 5849 says to refuse", async () => {
  await withService(async (server) => {
    const requestToken = new URL(server.endpoints.requestToken);
    const post = async (url: URL, authorization: string) => {
      const response = await fetch(url, {
        method: "POST",
        headers: { Authorization: authorization },
      });
      return { status: response.status, body: await response.text() };
    };
    const signed = (overrides: Partial<Parameters<typeof signRequest>[0]> = {}) =>
      signRequest({
        method: "POST",
        url: requestToken,
        consumerKey: TWITTER.key,
        consumerSecret: TWITTER.secret,
        oauth: { oauth_callback: "http://127.0.0.1/cb" },
        ...overrides,
      });

    const good = await signed();
    const accepted = await post(requestToken, good.authorization);
    assert.equal(accepted.status, 200, accepted.body);
    const temporary = new URLSearchParams(accepted.body);
    assert.equal(temporary.get("oauth_callback_confirmed"), "true");

    // The same request again: its nonce is spent.
    assert.deepEqual(await post(requestToken, good.authorization), {
      status: 401,
      body: "oauth_problem=nonce_used",
    });
    // One character of the signature changed.
    const tampered = (await signed()).authorization.replace(
      /oauth_signature="(.)/,
      (_, c: string) => `oauth_signature="${c === "A" ? "B" : "A"}`,
    );
    assert.deepEqual(await post(requestToken, tampered), {
      status: 401,
      body: "oauth_problem=signature_invalid",
    });
    // A signed parameter changed after signing (the callback).
    const moved = (await signed()).authorization.replace(
      /oauth_callback="[^"]*"/,
      'oauth_callback="http%3A%2F%2Fattacker.example%2F"',
    );
    assert.equal((await post(requestToken, moved)).body, "oauth_problem=signature_invalid");
    // The wrong consumer secret, an unknown consumer, a stale timestamp.
    assert.equal(
      (await post(requestToken, (await signed({ consumerSecret: "guess" })).authorization)).body,
      "oauth_problem=signature_invalid",
    );
    assert.equal(
      (await post(requestToken, (await signed({ consumerKey: "nobody" })).authorization)).body,
      "oauth_problem=consumer_key_unknown",
    );
    const stale = await signed({ timestamp: Math.floor(Date.now() / 1000) - 3600 });
    assert.equal(
      (await post(requestToken, stale.authorization)).body,
      "oauth_problem=timestamp_refused",
    );
    // Temporary credentials that nobody authorized cannot be exchanged.
    const exchange = await signRequest({
      method: "POST",
      url: new URL(server.endpoints.accessToken),
      consumerKey: TWITTER.key,
      consumerSecret: TWITTER.secret,
      token: temporary.get("oauth_token")!,
      tokenSecret: temporary.get("oauth_token_secret")!,
      oauth: { oauth_verifier: "guessed" },
    });
    assert.deepEqual(await post(new URL(server.endpoints.accessToken), exchange.authorization), {
      status: 401,
      body: "oauth_problem=token_rejected",
    });
    // The query of a protected resource is signed: changing it breaks the signature.
    const profile = new URL(server.endpoints.profile);
    const get = await signRequest({
      method: "GET",
      url: profile,
      consumerKey: TWITTER.key,
      consumerSecret: TWITTER.secret,
      token: "unknown-token",
      tokenSecret: "x",
    });
    const unknown = await fetch(profile, { headers: { Authorization: get.authorization } });
    assert.equal(await unknown.text(), "oauth_problem=token_rejected");
    assert.equal(unknown.status, 401);
    assert.equal(server.requestTokensIssued(), 1);
    assert.deepEqual(
      server.refusals.map((r) => r.reason),
      [
        "nonce_used",
        "signature_invalid",
        "signature_invalid",
        "signature_invalid",
        "consumer_key_unknown",
        "timestamp_refused",
        "token_rejected",
        "token_rejected",
      ],
    );
  });
});

Deno.test("OAuth 1.0a sign-in through the oauth1 function (JWT sessions)", async () => {
  await withService(async (server, proxy) => {
    const logs: string[] = [];
    const stack = await startTestStack(stackEnv(proxy.url), {
      oidc: false,
      log: (line) => logs.push(line),
    });
    const sql = connect(stack.databaseUrl);
    const F = stack.functionsUrl;
    try {
      {
        const providers = await (await new Client().get(`${F}/providers`)).json();
        assert.deepEqual(providers.twitter, {
          id: "twitter",
          name: "X",
          type: "oauth",
          signinUrl: `${F}/signin/twitter`,
          callbackUrl: `${F}/callback/twitter`,
        });
        assert.equal(providers.acme.name, "Acme");
        // AUTH_TWITTER_ID configures the OAuth 1.0a service, not also the OAuth 2 built-in.
        assert.deepEqual(Object.keys(providers).sort(), ["acme", "email", "twitter"]);
      }

      const email = "ada@example.com";
      let userId!: string;
      {
        const client = new Client();
        const trip = await signIn(stack, client, "twitter", { email, name: "Ada Lovelace" });
        // Auth.js → the function, as to any OAuth 2 authorization endpoint.
        assert.equal(
          `${trip.bridgeAuthorize.origin}${trip.bridgeAuthorize.pathname}`,
          `${F}/oauth1/twitter/authorize`,
        );
        const params = trip.bridgeAuthorize.searchParams;
        assert.equal(params.get("client_id"), TWITTER.key);
        assert.equal(params.get("redirect_uri"), `${F}/callback/twitter`);
        assert.equal(params.get("code_challenge_method"), "S256");
        const state = params.get("state");
        assert.ok(state);
        // The function → the service's page with the request token (through the proxy).
        assert.equal(
          `${trip.service.origin}${trip.service.pathname}`,
          `${proxy.url}/oauth/authenticate`,
        );
        assert.ok(trip.service.searchParams.get("oauth_token"));
        // The service → the function's callback → Auth.js's callback with a code and the state.
        assert.equal(
          `${trip.bridgeCallback!.origin}${trip.bridgeCallback!.pathname}`,
          `${F}/oauth1/twitter/callback`,
        );
        assert.equal(
          trip.bridgeCallback!.searchParams.get("oauth_token"),
          trip.service.searchParams.get("oauth_token"),
        );
        assert.equal(
          `${trip.authjsCallback!.origin}${trip.authjsCallback!.pathname}`,
          `${F}/callback/twitter`,
        );
        assert.equal(trip.authjsCallback!.searchParams.get("state"), state);
        assert.ok(trip.authjsCallback!.searchParams.get("code"));
        assert.equal(
          client.cookies.has("authjs.oauth1.twitter"),
          false,
          "the flow cookie is spent",
        );
        assert.equal(trip.final!.status, 302);
        assert.equal(trip.final!.headers.get("Location"), `${F}/session`);
        assert.ok(client.cookies.has("authjs.session-token"));

        const serviceUser = server.userFor(email)!;
        const users = await sql`select * from next_auth.users`;
        assert.equal(users.length, 1);
        assert.equal(users[0]!.email, email);
        assert.equal(users[0]!.name, "Ada Lovelace");
        assert.equal(users[0]!.image, `https://images.example.com/ada.png`);
        userId = users[0]!.id;
        const accounts = await sql`select * from next_auth.accounts`;
        assert.equal(accounts.length, 1);
        const account = accounts[0]!;
        assert.equal(account.userId, userId);
        assert.equal(account.provider, "twitter");
        assert.equal(account.type, "oauth");
        // The 19-digit id exactly (id_str, not the rounded number).
        assert.equal(account.providerAccountId, serviceUser.id);
        const issued = server.accessTokens.get(account.oauth_token);
        assert.ok(issued, "oauth_token is the token the service issued");
        assert.equal(issued.userId, serviceUser.id);
        assert.equal(account.oauth_token_secret, issued.secret);
        assert.equal(account.access_token, null);
        assert.equal(account.refresh_token, null);

        const session = await (await client.get(`${F}/session`)).json();
        assert.equal(session.user.id, userId);
        assert.equal(session.user.email, email);

        // The stored token credentials are live at the service (asked directly, no proxy).
        const profile = new URL(`${server.url}/1.1/account/verify_credentials.json`);
        const { authorization } = await signRequest({
          method: "GET",
          url: profile,
          consumerKey: TWITTER.key,
          consumerSecret: TWITTER.secret,
          token: account.oauth_token,
          tokenSecret: account.oauth_token_secret,
        });
        const live = await fetch(profile, { headers: { Authorization: authorization } });
        assert.equal(live.status, 200);
        assert.equal((await live.json()).id_str, serviceUser.id);
        assert.equal(server.refusals.length, 0, JSON.stringify(server.refusals));

        // Auth.js's callback again in the same browser: its state cookie is spent.
        const replay = await client.get(trip.authjsCallback!);
        await replay.body?.cancel();
        assertSignInError(replay.headers.get("Location"), F, "oauth_state_invalid");
        assert.equal((await countRows(stack.databaseUrl)).accounts, 1);
      }

      // Signing in again finds the same user and account.
      {
        const client = new Client();
        const trip = await signIn(stack, client, "twitter", { email });
        assert.equal(trip.final!.headers.get("Location"), `${F}/session`);
        const session = await (await client.get(`${F}/session`)).json();
        assert.equal(session.user.id, userId);
        const rows = await countRows(stack.databaseUrl);
        assert.equal(rows.users, 1);
        assert.equal(rows.accounts, 1);
      }

      // A generic service whose profile is its access token response: no email, a name.
      {
        const client = new Client();
        const trip = await signIn(stack, client, "acme", { email: "grace@example.com" });
        assert.equal(trip.final!.headers.get("Location"), `${F}/session`);
        const [account] = await sql`select * from next_auth.accounts where provider = 'acme'`;
        assert.equal(account!.providerAccountId, server.userFor("grace@example.com")!.id);
        assert.ok(server.accessTokens.has(account!.oauth_token));
        const [user] = await sql`select * from next_auth.users where id = ${account!.userId}`;
        assert.equal(user!.email, null);
        assert.equal(user!.name, "grace");
        const audit = await sql`select event, user_id from next_auth.audit_log
          where provider = 'acme' order by id`;
        assert.deepEqual(audit.map((r) => [r.event, r.user_id]), [
          ["account_linked", user!.id],
          ["signin", user!.id],
        ]);
      }

      // Auth.js's linking rules: an address already someone's is not taken over; a signed-in
      // user links the service to their own account.
      {
        const address = "hopper@example.com";
        const emailUser = await signInWithMagicLink(stack, address);
        const [owner] = await sql`select id from next_auth.users where email = ${address}`;
        const before = await countRows(stack.databaseUrl);
        const stranger = new Client();
        const refused = await signIn(stack, stranger, "twitter", { email: address });
        const location = new URL(refused.final!.headers.get("Location")!);
        assert.equal(location.pathname, new URL(`${F}/signin`).pathname);
        assert.equal(location.searchParams.get("error"), "OAuthAccountNotLinked");
        assert.deepEqual(await countRows(stack.databaseUrl), before);

        const linked = await signIn(stack, emailUser, "twitter", { email: address });
        assert.equal(linked.final!.headers.get("Location"), `${F}/session`);
        const accounts = await sql`select "userId", provider from next_auth.accounts
          where "providerAccountId" = ${server.userFor(address)!.id}`;
        assert.deepEqual(accounts.map((a) => [a.userId, a.provider]), [[owner!.id, "twitter"]]);
      }

      // The user pressed Deny at the service.
      {
        const before = await countRows(stack.databaseUrl);
        const client = new Client();
        const trip = await signIn(stack, client, "twitter", {
          email: "denier@example.com",
          decision: "deny",
        });
        assert.ok(trip.bridgeCallback!.searchParams.get("denied"));
        assert.equal(trip.authjsCallback!.searchParams.get("error"), "access_denied");
        assertSignInError(trip.final!.headers.get("Location"), F, "access_denied");
        assert.equal(client.cookies.has("authjs.session-token"), false);
        assert.deepEqual(await countRows(stack.databaseUrl), before);
      }

      // Tampered signatures, at each of the three signed steps: the service refuses them.
      for (
        const [step, path] of [
          ["request token", "/oauth/request_token"],
          ["access token", "/oauth/access_token"],
          ["profile", "/1.1/account/verify_credentials.json"],
        ] as const
      ) {
        const before = await countRows(stack.databaseUrl);
        const refusedBefore: number = server.refusals.length;
        proxy.tamper = new RegExp(`^${path.replaceAll(".", "\\.")}$`);
        proxy.tampered = 0;
        const client = new Client();
        try {
          const trip = await signIn(stack, client, "twitter", { email: "mallory@example.com" });
          // A refused request token: the function sends the browser back to Auth.js at once.
          const location = step === "request token"
            ? (await client.get(trip.service)).headers.get("Location")
            : trip.final!.headers.get("Location");
          assertSignInError(location, F, "provider_refused");
        } finally {
          proxy.tamper = null;
        }
        assert.equal(proxy.tampered, 1, `${step}: one request tampered with`);
        assert.deepEqual(server.refusals.slice(refusedBefore), [
          { path, status: 401, reason: "signature_invalid" },
        ]);
        assert.equal(client.cookies.has("authjs.session-token"), false, step);
        assert.deepEqual(await countRows(stack.databaseUrl), before, `${step}: nothing written`);
      }

      // Replayed or forged callbacks and codes.
      {
        const before = await countRows(stack.databaseUrl);
        const victim = new Client();
        const trip = await signIn(
          stack,
          victim,
          "twitter",
          { email: "victim@example.com" },
          "bridgeCallback",
        );
        // The service's callback opened in another browser: no sign-in in flight there.
        const attacker = new Client();
        let response = await attacker.get(trip.bridgeCallback!);
        await response.body?.cancel();
        assertSignInError(response.headers.get("Location"), F, "oauth_state_invalid");
        // In the victim's browser it works once; a replay finds the flow spent.
        const authjsCallback = await follow(victim, trip.bridgeCallback!);
        response = await victim.get(trip.bridgeCallback!);
        await response.body?.cancel();
        assertSignInError(response.headers.get("Location"), F, "oauth_state_invalid");
        // Auth.js's callback (code + state) opened in another browser: no state cookie.
        response = await attacker.get(authjsCallback);
        await response.body?.cancel();
        assertSignInError(response.headers.get("Location"), F, "oauth_state_invalid");
        // A forged code in the victim's own flow.
        const forged = new URL(authjsCallback);
        forged.searchParams.set(
          "code",
          base64url.encode(crypto.getRandomValues(new Uint8Array(48))),
        );
        response = await victim.get(forged);
        await response.body?.cancel();
        assertSignInError(response.headers.get("Location"), F, "oauth_code_invalid");
        assert.equal(victim.cookies.has("authjs.session-token"), false);
        assert.deepEqual(await countRows(stack.databaseUrl), before);
      }
      {
        // Another sign-in's code, under the attacker's own state: PKCE tells them apart.
        const before = await countRows(stack.databaseUrl);
        const victim = new Client();
        const stolen = (await signIn(
          stack,
          victim,
          "twitter",
          { email: "victim@example.com" },
          "authjsCallback",
        ))
          .authjsCallback!;
        const attacker = new Client();
        const own = (await signIn(
          stack,
          attacker,
          "twitter",
          { email: "attacker@example.com" },
          "authjsCallback",
        ))
          .authjsCallback!;
        own.searchParams.set("code", stolen.searchParams.get("code")!);
        const response = await attacker.get(own);
        await response.body?.cancel();
        assertSignInError(response.headers.get("Location"), F, "oauth_check_failed");
        assert.deepEqual(await countRows(stack.databaseUrl), before);
      }
      {
        // One code exchanged twice, with the browser's own cookies (a copy of them): the
        // service's temporary credentials work once, so the second exchange is refused.
        const browser = new Client();
        const callback = (await signIn(
          stack,
          browser,
          "twitter",
          { email: "twice@example.com" },
          "authjsCallback",
        ))
          .authjsCallback!;
        const copy = new Client();
        for (const [name, value] of browser.cookies) copy.cookies.set(name, value);
        const first = await browser.get(callback);
        await first.body?.cancel();
        assert.equal(first.headers.get("Location"), `${F}/session`);
        const before = await countRows(stack.databaseUrl);
        const refusedBefore: number = server.refusals.length;
        const second = await copy.get(callback);
        await second.body?.cancel();
        assertSignInError(second.headers.get("Location"), F, "provider_refused");
        assert.deepEqual(server.refusals.slice(refusedBefore).map((r) => r.reason), [
          "token_rejected",
        ]);
        assert.equal(copy.cookies.has("authjs.session-token"), false);
        assert.deepEqual(await countRows(stack.databaseUrl), before);
      }
      {
        // The service's callback for one sign-in, in a browser running another.
        const before = await countRows(stack.databaseUrl);
        const first = new Client();
        const other =
          (await signIn(stack, first, "twitter", { email: "x@example.com" }, "bridgeCallback"))
            .bridgeCallback!;
        const second = new Client();
        const own =
          (await signIn(stack, second, "twitter", { email: "y@example.com" }, "bridgeCallback"))
            .bridgeCallback!;
        own.searchParams.set("oauth_token", other.searchParams.get("oauth_token")!);
        own.searchParams.set("oauth_verifier", other.searchParams.get("oauth_verifier")!);
        const back = await follow(second, own);
        assert.equal(back.searchParams.get("error"), "oauth_state_invalid");
        const response = await second.get(back);
        await response.body?.cancel();
        assertSignInError(response.headers.get("Location"), F, "oauth_state_invalid");
        assert.deepEqual(await countRows(stack.databaseUrl), before);
      }

      // Bad input to the function: a JSON 4xx with a stable code, and the service never asked.
      {
        const before = await countRows(stack.databaseUrl);
        const issued = server.requestTokensIssued();
        const client = new Client();
        const authorize = await startOAuthSignIn(F, client, { provider: "twitter" });
        const variant = (changes: Record<string, string | null>) => {
          const url = new URL(authorize);
          for (const [name, value] of Object.entries(changes)) {
            if (value === null) url.searchParams.delete(name);
            else url.searchParams.set(name, value);
          }
          return url.href;
        };
        const cases: [string, RequestInit, number, string][] = [
          [`${F}/oauth1`, {}, 404, "unknown_provider"],
          [`${F}/oauth1/nope/authorize`, {}, 404, "unknown_provider"],
          [`${F}/oauth1/twitter`, {}, 404, "unknown_action"],
          [`${F}/oauth1/twitter/token`, {}, 404, "unknown_action"],
          [`${F}/oauth1/twitter/authorize/more`, {}, 404, "unknown_action"],
          [authorize.href, { method: "POST" }, 405, "method_not_allowed"],
          [`${F}/oauth1/twitter/authorize`, {}, 400, "invalid_client"],
          [variant({ client_id: "other" }), {}, 400, "invalid_client"],
          [
            variant({ redirect_uri: "https://attacker.example/cb" }),
            {},
            400,
            "invalid_redirect_uri",
          ],
          [variant({ response_type: "token" }), {}, 400, "invalid_request"],
          [variant({ code_challenge: "short" }), {}, 400, "invalid_code_challenge"],
          [variant({ code_challenge_method: "plain" }), {}, 400, "invalid_code_challenge"],
          [variant({ state: null }), {}, 400, "invalid_state"],
          [variant({ state: "forged.state.value" }), {}, 400, "invalid_state"],
          [variant({ state: "x".repeat(5000) }), {}, 400, "invalid_request"],
        ];
        for (const [url, init, status, code] of cases) {
          const response = await fetch(url, init);
          const text = await response.text();
          assert.equal(response.status, status, `${init.method ?? "GET"} ${url}: ${text}`);
          assert.equal(JSON.parse(text).error, code, url);
          assert.equal(response.headers.get("X-Content-Type-Options"), "nosniff");
        }
        // The callback without a flow (no cookie, or a junk one): the sign-in page, not a 500.
        for (
          const cookie of [
            "",
            "authjs.oauth1.twitter=junk",
            `authjs.oauth1.twitter=${"a".repeat(9000)}`,
          ]
        ) {
          const response = await fetch(
            `${F}/oauth1/twitter/callback?oauth_token=x&oauth_verifier=y`,
            {
              headers: cookie ? { Cookie: cookie } : {},
              redirect: "manual",
            },
          );
          await response.body?.cancel();
          assertSignInError(response.headers.get("Location"), F, "oauth_state_invalid");
        }
        assert.equal(server.requestTokensIssued(), issued, "no request token asked for");
        assert.deepEqual(await countRows(stack.databaseUrl), before);
      }

      // Token mode (native apps, third-party-cookie-blocking browsers) works unchanged.
      {
        const verifier = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
        const challenge = base64url.encode(
          new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
        );
        const client = new Client();
        const start = new URL(`${F}/token/authorize`);
        start.search = new URLSearchParams({
          provider: "twitter",
          code_challenge: challenge,
          code_challenge_method: "S256",
          redirect_uri: `${FRONTEND}/done`,
          state: "app-state",
        }).toString();
        const service = await follow(client, await follow(client, start));
        const callback = await authorizeAtOAuth1Server(client, service, { email });
        const complete = await follow(client, await follow(client, callback));
        assert.equal(`${complete.origin}${complete.pathname}`, `${F}/token/complete`);
        const done = await follow(client, complete);
        assert.equal(`${done.origin}${done.pathname}`, `${FRONTEND}/done`);
        assert.equal(done.searchParams.get("state"), "app-state");
        const exchange = await fetch(`${F}/token`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({
            code: done.searchParams.get("code"),
            code_verifier: verifier,
            redirect_uri: `${FRONTEND}/done`,
          }),
        });
        const { sessionToken } = await exchange.json();
        const session = await (await fetch(`${F}/session`, {
          headers: { Authorization: `Bearer ${sessionToken}` },
        })).json();
        assert.equal(session.user.id, userId);
      }

      // The service is gone.
      {
        const before = await countRows(stack.databaseUrl);
        await proxy.stop();
        const client = new Client();
        const trip = await signIn(stack, client, "twitter", { email }, "service");
        assert.equal(`${trip.service.origin}${trip.service.pathname}`, `${F}/callback/twitter`);
        const response = await client.get(trip.service);
        await response.body?.cancel();
        assertSignInError(response.headers.get("Location"), F, "provider_unreachable");
        assert.deepEqual(await countRows(stack.databaseUrl), before);
      }

      // No consumer secret, token or token secret in the logs or the audit trail.
      const secrets = [
        TWITTER.secret,
        ACME.secret,
        ...[...server.accessTokens.values()].flatMap((t) => [t.token, t.secret]),
      ];
      const audit = JSON.stringify(await sql`select * from next_auth.audit_log`);
      assert.ok(logs.length > 0, "the failures above were logged");
      for (const secret of secrets) {
        assert.ok(!logs.some((line) => line.includes(secret)), "no secret in the logs");
        assert.ok(!audit.includes(secret), "no secret in the audit log");
      }
    } finally {
      await sql.end();
      await stack.stop();
    }
  });
});

Deno.test("OAuth 1.0a sign-in with database sessions", async () => {
  await withService(async (server, proxy) => {
    const stack = await startTestStack(
      { ...stackEnv(proxy.url), AUTH_SESSION_STRATEGY: "database" },
      { oidc: false },
    );
    const sql = connect(stack.databaseUrl);
    const F = stack.functionsUrl;
    try {
      const email = "linus@example.com";
      const sessions: string[] = [];
      for (let i = 0; i < 2; i++) {
        const client = new Client();
        const trip = await signIn(stack, client, "twitter", { email, name: "Linus" });
        assert.equal(trip.final!.headers.get("Location"), `${F}/session`);
        const token = client.cookies.get("authjs.session-token");
        assert.ok(token);
        sessions.push(token);
        const session = await (await client.get(`${F}/session`)).json();
        assert.equal(session.user.email, email);
      }
      const users = await sql`select id from next_auth.users`;
      assert.equal(users.length, 1);
      const rows = await sql`select "sessionToken", "userId" from next_auth.sessions`;
      assert.deepEqual(rows.map((r) => r.sessionToken).sort(), [...sessions].sort());
      assert.ok(rows.every((r) => r.userId === users[0]!.id));
      const [account] = await sql`select * from next_auth.accounts`;
      assert.equal(account!.providerAccountId, server.userFor(email)!.id);
      assert.ok(server.accessTokens.get(account!.oauth_token));
    } finally {
      await sql.end();
      await stack.stop();
    }
  });
});
