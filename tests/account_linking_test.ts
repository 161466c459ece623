/**
 * Account linking follows Auth.js's rules, over HTTP through the gateway with the real
 * OpenID provider: signing in with a provider whose email belongs to an existing user is
 * refused (`OAuthAccountNotLinked`) unless that provider allows it
 * (`AUTH_<ID>_ALLOW_EMAIL_LINKING=true`, Auth.js's `allowDangerousEmailAccountLinking`), or
 * the user is already signed in. The existing user is written as a magic-link sign-in
 * leaves it: a verified email and no OAuth account.
 */
import assert from "node:assert/strict";
import { encode } from "@auth/core/jwt";
import { connect, countRows } from "./support/db.ts";
import { TEST_SECRET } from "./support/env.ts";
import { Client } from "./support/http.ts";
import { signInWithOidc } from "./support/oidc.ts";
import { type LocalStack, startTestStack } from "./support/stack.ts";

const EMAIL = "grace@example.com";

async function createEmailUser(stack: LocalStack): Promise<string> {
  const sql = connect(stack.databaseUrl);
  try {
    const [user] = await sql`insert into next_auth.users (email, "emailVerified")
      values (${EMAIL}, now()) returning id`;
    return user!.id;
  } finally {
    await sql.end();
  }
}

async function accountsOf(stack: LocalStack) {
  const sql = connect(stack.databaseUrl);
  try {
    return await sql`select "userId", provider, "providerAccountId" from next_auth.accounts`;
  } finally {
    await sql.end();
  }
}

Deno.test("same email through a second provider: OAuthAccountNotLinked unless allowed", async (t) => {
  const stack = await startTestStack();
  const F = stack.functionsUrl;
  try {
    const userId = await createEmailUser(stack);

    await t.step("signing in with the OpenID provider is refused", async () => {
      const client = new Client();
      const response = await signInWithOidc(stack, client, { email: EMAIL });
      assert.equal(response.status, 302);
      const location = new URL(response.headers.get("Location")!);
      assert.equal(`${location.origin}${location.pathname}`, `${F}/signin`);
      assert.equal(location.searchParams.get("error"), "OAuthAccountNotLinked");
      assert.equal(client.cookies.has("authjs.session-token"), false);
      const rows = await countRows(stack.databaseUrl);
      assert.equal(rows.users, 1);
      assert.equal(rows.accounts, 0);
    });

    await t.step("a signed-in user links the provider to their account", async () => {
      const client = new Client();
      client.cookies.set(
        "authjs.session-token",
        await encode({
          token: { sub: userId, email: EMAIL },
          secret: TEST_SECRET,
          salt: "authjs.session-token",
        }),
      );
      const response = await signInWithOidc(stack, client, {
        email: EMAIL,
        callbackUrl: `${F}/session`,
      });
      assert.equal(response.headers.get("Location"), `${F}/session`);
      assert.deepEqual(
        (await accountsOf(stack)).map((a) => ({ ...a })),
        [{ userId, provider: "oidc", providerAccountId: stack.oidc!.subjectFor(EMAIL) }],
      );
    });
  } finally {
    await stack.stop();
  }
});

Deno.test("AUTH_OIDC_ALLOW_EMAIL_LINKING=true links by email (database sessions)", async () => {
  const stack = await startTestStack({
    AUTH_OIDC_ALLOW_EMAIL_LINKING: "true",
    AUTH_SESSION_STRATEGY: "database",
  });
  const F = stack.functionsUrl;
  try {
    const userId = await createEmailUser(stack);
    const client = new Client();
    const response = await signInWithOidc(stack, client, {
      email: EMAIL,
      callbackUrl: `${F}/session`,
    });
    assert.equal(response.headers.get("Location"), `${F}/session`);
    assert.deepEqual(
      (await accountsOf(stack)).map((a) => ({ ...a })),
      [{ userId, provider: "oidc", providerAccountId: stack.oidc!.subjectFor(EMAIL) }],
    );
    const rows = await countRows(stack.databaseUrl);
    assert.equal(rows.users, 1, "no second user");
    assert.equal(rows.sessions, 1, "a database session");
    const session = await (await client.get(`${F}/session`)).json();
    assert.equal(session.user.id, userId);
    assert.equal(session.user.email, EMAIL);
  } finally {
    await stack.stop();
  }
});
