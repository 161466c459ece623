/**
 * OAuth 2.0 / OpenID Connect sign-in over HTTP through the gateway, against the real
 * `oidc-provider` the local stack runs (Auth.js provider id `oidc`): authorization code +
 * PKCE + state + nonce, id_token validation, userinfo, refresh tokens stored in `accounts`,
 * and the error paths (consent denied, forged state, provider down), which end in a clear
 * error redirect with nothing written.
 */
import assert from "node:assert/strict";
import { connect, countRows } from "./support/db.ts";
import { Client } from "./support/http.ts";
import { authorizeAtProvider, signInWithOidc, startOAuthSignIn } from "./support/oidc.ts";
import { startTestStack } from "./support/stack.ts";

/** Asserts a redirect to the functions' sign-in page with Auth.js's error and our code. */
function assertSignInError(response: Response, functionsUrl: string, error: string, code: string) {
  assert.equal(response.status, 302);
  const location = new URL(response.headers.get("Location")!);
  assert.equal(`${location.origin}${location.pathname}`, `${functionsUrl}/signin`);
  assert.equal(location.searchParams.get("error"), error);
  assert.equal(location.searchParams.get("code"), code);
}

function decodeJwt(jwt: string): Record<string, unknown> {
  const payload = jwt.split(".")[1]!;
  return JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
}

