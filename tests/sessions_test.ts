/**
 * JWE sessions are exactly Auth.js's: `@auth/core/jwt` with the same secret and salt (the
 * session cookie's name) decodes the cookie the functions set, and a token it encodes is a
 * session the functions accept. Rotating secrets (`AUTH_SECRET_1` added) keeps old sessions
 * valid while new ones are encrypted with the new secret. All over HTTP through the gateway.
 */
import assert from "node:assert/strict";
import { decode, encode } from "@auth/core/jwt";
import { TEST_SECRET } from "./support/env.ts";
import { Client } from "./support/http.ts";
import { signInWithOidc } from "./support/oidc.ts";
import { startTestStack } from "./support/stack.ts";

const COOKIE = "authjs.session-token";
const NEW_SECRET = "rotated-secret-9876543210-ZYXWVUTSRQPONMLKJIHGFEDCBA";

async function sessionOf(functionsUrl: string, cookie: string) {
  const client = new Client();
  client.cookies.set(COOKIE, cookie);
  const response = await client.get(`${functionsUrl}/session`);
  assert.equal(response.status, 200);
  return { session: await response.json(), cookie: client.cookies.get(COOKIE) };
}

Deno.test("JWE sessions are Auth.js's own tokens, and secrets rotate", async (t) => {
  const first = await startTestStack({ AUTH_SESSION_STRATEGY: "jwt" });
  let oldCookie!: string;
  let userId!: string;
  try {
    await t.step("@auth/core/jwt decodes the session cookie the functions set", async () => {
      const client = new Client();
      const response = await signInWithOidc(first, client, { email: "jwe@example.com" });
      assert.equal(response.status, 302);
      oldCookie = client.cookies.get(COOKIE)!;
      assert.equal(oldCookie.split(".").length, 5, "a compact JWE");
      const payload = await decode({ token: oldCookie, secret: TEST_SECRET, salt: COOKIE });
      assert.ok(payload);
      assert.equal(payload.email, "jwe@example.com");
      userId = payload.sub!;
      const { session } = await sessionOf(first.functionsUrl, oldCookie);
      assert.equal(session.user.id, userId);
      // Another salt (the https cookie name) is another key.
      await assert.rejects(() =>
        decode({ token: oldCookie, secret: TEST_SECRET, salt: `__Secure-${COOKIE}` })
      );
    });

    await t.step("a token @auth/core/jwt encodes is a session the functions accept", async () => {
      const token = await encode({
        token: { sub: "8d7f0c52-4a3e-4f7b-9b58-2d1c6f0e9a11", email: "minted@example.com" },
        secret: TEST_SECRET,
        salt: COOKIE,
      });
      const { session } = await sessionOf(first.functionsUrl, token);
      assert.equal(session.user.email, "minted@example.com");
      assert.equal(session.user.id, "8d7f0c52-4a3e-4f7b-9b58-2d1c6f0e9a11");
      const forged = await encode({
        token: { sub: "x", email: "forged@example.com" },
        secret: NEW_SECRET,
        salt: COOKIE,
      });
      assert.equal((await sessionOf(first.functionsUrl, forged)).session, null);
    });
  } finally {
    await first.stop();
  }

  const rotated = await startTestStack({ AUTH_SECRET_1: NEW_SECRET });
  try {
    await t.step("with AUTH_SECRET_1 added, old sessions stay valid", async () => {
      const { session } = await sessionOf(rotated.functionsUrl, oldCookie);
      assert.equal(session.user.id, userId);
      assert.equal(session.user.email, "jwe@example.com");
    });

    await t.step("and new session tokens are encrypted with the new secret", async () => {
      const client = new Client();
      await signInWithOidc(rotated, client, { email: "fresh@example.com" });
      const { cookie: renewed } = await sessionOf(rotated.functionsUrl, oldCookie);
      for (const token of [client.cookies.get(COOKIE)!, renewed!]) {
        assert.ok(await decode({ token, secret: NEW_SECRET, salt: COOKIE }));
        await assert.rejects(() => decode({ token, secret: TEST_SECRET, salt: COOKIE }));
      }
    });
  } finally {
    await rotated.stop();
  }
});
