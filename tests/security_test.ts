/**
 * Rate limits kept in Postgres, the audit log, security headers on every response, and no
 * secret or token in the audit trail or the functions' logs.
 */
import assert from "node:assert/strict";
import { connect } from "./support/db.ts";
import { TEST_SECRET } from "./support/env.ts";
import { linkFor, requestLink, signIn, signOut } from "./support/flows.ts";
import { Client } from "./support/http.ts";
import { startTestStack } from "./support/stack.ts";
import { createStore } from "../supabase/functions/_shared/store/mod.ts";

const FRONTEND = "http://app.localhost:3000";

async function assertLimited(response: Response, bucket?: string) {
  const body = await response.json();
  assert.equal(response.status, 429, JSON.stringify(body));
  assert.equal(body.error, "rate_limited");
  const retryAfter = Number(response.headers.get("Retry-After"));
  assert.ok(retryAfter >= 1, `Retry-After: ${retryAfter}`);
  if (bucket) assert.ok(retryAfter <= 3600);
  return retryAfter;
}

Deno.test("email sends are rate limited per address and per IP, in Postgres", async (t) => {
  const stack = await startTestStack({ AUTH_RATE_LIMIT_EMAIL_IP: "3/3600" });
  const sql = connect(stack.databaseUrl);
  const from = (ip: string) => new Client({ "X-Forwarded-For": ip });
  let requests = 0;
  const request = async (client: Client, email: string) => {
    requests++;
    return await requestLink(stack, client, email);
  };
  try {
    const alice = from("203.0.113.1");
    await t.step("one email per address per 60 s", async () => {
      const first = await request(alice, "a@example.com");
      assert.equal(first.status, 302);
      const retryAfter = await assertLimited(await request(alice, "a@example.com"), "email");
      assert.ok(retryAfter <= 60, `Retry-After ${retryAfter} within the 60 s gap`);
      // Another IP cannot get round the per-address gap, nor can a different spelling.
      await assertLimited(await request(from("203.0.113.9"), " A@Example.com "));
      assert.equal(stack.mail.messages().filter((m) => m.to.includes("a@example.com")).length, 1);
    });

    await t.step("30 emails an hour per IP by default, here 3", async () => {
      assert.equal((await request(alice, "b@example.com")).status, 302);
      assert.equal((await request(alice, "c@example.com")).status, 302);
      await assertLimited(await request(alice, "d@example.com"), "email");
      // Another IP is not limited (d@ itself was counted: a refused send uses its 60 s).
      assert.equal((await request(from("203.0.113.2"), "e@example.com")).status, 302);
      await assertLimited(await request(from("203.0.113.2"), "d@example.com"));
    });

    await t.step("concurrent requests for one address: exactly one email", async () => {
      const clients = Array.from({ length: 8 }, (_, i) => from(`198.51.100.${i + 1}`));
      const tokens = await Promise.all(clients.map((c) => c.csrfToken(stack.functionsUrl)));
      const responses = await Promise.all(clients.map((c, i) => {
        requests++;
        return c.postForm(`${stack.functionsUrl}/signin/email`, {
          email: "race@example.com",
          csrfToken: tokens[i]!,
        });
      }));
      const statuses = responses.map((r) => r.status).sort();
      await Promise.all(responses.map((r) => r.body?.cancel()));
      assert.deepEqual(statuses, [302, 429, 429, 429, 429, 429, 429, 429]);
      await linkFor(stack, "race@example.com");
      assert.equal(
        stack.mail.messages().filter((m) => m.to.includes("race@example.com")).length,
        1,
      );
    });

    await t.step("each refused window is audited once, with its bucket", async () => {
      const rows = await sql`select ip, detail from next_auth.audit_log
        where event = 'rate_limited' order by id`;
      const buckets = rows.map((r) => `${r.detail.bucket}@${r.ip}`);
      assert.ok(buckets.includes("email_address@203.0.113.1"), buckets.join());
      assert.ok(buckets.includes("email_ip@203.0.113.1"), buckets.join());
      assert.equal(buckets.filter((b) => b.startsWith("email_address")).length, 3);
      const [limits] = await sql`select hits from next_auth.rate_limits
        where bucket = 'email_address' and key = 'race@example.com'`;
      assert.equal(limits!.hits, 8, "every concurrent hit was counted, none lost");
    });
    console.log(
      `rate limits: ${requests} sign-in requests made, mail sent ${stack.mail.messages().length}`,
    );
  } finally {
    await sql.end();
    await stack.stop();
  }
});

