/**
 * Faults and races: the database cut away (through a TCP proxy, so the shared server keeps
 * running) mid-flow and brought back; the same magic link used at once from many clients;
 * two sign-ins of one new user at once.
 */
import assert from "node:assert/strict";
import { connect } from "./support/db.ts";
import { linkFor, requestLink, signIn, signOut } from "./support/flows.ts";
import { Client } from "./support/http.ts";
import { startTestStack } from "./support/stack.ts";

const NO_LIMITS = {
  AUTH_RATE_LIMIT_EMAIL_ADDRESS: "off",
  AUTH_RATE_LIMIT_EMAIL_IP: "off",
  AUTH_RATE_LIMIT_SIGNIN_IP: "off",
  AUTH_RATE_LIMIT_CALLBACK_IP: "off",
};
const SESSION = "authjs.session-token";

async function assertUnavailable(response: Response, what: string) {
  const text = await response.text();
  assert.equal(response.status, 503, `${what}: ${response.status} ${text}`);
  assert.equal(JSON.parse(text).error, "service_unavailable", what);
  assert.ok(Number(response.headers.get("Retry-After")) >= 1, what);
  assert.ok(
    !response.headers.getSetCookie().some((c) => c.startsWith(SESSION)),
    `${what}: the session cookie is left alone`,
  );
}

Deno.test("the database going away gives 503s, then everything recovers without a restart", async (t) => {
  const lines: string[] = [];
  const stack = await startTestStack(
    // A short timeout: a connection cut during its handshake waits this long, then 503.
    { ...NO_LIMITS, AUTH_SESSION_STRATEGY: "database", AUTH_DB_TIMEOUT_MS: "2000" },
    { databaseProxy: true, log: (line) => lines.push(line) },
  );
  const proxy = stack.databaseProxy!;
  const sql = connect(stack.databaseUrl); // direct, not through the proxy
  const url = stack.functionsUrl;
  let outageRequests = 0;
  try {
    const client = new Client();
    await signIn(stack, client, "steady@example.com");
    const token = client.cookies.get(SESSION)!;
    const csrfToken = await client.csrfToken(url);
    const [before] = await sql`select * from next_auth.sessions where "sessionToken" = ${token}`;
    assert.ok(before);

    await t.step(
      "while the database is away: 503 service_unavailable, never 500 or null",
      async () => {
        proxy.cut();
        const attempts: [string, () => Promise<Response>][] = [
          ["GET /session", () => client.get(`${url}/session`)],
          [
            "POST /signin/email",
            () => client.postForm(`${url}/signin/email`, { csrfToken, email: "new@example.com" }),
          ],
          [
            "POST /callback/email",
            () => client.fetch(`${url}/callback/email?token=x&email=a%40b.c`, { method: "POST" }),
          ],
          ["POST /signout", () => client.postForm(`${url}/signout`, { csrfToken })],
        ];
        for (const [what, attempt] of attempts) {
          outageRequests++;
          await assertUnavailable(await attempt(), what);
        }
        assert.equal(client.cookies.get(SESSION), token, "the client still holds its session");
        // The functions that need no database keep answering.
        const csrf = await client.get(`${url}/csrf`);
        await csrf.body?.cancel();
        assert.equal(csrf.status, 200);
      },
    );

    await t.step("the database comes back: the same session works, nothing lost", async () => {
      await proxy.restore();
      const session = await (await client.get(`${url}/session`)).json();
      assert.equal(session?.user?.email, "steady@example.com");
      const [after] = await sql`select * from next_auth.sessions where "sessionToken" = ${token}`;
      assert.equal(after?.id, before.id);
      assert.equal(after?.userId, before.userId);
    });

    await t.step("cuts in the middle of concurrent requests: each answers 200 or 503", async () => {
      for (let round = 0; round < 5; round++) {
        const pending = Array.from({ length: 12 }, () => client.get(`${url}/session`));
        await new Promise((resolve) => setTimeout(resolve, round * 3));
        proxy.cut();
        const responses = await Promise.all(pending);
        await proxy.restore();
        for (const response of responses) {
          outageRequests++;
          if (response.status === 503) {
            await assertUnavailable(response, `round ${round}`);
          } else {
            assert.equal(response.status, 200);
            assert.equal((await response.json())?.user?.email, "steady@example.com");
          }
        }
      }
      const session = await (await client.get(`${url}/session`)).json();
      assert.equal(session?.user?.email, "steady@example.com");
    });

    await t.step("a new sign-in and sign-out work after the outages, rows intact", async () => {
      const other = new Client();
      await signIn(stack, other, "after@example.com");
      const out = await signOut(stack, other);
      await out.body?.cancel();
      const [rows] = await sql`select
        (select count(*)::int from next_auth.users) as users,
        (select count(*)::int from next_auth.sessions) as sessions`;
      assert.deepEqual({ ...rows }, { users: 2, sessions: 1 });
      assert.ok(!lines.some((l) => l.includes("Unexpected error")), lines.join("\n"));
      assert.ok(!lines.join("\n").includes(token), "no session token in the logs");
    });
    const dropped = lines.filter((l) => l.startsWith("Database connection lost")).length;
    console.log(
      `faults: ${proxy.faults} database outages injected, ${outageRequests} requests during or across them, 0 answered 5xx other than 503, 0 sessions lost, ${dropped} stray driver rejections survived`,
    );
  } finally {
    await sql.end();
    await stack.stop();
  }
});

