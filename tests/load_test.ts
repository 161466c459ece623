/**
 * A bounded load test on loopback: concurrent clients loop sign-in (magic link) → session →
 * sign-out for a fixed time, then every table is checked for lost or duplicated rows.
 *
 * `LOAD_SECONDS` (default 5) and `LOAD_CLIENTS` (default 8) make it longer or wider. It
 * prints requests made, throughput, errors and rows lost; nothing timed is asserted.
 */
import assert from "node:assert/strict";
import { connect } from "./support/db.ts";
import { linkFor } from "./support/flows.ts";
import { Client } from "./support/http.ts";
import { startTestStack } from "./support/stack.ts";

const SECONDS = Number(Deno.env.get("LOAD_SECONDS") ?? 5);
const CLIENTS = Number(Deno.env.get("LOAD_CLIENTS") ?? 8);

Deno.test(`load: ${CLIENTS} clients sign in, read the session and sign out for ${SECONDS} s`, async () => {
  const stack = await startTestStack({
    AUTH_SESSION_STRATEGY: "database",
    AUTH_RATE_LIMIT_EMAIL_ADDRESS: "off",
    AUTH_RATE_LIMIT_EMAIL_IP: "off",
    AUTH_RATE_LIMIT_SIGNIN_IP: "off",
    AUTH_RATE_LIMIT_CALLBACK_IP: "off",
  });
  const sql = connect(stack.databaseUrl);
  const url = stack.functionsUrl;
  let requests = 0;
  const errors: string[] = [];
  let signIns = 0;
  let signOuts = 0;
  const expect = async (what: string, response: Response, status: number) => {
    requests++;
    if (response.status !== status) {
      errors.push(`${what}: ${response.status} ${(await response.text()).slice(0, 200)}`);
      return false;
    }
    return true;
  };
  try {
    const deadline = Date.now() + SECONDS * 1000;
    const started = performance.now();
    await Promise.all(Array.from({ length: CLIENTS }, async (_, i) => {
      const email = `load-${i}@example.com`;
      const client = new Client({ "X-Forwarded-For": `10.0.0.${i + 1}` });
      while (Date.now() < deadline && errors.length === 0) {
        const after = stack.mail.messages().at(-1)?.id ?? 0;
        let csrfToken = await client.csrfToken(url);
        requests++;
        const start = await client.postForm(`${url}/signin/email`, { email, csrfToken });
        await start.body?.cancel();
        if (!await expect("POST /signin/email", start, 302)) break;
        const link = await linkFor(stack, email, after);
        const callback = await client.fetch(link, { method: "POST" });
        await callback.body?.cancel();
        if (!await expect("GET /callback/email", callback, 302)) break;
        signIns++;
        const session = await client.get(`${url}/session`);
        if (!await expect("GET /session", session, 200)) break;
        if ((await session.json())?.user?.email !== email) errors.push("session without user");
        csrfToken = await client.csrfToken(url);
        requests++;
        const out = await client.postForm(`${url}/signout`, { csrfToken });
        await out.body?.cancel();
        if (!await expect("POST /signout", out, 302)) break;
        signOuts++;
        const gone = await client.get(`${url}/session`);
        if (!await expect("GET /session (signed out)", gone, 200)) break;
        if (await gone.json() !== null) errors.push("session survived sign-out");
      }
    }));
    const elapsed = (performance.now() - started) / 1000;

    const [rows] = await sql`select
      (select count(*)::int from next_auth.users) as users,
      (select count(distinct email)::int from next_auth.users) as emails,
      (select count(*)::int from next_auth.sessions) as sessions,
      (select count(*)::int from next_auth.verification_tokens) as tokens,
      (select count(*)::int from next_auth.audit_log where event = 'signin') as signin_rows,
      (select count(*)::int from next_auth.audit_log where event = 'signout') as signout_rows,
      (select count(*)::int from next_auth.audit_log where event = 'user_created') as created_rows`;
    const lost = Math.abs(rows!.signin_rows - signIns) + Math.abs(rows!.signout_rows - signOuts) +
      Math.abs(rows!.created_rows - CLIENTS);
    const duplicated = rows!.users - rows!.emails + rows!.sessions + rows!.tokens;
    console.log(
      `load: ${CLIENTS} clients, ${elapsed.toFixed(1)} s, ${requests} requests made ` +
        `(${(requests / elapsed).toFixed(0)} req/s), ${signIns} sign-ins and ${signOuts} ` +
        `sign-outs, ${errors.length} errors, ${lost} audit rows lost, ${duplicated} rows ` +
        `duplicated or left behind (users ${rows!.users}, sessions ${rows!.sessions}, ` +
        `tokens ${rows!.tokens})`,
    );
    assert.deepEqual(errors, []);
    assert.ok(signIns >= CLIENTS, "every client signed in at least once");
    assert.equal(rows!.users, CLIENTS, "one user per client, none duplicated");
    assert.equal(rows!.emails, CLIENTS);
    assert.equal(rows!.sessions, 0, "every session row was removed at sign-out");
    assert.equal(rows!.tokens, 0, "every link was consumed");
    assert.equal(rows!.signin_rows, signIns, "one audit row per sign-in");
    assert.equal(rows!.signout_rows, signOuts, "one audit row per sign-out");
    assert.equal(rows!.created_rows, CLIENTS);
  } finally {
    await sql.end();
    await stack.stop();
  }
});
