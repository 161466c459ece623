/**
 * The first complete sign-in, over HTTP through the gateway: email (magic link) sent through
 * the real SMTP mail catcher, for both session strategies.
 */
import assert from "node:assert/strict";
import { connect, countRows } from "./support/db.ts";
import { linkIn, startMagicLinkSignIn } from "./support/email.ts";
import { Client } from "./support/http.ts";
import { type LocalStack, startTestStack } from "./support/stack.ts";

async function requestMagicLink(
  stack: LocalStack,
  client: Client,
  email: string,
) {
  await startMagicLinkSignIn(stack, client, email);
  const mail = await stack.mail.waitFor((m) => m.to.includes(email));
  assert.match(mail.subject, /^Sign in to /);
  return linkIn(mail.text);
}

for (const strategy of ["jwt", "database"] as const) {
  Deno.test(`magic link signs in, shows the session and signs out (${strategy} sessions)`, async (t) => {
    const stack = await startTestStack({ AUTH_SESSION_STRATEGY: strategy });
    const sql = connect(stack.databaseUrl);
    try {
      const client = new Client();
      const email = `ada.${strategy}@example.com`;
      let link!: URL;

      await t.step(
        "POST /signin/email sends a link to /callback/email",
        async () => {
          link = await requestMagicLink(stack, client, email);
          assert.equal(
            `${link.origin}${link.pathname}`,
            `${stack.functionsUrl}/callback/email`,
          );
          assert.equal(link.searchParams.get("email"), email);
          const [row] = await sql`select count(*)::int as n from next_auth.verification_tokens
          where identifier = ${email}`;
          assert.equal(row!.n, 1);
        },
      );

      await t.step(
        "a prefetching mail scanner (GET) consumes nothing",
        async () => {
          const scanner = new Client();
          const page = await scanner.get(link);
          assert.equal(page.status, 200);
          assert.match(page.headers.get("Content-Type")!, /text\/html/);
          assert.ok(
            (await page.text()).includes(
              `method="post" action="${link.href.replaceAll("&", "&#38;")}"`,
            ),
            "the page's button POSTs the same link",
          );
          const json = await scanner.get(link, { Accept: "application/json" });
          assert.deepEqual(await json.json(), {
            confirm: { method: "POST", url: link.href, fields: [] },
          });
          assert.equal(scanner.cookies.has("authjs.session-token"), false);
          const [tokens] = await sql`select count(*)::int as n from next_auth.verification_tokens
          where identifier = ${email}`;
          assert.equal(tokens!.n, 1, "the token is still there");
          const [users] = await sql`select count(*)::int as n from next_auth.users
          where email = ${email}`;
          assert.equal(users!.n, 0);
        },
      );

      let userId!: string;
      await t.step(
        "confirming (POST) sets a session cookie and redirects",
        async () => {
          const response = await client.postForm(link, {});
          assert.equal(response.status, 302);
          assert.equal(
            response.headers.get("Location"),
            `${stack.functionsUrl}/session`,
          );
          assert.ok(client.cookies.has("authjs.session-token"));
          const [user] = await sql`select * from next_auth.users where email = ${email}`;
          assert.ok(user, "user row created");
          assert.ok(
            user.emailVerified instanceof Date,
            "email marked verified",
          );
          userId = user.id;
          const [tokens] = await sql`select count(*)::int as n from next_auth.verification_tokens
          where identifier = ${email}`;
          assert.equal(tokens!.n, 0, "the token was consumed");
          const [sessions] = await sql`select count(*)::int as n from next_auth.sessions
          where "userId" = ${userId}`;
          assert.equal(sessions!.n, strategy === "database" ? 1 : 0);
        },
      );

      await t.step("GET /session returns the user with their id", async () => {
        const response = await client.get(`${stack.functionsUrl}/session`);
        assert.equal(response.status, 200);
        const session = await response.json();
        assert.equal(session.user.email, email);
        assert.equal(session.user.id, userId);
        assert.ok(Date.parse(session.expires) > Date.now());
        // Only the public shape: never the session token or other row fields.
        assert.deepEqual(Object.keys(session).sort(), ["expires", "user"]);
        assert.deepEqual(Object.keys(session.user).sort(), ["email", "id", "image", "name"]);
        assert.ok(!JSON.stringify(session).includes(client.cookies.get("authjs.session-token")!));
      });

      await t.step("the same link does not work twice", async () => {
        const fresh = new Client();
        const response = await fresh.postForm(link, {});
        assert.equal(response.status, 302);
        const location = new URL(response.headers.get("Location")!);
        assert.equal(
          location.pathname,
          new URL(`${stack.functionsUrl}/error`).pathname,
        );
        assert.equal(location.searchParams.get("error"), "Verification");
        assert.equal(fresh.cookies.has("authjs.session-token"), false);
      });

      await t.step("POST /signout ends the session", async () => {
        const csrfToken = await client.csrfToken(stack.functionsUrl);
        const response = await client.postForm(
          `${stack.functionsUrl}/signout`,
          { csrfToken },
        );
        assert.equal(response.status, 302);
        assert.equal(client.cookies.has("authjs.session-token"), false);
        const session = await (await client.get(`${stack.functionsUrl}/session`)).json();
        assert.equal(session, null);
        const [sessions] = await sql`select count(*)::int as n from next_auth.sessions
          where "userId" = ${userId}`;
        assert.equal(sessions!.n, 0);
      });
    } finally {
      await sql.end();
      await stack.stop();
    }
  });
}