Deno.test("callbacks are rate limited per IP, and rules can be set or switched off", async () => {
  const stack = await startTestStack({
    AUTH_RATE_LIMIT_CALLBACK_IP: "2/300",
    AUTH_RATE_LIMIT_EMAIL_ADDRESS: "off",
  });
  try {
    const client = new Client({ "X-Forwarded-For": "192.0.2.10" });
    const callback = `${stack.functionsUrl}/callback/email?token=nope&email=x%40example.com`;
    for (let i = 0; i < 2; i++) {
      // Confirming (POST) is what spends a link; its GET only shows a button.
      const response = await client.fetch(callback, { method: "POST" });
      await response.body?.cancel();
      assert.equal(response.status, 302, "a bad link is an error redirect, not a 429");
    }
    await assertLimited(await client.fetch(callback, { method: "POST" }));
    // Another client IP is not affected.
    const other = await new Client({ "X-Forwarded-For": "192.0.2.11" }).fetch(callback, {
      method: "POST",
    });
    await other.body?.cancel();
    assert.equal(other.status, 302);
    // email_address is off: the same address twice is fine.
    for (let i = 0; i < 2; i++) {
      const response = await requestLink(stack, client, "twice@example.com");
      await response.body?.cancel();
      assert.equal(response.status, 302);
    }
  } finally {
    await stack.stop();
  }
});

Deno.test("the audit log records sign-in, sign-out, user creation and failures, never a token", async (t) => {
  const lines: string[] = [];
  const stack = await startTestStack({}, { log: (line) => lines.push(line) });
  const sql = connect(stack.databaseUrl);
  const headers = { "X-Forwarded-For": "198.51.100.7", "User-Agent": "audit-test/1.0" };
  try {
    const client = new Client(headers);
    const email = "audit@example.com";
    const link = await signIn(stack, client, email);
    const sessionCookie = client.cookies.get("authjs.session-token")!;
    const csrfCookie = client.cookies.get("authjs.csrf-token")!;
    const session = await (await client.get(`${stack.functionsUrl}/session`)).json();
    assert.equal(session.user.email, email);
    const out = await signOut(stack, client);
    await out.body?.cancel();
    const reused = await new Client(headers).fetch(link, { method: "POST" });
    await reused.body?.cancel();
    const [user] = await sql`select id from next_auth.users where email = ${email}`;

    await t.step("one row per event, with user, IP, user agent and provider", async () => {
      const rows = await sql`select event, user_id, ip, user_agent, provider, detail
        from next_auth.audit_log order by id`;
      assert.deepEqual(rows.map((r) => r.event), [
        "user_created",
        "signin",
        "signout",
        "signin_failed",
      ]);
      for (const row of rows) {
        assert.equal(row.ip, "198.51.100.7");
        assert.equal(row.user_agent, "audit-test/1.0");
      }
      assert.deepEqual(rows.slice(0, 3).map((r) => r.user_id), [user!.id, user!.id, user!.id]);
      assert.equal(rows[1]!.provider, "email");
      assert.deepEqual(rows[1]!.detail, { type: "email", newUser: true });
      assert.deepEqual(rows[3]!.detail, { error: "Verification", action: "callback" });
      assert.equal(rows[3]!.user_id, null);
    });

    await t.step("no token, cookie or secret in the audit log or the logs", async () => {
      const [dump] = await sql`select coalesce(string_agg(
        concat_ws('|', event, user_id, ip, user_agent, provider, detail::text), E'\\n'), '') as text
        from next_auth.audit_log`;
      const haystacks = { audit: dump!.text as string, logs: lines.join("\n") };
      const secrets = {
        "link token": link.searchParams.get("token")!,
        "session cookie": sessionCookie,
        "csrf cookie": csrfCookie.split("|")[0]!,
        "AUTH_SECRET": TEST_SECRET,
      };
      for (const [where, text] of Object.entries(haystacks)) {
        for (const [what, secret] of Object.entries(secrets)) {
          assert.ok(secret.length > 16);
          assert.ok(!text.includes(secret), `${what} in the ${where}`);
        }
      }
      assert.ok(lines.length > 0, "the failed link was logged");
    });
  } finally {
    await sql.end();
    await stack.stop();
  }
});