Deno.test("OpenID Connect sign-in against the real oidc-provider", async (t) => {
  const stack = await startTestStack();
  const sql = connect(stack.databaseUrl);
  const oidc = stack.oidc!;
  const F = stack.functionsUrl;
  try {
    await t.step("GET /providers lists the stack's Dev OpenID provider", async () => {
      const providers = await (await new Client().get(`${F}/providers`)).json();
      assert.deepEqual(providers.oidc, {
        id: "oidc",
        name: "Dev OpenID",
        type: "oidc",
        signinUrl: `${F}/signin/oidc`,
        callbackUrl: `${F}/callback/oidc`,
      });
    });

    const email = "ada@example.com";
    let userId!: string;
    await t.step(
      "code + PKCE + state + nonce: user and account rows, a working session",
      async () => {
        const client = new Client();
        const authorize = await startOAuthSignIn(F, client, { callbackUrl: `${F}/session` });
        assert.equal(`${authorize.origin}${authorize.pathname}`, `${oidc.issuer}/auth`);
        const params = authorize.searchParams;
        assert.equal(params.get("response_type"), "code");
        assert.equal(params.get("client_id"), oidc.clientId);
        assert.equal(params.get("redirect_uri"), `${F}/callback/oidc`);
        assert.equal(params.get("code_challenge_method"), "S256");
        assert.match(params.get("code_challenge") ?? "", /^[\w-]{43}$/);
        assert.ok(params.get("state"), "a state parameter");
        const nonce = params.get("nonce");
        assert.ok(nonce, "a nonce parameter");
        assert.match(params.get("scope") ?? "", /\bopenid\b/);

        const callback = await authorizeAtProvider(client, authorize, {
          email,
          name: "Ada Lovelace",
        });
        assert.equal(`${callback.origin}${callback.pathname}`, `${F}/callback/oidc`);
        assert.ok(callback.searchParams.get("code"));
        assert.equal(callback.searchParams.get("state"), params.get("state"));

        const response = await client.get(callback);
        await response.body?.cancel();
        assert.equal(response.status, 302);
        assert.equal(response.headers.get("Location"), `${F}/session`);
        assert.ok(client.cookies.has("authjs.session-token"));

        const users = await sql`select * from next_auth.users`;
        assert.equal(users.length, 1);
        // Name and email come from userinfo: the provider's id_token carries only `sub`.
        assert.equal(users[0]!.email, email);
        assert.equal(users[0]!.name, "Ada Lovelace");
        userId = users[0]!.id;

        const accounts = await sql`select * from next_auth.accounts`;
        assert.equal(accounts.length, 1);
        const account = accounts[0]!;
        assert.equal(account.userId, userId);
        assert.equal(account.provider, "oidc");
        assert.equal(account.type, "oidc");
        assert.equal(account.providerAccountId, oidc.subjectFor(email));
        assert.ok(account.access_token, "access_token stored");
        assert.ok(account.refresh_token, "refresh_token stored");
        assert.ok(Number(account.expires_at) > Date.now() / 1000);
        // The validated id_token is the one issued for this client and this request's nonce.
        const idToken = decodeJwt(account.id_token);
        assert.equal(idToken.iss, oidc.issuer);
        assert.equal(idToken.aud, oidc.clientId);
        assert.equal(idToken.sub, oidc.subjectFor(email));
        assert.equal(idToken.nonce, nonce);

        const session = await (await client.get(`${F}/session`)).json();
        assert.equal(session.user.email, email);
        assert.equal(session.user.name, "Ada Lovelace");
        assert.equal(session.user.id, userId);
      },
    );

    await t.step("the stored refresh token is live at the provider", async () => {
      const [account] = await sql`select refresh_token from next_auth.accounts`;
      const response = await fetch(`${oidc.issuer}/token`, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Authorization: `Basic ${btoa(`${oidc.clientId}:${oidc.clientSecret}`)}`,
        },
        body: new URLSearchParams({
          grant_type: "refresh_token",
          refresh_token: account!.refresh_token,
        }),
      });
      const tokens = await response.json();
      assert.equal(response.status, 200, JSON.stringify(tokens));
      assert.ok(tokens.access_token);
      assert.equal(decodeJwt(tokens.id_token).sub, oidc.subjectFor(email));
    });

    await t.step("the provider requires PKCE from its client", async () => {
      const client = new Client();
      const authorize = await startOAuthSignIn(F, client);
      authorize.searchParams.delete("code_challenge");
      authorize.searchParams.delete("code_challenge_method");
      const response = await client.get(authorize);
      await response.body?.cancel();
      const location = new URL(response.headers.get("Location")!);
      assert.equal(`${location.origin}${location.pathname}`, `${F}/callback/oidc`);
      assert.equal(location.searchParams.get("error"), "invalid_request");
      assert.match(location.searchParams.get("error_description") ?? "", /requires PKCE/);
    });

    await t.step("signing in again finds the same user and account", async () => {
      const client = new Client();
      const response = await signInWithOidc(stack, client, { email });
      assert.equal(response.status, 302);
      const session = await (await client.get(`${F}/session`)).json();
      assert.equal(session.user.id, userId);
      const rows = await countRows(stack.databaseUrl);
      assert.equal(rows.users, 1);
      assert.equal(rows.accounts, 1);
    });

    await t.step("a denied consent ends on the sign-in page and writes nothing", async () => {
      const before = await countRows(stack.databaseUrl);
      const client = new Client();
      const response = await signInWithOidc(stack, client, {
        email: "denier@example.com",
        decision: "deny",
      });
      assertSignInError(response, F, "OAuthCallbackError", "access_denied");
      assert.equal(client.cookies.has("authjs.session-token"), false);
      assert.deepEqual(await countRows(stack.databaseUrl), before);
    });

    await t.step("a forged state is refused and writes nothing", async () => {
      const before = await countRows(stack.databaseUrl);
      const client = new Client();
      const authorize = await startOAuthSignIn(F, client);
      const callback = await authorizeAtProvider(client, authorize, {
        email: "forger@example.com",
      });
      callback.searchParams.set("state", "forged-state");
      const response = await client.get(callback);
      await response.body?.cancel();
      assertSignInError(response, F, "OAuthCallbackError", "oauth_state_invalid");
      assert.equal(client.cookies.has("authjs.session-token"), false);
      assert.deepEqual(await countRows(stack.databaseUrl), before);
    });

    await t.step(
      "a callback replayed in another browser (no state cookie) is refused",
      async () => {
        const before = await countRows(stack.databaseUrl);
        const victim = new Client();
        const authorize = await startOAuthSignIn(F, victim);
        const callback = await authorizeAtProvider(victim, authorize, {
          email: "victim@example.com",
        });
        const attacker = new Client();
        const response = await attacker.get(callback);
        await response.body?.cancel();
        assertSignInError(response, F, "OAuthCallbackError", "oauth_state_invalid");
        assert.equal(attacker.cookies.has("authjs.session-token"), false);
        assert.deepEqual(await countRows(stack.databaseUrl), before);
      },
    );

    await t.step("fetch clients get the provider URL as JSON", async () => {
      const client = new Client({ "X-Auth-Return-Redirect": "1" });
      const csrfToken = await client.csrfToken(F);
      const response = await client.postForm(`${F}/signin/oidc`, { csrfToken });
      assert.equal(response.status, 200);
      const { url } = await response.json();
      assert.ok(url.startsWith(`${oidc.issuer}/auth?`), url);
    });

    await t.step("the provider going down mid-sign-in ends in a clear error", async () => {
      const before = await countRows(stack.databaseUrl);
      const client = new Client();
      const authorize = await startOAuthSignIn(F, client);
      const callback = await authorizeAtProvider(client, authorize, {
        email: "late@example.com",
      });
      await oidc.stop();
      const response = await client.get(callback);
      await response.body?.cancel();
      assertSignInError(response, F, "OAuthCallbackError", "provider_unreachable");
      assert.equal(client.cookies.has("authjs.session-token"), false);
      assert.deepEqual(await countRows(stack.databaseUrl), before);
    });

    await t.step("a provider that is down cannot start a sign-in either", async () => {
      const before = await countRows(stack.databaseUrl);
      for (const headers of [{}, { "X-Auth-Return-Redirect": "1" }] as Record<string, string>[]) {
        const client = new Client(headers);
        const csrfToken = await client.csrfToken(F);
        const response = await client.postForm(`${F}/signin/oidc`, { csrfToken });
        const url = "X-Auth-Return-Redirect" in headers
          ? (await response.json()).url
          : response.headers.get("Location");
        const location = new URL(url);
        assert.equal(`${location.origin}${location.pathname}`, `${F}/signin`);
        assert.equal(location.searchParams.get("error"), "OAuthSignin");
        assert.equal(location.searchParams.get("code"), "provider_unreachable");
      }
      assert.deepEqual(await countRows(stack.databaseUrl), before);
    });
  } finally {
    await sql.end();
    await stack.stop();
  }
});
