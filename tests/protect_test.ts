/**
 * Protected functions through the gateway (`example-protected`, built on
 * `_shared/protect.ts`): after a real magic-link sign-in, the session cookie and the same
 * token as a bearer are accepted; tampered, expired and signed-out sessions get a 401.
 */
import assert from "node:assert/strict";
import { createSessionCodec } from "../supabase/functions/_shared/session_token.ts";
import { connect } from "./support/db.ts";
import { TEST_SECRET } from "./support/env.ts";
import { Client } from "./support/http.ts";
import { signInWithMagicLink } from "./support/sign_in.ts";
import { startTestStack } from "./support/stack.ts";

const COOKIE = "authjs.session-token";

function tamper(token: string): string {
  const at = Math.floor(token.length / 2);
  return token.slice(0, at) + (token[at] === "A" ? "B" : "A") + token.slice(at + 1);
}

for (const strategy of ["jwt", "database"] as const) {
  Deno.test(`requireSession() guards a function: cookie and bearer in, tampered and expired out (${strategy} sessions)`, async (t) => {
    const stack = await startTestStack({ AUTH_SESSION_STRATEGY: strategy });
    const sql = connect(stack.databaseUrl);
    const url = `${stack.functionsUrl}/example-protected`;
    const expectDenied = async (headers: HeadersInit, code: string) => {
      const response = await new Client().get(url, headers);
      assert.equal(response.status, 401);
      const body = await response.json();
      assert.equal(body.error, code);
      assert.equal(body.user, undefined);
    };
    try {
      const client = await signInWithMagicLink(stack, `guard.${strategy}@example.com`);
      const token = client.cookies.get(COOKIE)!;
      const [user] =
        await sql`select id from next_auth.users where email = ${`guard.${strategy}@example.com`}`;

      await t.step("the session cookie is accepted", async () => {
        const response = await client.get(url);
        assert.equal(response.status, 200);
        const body = await response.json();
        assert.equal(body.user.id, user!.id);
        assert.equal(body.user.email, `guard.${strategy}@example.com`);
      });

      await t.step("the same session as a bearer token is accepted", async () => {
        const response = await new Client().get(url, { Authorization: `Bearer ${token}` });
        assert.equal(response.status, 200);
        assert.equal((await response.json()).user.id, user!.id);
      });

      await t.step("no session, a tampered or an expired one get 401", async () => {
        await expectDenied({}, "session_missing");
        await expectDenied({ Cookie: `${COOKIE}=${tamper(token)}` }, "session_invalid");
        await expectDenied({ Authorization: `Bearer ${tamper(token)}` }, "session_invalid");
        if (strategy === "jwt") {
          const codec = createSessionCodec([TEST_SECRET], COOKIE);
          const expired = await codec.encode({ sub: user!.id, email: "x@example.com" }, -3600);
          await expectDenied({ Authorization: `Bearer ${expired}` }, "session_invalid");
        } else {
          await sql`update next_auth.sessions set expires = now() - interval '1 minute'
            where "sessionToken" = ${token}`;
          await expectDenied({ Cookie: `${COOKIE}=${token}` }, "session_invalid");
          await sql`update next_auth.sessions set expires = now() + interval '1 day'
            where "sessionToken" = ${token}`;
          assert.equal((await client.get(url)).status, 200, "valid again once extended");
        }
      });

      await t.step("after sign-out the old token no longer opens anything", async () => {
        const csrfToken = await client.csrfToken(stack.functionsUrl);
        await client.postForm(`${stack.functionsUrl}/signout`, { csrfToken });
        if (strategy === "database") {
          await expectDenied({ Cookie: `${COOKIE}=${token}` }, "session_invalid");
          await expectDenied({ Authorization: `Bearer ${token}` }, "session_invalid");
          const response = await new Client().get(`${stack.functionsUrl}/access-token`, {
            Authorization: `Bearer ${token}`,
          });
          assert.equal(response.status, 401, "no access token for a revoked session");
        } else {
          // A JWT session cannot be revoked server-side; the browser just loses its cookie.
          assert.equal(client.cookies.has(COOKIE), false);
          await expectDenied({}, "session_missing");
        }
      });
    } finally {
      await sql.end();
      await stack.stop();
    }
  });
}