Deno.test("every response carries the security headers, errors and preflight included", async () => {
  const stack = await startTestStack({
    AUTH_ALLOWED_ORIGINS: FRONTEND,
    AUTH_RATE_LIMIT_CALLBACK_IP: "1/300",
  });
  const url = stack.functionsUrl;
  try {
    const client = new Client({ "X-Forwarded-For": "192.0.2.99" });
    const csrfToken = await client.csrfToken(url);
    const cases: [string, Promise<Response>][] = [
      ["GET /csrf", client.get(`${url}/csrf`)],
      ["GET /session", client.get(`${url}/session`)],
      ["GET /providers", client.get(`${url}/providers`)],
      ["GET /signin (page)", client.get(`${url}/signin`)],
      ["POST /signin/email (302)", requestLink(stack, client, "h@example.com")],
      ["POST /signout (403)", client.postForm(`${url}/signout`, {})],
      ["DELETE /session (405)", client.fetch(`${url}/session`, { method: "DELETE" })],
      ["GET /session/x (404)", client.get(`${url}/session/x`)],
      [
        "OPTIONS allowed (204)",
        client.fetch(`${url}/session`, { method: "OPTIONS", headers: { Origin: FRONTEND } }),
      ],
      [
        "OPTIONS refused (403)",
        client.fetch(`${url}/session`, {
          method: "OPTIONS",
          headers: { Origin: "https://evil.example" },
        }),
      ],
      [
        "POST bad JSON (400)",
        client.fetch(`${url}/signin/email`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: "{",
        }),
      ],
      ["GET /error", client.get(`${url}/error?error=Verification`)],
    ];
    for (const [name, pending] of cases) {
      const response = await pending;
      await response.body?.cancel();
      assert.match(response.headers.get("Cache-Control") ?? "", /no-store/, name);
      assert.equal(response.headers.get("X-Content-Type-Options"), "nosniff", name);
      assert.equal(response.headers.get("Referrer-Policy"), "no-referrer", name);
    }
    void csrfToken;
    // And on a 429.
    await (await client.fetch(`${url}/callback/email?token=a`, { method: "POST" })).body?.cancel();
    const limited = await client.fetch(`${url}/callback/email?token=b`, { method: "POST" });
    await limited.body?.cancel();
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get("X-Content-Type-Options"), "nosniff");
    assert.match(limited.headers.get("Cache-Control") ?? "", /no-store/);
  } finally {
    await stack.stop();
  }
});

Deno.test("deleting a user removes their sessions, accounts, authenticators and pending links", async () => {
  const stack = await startTestStack({
    AUTH_SESSION_STRATEGY: "database",
    AUTH_RATE_LIMIT_EMAIL_ADDRESS: "off",
  });
  const sql = connect(stack.databaseUrl);
  const store = createStore(stack.config);
  try {
    const email = "leaving@example.com";
    const client = new Client();
    await signIn(stack, client, email);
    const pending = await requestLink(stack, new Client(), email);
    await pending.body?.cancel();
    const [user] = await sql`select id from next_auth.users where email = ${email}`;
    await store.linkAccount({
      userId: user!.id,
      type: "oidc",
      provider: "dev",
      providerAccountId: "leaving",
      access_token: "at-secret",
    });
    const count = () =>
      sql`select
        (select count(*)::int from next_auth.sessions where "userId" = ${user!.id}) as sessions,
        (select count(*)::int from next_auth.accounts where "userId" = ${user!.id}) as accounts,
        (select count(*)::int from next_auth.verification_tokens where identifier = ${email})
          as links`;
    assert.deepEqual({ ...(await count())[0] }, { sessions: 1, accounts: 1, links: 1 });
    assert.equal((await store.deleteUser(user!.id))?.email, email);
    assert.deepEqual({ ...(await count())[0] }, { sessions: 0, accounts: 0, links: 0 });
    const session = await (await client.get(`${stack.functionsUrl}/session`)).json();
    assert.equal(session, null, "the deleted user's session no longer reads");
  } finally {
    await sql.end();
    await stack.stop();
  }
});
