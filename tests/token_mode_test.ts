/**
 * Token mode over HTTP through the gateway: PKCE sign-in by magic link, one-time codes
 * exchanged for a bearer session, and `Authorization: Bearer` wherever the cookie works.
 */
import assert from "node:assert/strict";
import { base64url } from "jose";
import { connect } from "./support/db.ts";
import { Client } from "./support/http.ts";
import { type LocalStack, startTestStack } from "./support/stack.ts";

const FRONTEND = "http://app.localhost:5000";

async function pkce() {
  const verifier = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return { verifier, challenge: base64url.encode(new Uint8Array(digest)) };
}

/** Runs the token sign-in by magic link up to the code on the frontend's redirect URL. */
async function codeFor(stack: LocalStack, email: string, challenge: string): Promise<string> {
  const start = await fetch(`${stack.functionsUrl}/token/authorize`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: FRONTEND },
    body: JSON.stringify({
      provider: "email",
      email,
      code_challenge: challenge,
      redirect_uri: `${FRONTEND}/done`,
      state: "s1",
    }),
  });
  assert.equal(start.status, 200);
  assert.equal(start.headers.getSetCookie().length, 0, "no cookie for a fetch client");
  assert.match((await start.json()).url, /\/verify-request/);
  const mail = await stack.mail.waitFor((m) => m.to.includes(email));
  const link = mail.text.match(/https?:\/\/\S+/)![0];
  const browser = new Client();
  // The link's GET only asks for a click (scanner-safe); the POST signs in.
  const callback = await browser.fetch(link, { method: "POST" });
  assert.equal(callback.status, 302);
  const complete = new URL(callback.headers.get("Location")!);
  assert.equal(complete.pathname, "/functions/v1/token/complete");
  const done = await browser.get(complete);
  assert.equal(done.status, 302);
  const target = new URL(done.headers.get("Location")!);
  assert.equal(`${target.origin}${target.pathname}`, `${FRONTEND}/done`);
  assert.equal(target.searchParams.get("state"), "s1");
  assert.equal(
    browser.cookies.has("authjs.session-token"),
    false,
    "the cookie moved to the client",
  );
  return target.searchParams.get("code")!;
}