Deno.test("one magic link used at once by many clients yields exactly one session", async () => {
  const stack = await startTestStack({ ...NO_LIMITS, AUTH_SESSION_STRATEGY: "database" });
  const sql = connect(stack.databaseUrl);
  try {
    const response = await requestLink(stack, new Client(), "race@example.com");
    await response.body?.cancel();
    const link = await linkFor(stack, "race@example.com");
    const clients = Array.from({ length: 8 }, () => new Client());
    const results = await Promise.all(clients.map((c) => c.fetch(link, { method: "POST" })));
    await Promise.all(results.map((r) => r.body?.cancel()));
    for (const r of results) assert.equal(r.status, 302);
    const signedIn = clients.filter((c) => c.cookies.has(SESSION));
    assert.equal(signedIn.length, 1, "exactly one client got a session");
    const [rows] = await sql`select
      (select count(*)::int from next_auth.users) as users,
      (select count(*)::int from next_auth.sessions) as sessions,
      (select count(*)::int from next_auth.verification_tokens) as tokens`;
    assert.deepEqual({ ...rows }, { users: 1, sessions: 1, tokens: 0 });
  } finally {
    await sql.end();
    await stack.stop();
  }
});

Deno.test("two sign-ins of one new user at once create exactly one user, and both succeed", async () => {
  const stack = await startTestStack(NO_LIMITS);
  const sql = connect(stack.databaseUrl);
  try {
    const email = "twins@example.com";
    const links: URL[] = [];
    for (let i = 0; i < 2; i++) {
      const after = stack.mail.messages().at(-1)?.id ?? 0;
      const response = await requestLink(stack, new Client(), email);
      await response.body?.cancel();
      links.push(await linkFor(stack, email, after));
    }
    const clients = [new Client(), new Client()];
    const results = await Promise.all(
      clients.map((c, i) => c.fetch(links[i]!, { method: "POST" })),
    );
    await Promise.all(results.map((r) => r.body?.cancel()));
    const users = await sql`select id from next_auth.users where email = ${email}`;
    assert.equal(users.length, 1, "exactly one user");
    for (const [i, client] of clients.entries()) {
      assert.equal(results[i]!.status, 302);
      const session = await (await client.get(`${stack.functionsUrl}/session`)).json();
      assert.equal(session?.user?.id, users[0]!.id, `sign-in ${i + 1} has the one user`);
    }
    const created = await sql`select count(*)::int as n from next_auth.audit_log
      where event = 'user_created'`;
    assert.equal(created[0]!.n, 1, "one user_created in the audit log");
  } finally {
    await sql.end();
    await stack.stop();
  }
});