Deno.test("fetch clients get JSON redirects with X-Auth-Return-Redirect", async () => {
  const stack = await startTestStack();
  try {
    const client = new Client({ "X-Auth-Return-Redirect": "1" });
    const csrfToken = await client.csrfToken(stack.functionsUrl);
    const response = await client.postForm(
      `${stack.functionsUrl}/signin/email`,
      {
        email: "json@example.com",
        csrfToken,
      },
    );
    assert.equal(response.status, 200);
    const { url } = await response.json();
    assert.ok(url.startsWith(`${stack.functionsUrl}/verify-request`));
    await stack.mail.waitFor((m) => m.to.includes("json@example.com"));
    const rows = await countRows(stack.databaseUrl);
    assert.equal(rows.verification_tokens, 1);
    assert.equal(rows.users, 0, "no user until the link is followed");
  } finally {
    await stack.stop();
  }
});

Deno.test("a magic link expires, and of concurrent confirmations exactly one signs in", async (t) => {
  const stack = await startTestStack();
  const sql = connect(stack.databaseUrl);
  try {
    await t.step("an expired link is refused and creates no user", async () => {
      const client = new Client();
      const email = "late@example.com";
      const link = await requestMagicLink(stack, client, email);
      await sql`update next_auth.verification_tokens set expires = now() - interval '1 second'
        where identifier = ${email}`;
      const response = await client.postForm(link, {});
      assert.equal(response.status, 302);
      const location = new URL(response.headers.get("Location")!);
      assert.equal(location.searchParams.get("error"), "Verification");
      assert.equal(client.cookies.has("authjs.session-token"), false);
      const [users] =
        await sql`select count(*)::int as n from next_auth.users where email = ${email}`;
      assert.equal(users!.n, 0);
    });

    await t.step("fetch clients: GET says where to POST, the POST answers JSON", async () => {
      const email = "race@example.com";
      const link = await requestMagicLink(stack, new Client(), email);
      const json = { "X-Auth-Return-Redirect": "1" };
      const prefetch = await new Client(json).get(link);
      assert.deepEqual((await prefetch.json()).confirm, {
        method: "POST",
        url: link.href,
        fields: [],
      });
      const clients = Array.from({ length: 4 }, () => new Client(json));
      const answers = await Promise.all(
        clients.map(async (c) => (await (await c.postForm(link, {})).json()).url as string),
      );
      const signedIn = clients.filter((c) => c.cookies.has("authjs.session-token"));
      assert.equal(signedIn.length, 1, "exactly one confirmation signs in");
      assert.equal(answers.filter((u) => u === `${stack.functionsUrl}/session`).length, 1);
      assert.equal(answers.filter((u) => u.includes("error=Verification")).length, 3);
    });
  } finally {
    await sql.end();
    await stack.stop();
  }
});