function exchange(stack: LocalStack, body: Record<string, string>) {
  return fetch(`${stack.functionsUrl}/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: FRONTEND },
    body: JSON.stringify({ redirect_uri: `${FRONTEND}/done`, ...body }),
  });
}

Deno.test("token mode: a code is exchanged once, with the right verifier only", async (t) => {
  const stack = await startTestStack({ AUTH_ALLOWED_ORIGINS: FRONTEND });
  const sql = connect(stack.databaseUrl);
  try {
    const { verifier, challenge } = await pkce();
    const code = await codeFor(stack, "tina@example.com", challenge);
    let sessionToken!: string;

    await t.step("the code is stored hashed, bound to challenge and origin", async () => {
      const rows = await sql`select * from next_auth.token_codes`;
      assert.equal(rows.length, 1);
      assert.notEqual(rows[0]!.code_hash, code);
      assert.equal(rows[0]!.code_challenge, challenge);
      assert.equal(rows[0]!.redirect_origin, FRONTEND);
      assert.ok(!JSON.stringify(rows[0]).includes(code));
    });

    await t.step("the right verifier gets a bearer session", async () => {
      const response = await exchange(stack, { code, code_verifier: verifier });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("Access-Control-Allow-Origin"), FRONTEND);
      const body = await response.json();
      assert.equal(body.tokenType, "Bearer");
      sessionToken = body.sessionToken;
      assert.ok(sessionToken.split(".").length === 5, "a JWE");
    });

    await t.step("the same code is refused the second time", async () => {
      const response = await exchange(stack, { code, code_verifier: verifier });
      assert.equal(response.status, 400);
      assert.equal((await response.json()).error, "invalid_grant");
    });

    await t.step("a wrong verifier is refused, and burns the code", async () => {
      const second = await pkce();
      const other = await codeFor(stack, "tina.two@example.com", second.challenge);
      const wrong = await exchange(stack, { code: other, code_verifier: verifier });
      assert.equal(wrong.status, 400);
      assert.match((await wrong.json()).message, /verifier does not match/);
      const retry = await exchange(stack, { code: other, code_verifier: second.verifier });
      assert.equal(retry.status, 400);
      await retry.body?.cancel();
    });

    await t.step("Bearer works for GET /session, with no cookie in the answer", async () => {
      const response = await fetch(`${stack.functionsUrl}/session`, {
        headers: { Authorization: `Bearer ${sessionToken}` },
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.getSetCookie().length, 0);
      const session = await response.json();
      assert.equal(session.user.email, "tina@example.com");
      // A fresh token is not re-issued (the fast path renews once per updateAge).
      assert.equal(session.sessionToken, undefined);
    });

    await t.step(
      "Bearer POST /session (update) needs no CSRF token, renews the token in JSON",
      async () => {
        const response = await fetch(`${stack.functionsUrl}/session`, {
          method: "POST",
          headers: { Authorization: `Bearer ${sessionToken}`, "Content-Type": "application/json" },
          body: JSON.stringify({ data: {} }),
        });
        assert.equal(response.status, 200);
        assert.equal(response.headers.getSetCookie().length, 0);
        const updated = await response.json();
        assert.equal(updated.user.email, "tina@example.com");
        assert.ok(typeof updated.sessionToken === "string", "the renewed token comes back in JSON");
      },
    );

    await t.step("a cookie POST /session still needs its CSRF token", async () => {
      const response = await fetch(`${stack.functionsUrl}/session`, {
        method: "POST",
        headers: {
          Cookie: `authjs.session-token=${sessionToken}`,
          "Content-Type": "application/json",
        },
        body: JSON.stringify({ data: {} }),
      });
      assert.equal(response.status, 403);
      await response.body?.cancel();
    });

    await t.step("Bearer POST /signout answers without cookies", async () => {
      const response = await fetch(`${stack.functionsUrl}/signout`, {
        method: "POST",
        headers: { Authorization: `Bearer ${sessionToken}`, "X-Auth-Return-Redirect": "1" },
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.getSetCookie().length, 0);
      assert.ok((await response.json()).url);
    });

    await t.step("a forged bearer token gets no session", async () => {
      const response = await fetch(`${stack.functionsUrl}/session`, {
        headers: { Authorization: `Bearer ${sessionToken.slice(0, -4)}AAAA` },
      });
      assert.equal(await response.json(), null);
    });
  } finally {
    await sql.end();
    await stack.stop();
  }
});

Deno.test("token mode: /token/complete finishes only the flow it was started for", async (t) => {
  const stack = await startTestStack({ AUTH_ALLOWED_ORIGINS: FRONTEND });
  try {
    // A victim with an ordinary cookie session on the functions' site.
    const victim = new Client();
    const csrfToken = await victim.csrfToken(stack.functionsUrl);
    await victim.postForm(`${stack.functionsUrl}/signin/email`, {
      csrfToken,
      email: "victim@example.com",
    });
    const mail = await stack.mail.waitFor((m) => m.to.includes("victim@example.com"));
    await victim.fetch(mail.text.match(/https?:\/\/\S+/)![0], { method: "POST" });
    assert.ok(victim.cookies.has("authjs.session-token"));

    await t.step("a crafted link without a sealed flow is refused", async () => {
      const { challenge } = await pkce();
      const crafted = new URL(`${stack.functionsUrl}/token/complete`);
      crafted.search = new URLSearchParams({
        code_challenge: challenge,
        redirect_uri: `${FRONTEND}/done`,
      }).toString();
      const response = await victim.get(crafted);
      assert.equal(response.status, 400);
      assert.equal((await response.json()).error, "invalid_flow");
    });

    await t.step("an attacker's sealed email flow gives the victim's session no code", async () => {
      const attacker = await pkce();
      const start = await fetch(`${stack.functionsUrl}/token/authorize`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          provider: "email",
          email: "mallory@example.com",
          code_challenge: attacker.challenge,
          redirect_uri: `${FRONTEND}/done`,
        }),
      });
      await start.body?.cancel();
      const mail = await stack.mail.waitFor((m) => m.to.includes("mallory@example.com"));
      const link = new URL(mail.text.match(/https?:\/\/\S+/)![0]);
      const complete = link.searchParams.get("callbackUrl")!;
      assert.match(complete, /\/token\/complete\?flow=/);
      const response = await victim.get(complete);
      assert.equal(response.status, 302);
      const target = new URL(response.headers.get("Location")!);
      assert.equal(target.searchParams.get("error"), "access_denied");
      assert.equal(target.searchParams.get("code"), null);
      assert.ok(victim.cookies.has("authjs.session-token"), "the victim's session stays put");
    });
  } finally {
    await stack.stop();
  }
});

Deno.test("token mode refuses redirect URIs outside the allow-list", async () => {
  const stack = await startTestStack({
    AUTH_ALLOWED_ORIGINS: FRONTEND,
    AUTH_TOKEN_REDIRECT_SCHEMES: "com.example.app",
  });
  try {
    const { challenge } = await pkce();
    const start = (redirect_uri: string) =>
      fetch(`${stack.functionsUrl}/token/authorize`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          provider: "email",
          email: "x@example.com",
          code_challenge: challenge,
          redirect_uri,
        }),
      });
    for (const bad of ["https://evil.test/cb", "javascript:alert(1)", "other.app:/cb"]) {
      const response = await start(bad);
      assert.equal(response.status, 400, bad);
      assert.equal((await response.json()).error, "invalid_redirect_uri");
    }
    const native = await start("com.example.app:/auth");
    assert.equal(native.status, 200);
    await native.body?.cancel();
  } finally {
    await stack.stop();
  }
});
