/**
 * Session management: a signed-in user lists their (database) sessions with device and last
 * seen, revokes one, or all others; nobody else's; cookie POSTs need the CSRF token.
 */
import assert from "node:assert/strict";
import { Client } from "./support/http.ts";
import { signInWithMagicLink } from "./support/sign_in.ts";
import { startTestStack } from "./support/stack.ts";

interface Listed {
  id: string;
  userAgent: string | null;
  ip: string | null;
  lastSeenAt: string;
  current: boolean;
}

Deno.test("a user lists their sessions and revokes one or all others", async (t) => {
  const stack = await startTestStack(
    { AUTH_SESSION_STRATEGY: "database", AUTH_RATE_LIMIT_EMAIL_ADDRESS: "off" },
    { oidc: false },
  );
  const url = `${stack.functionsUrl}/account/sessions`;
  try {
    const laptop = new Client({ "User-Agent": "Laptop/1.0", "X-Forwarded-For": "192.0.2.1" });
    const phone = new Client({ "User-Agent": "Phone/2.0", "X-Forwarded-For": "192.0.2.2" });
    const tablet = new Client({ "User-Agent": "Tablet/3.0", "X-Forwarded-For": "192.0.2.3" });
    for (const device of [laptop, phone, tablet]) {
      await signInWithMagicLink(stack, "many@example.com", device);
    }
    const stranger = await signInWithMagicLink(stack, "stranger@example.com");
    const list = async (client: Client) => {
      const response = await client.get(url);
      assert.equal(response.status, 200);
      return (await response.json()).sessions as Listed[];
    };
    const revoke = async (client: Client, path: string, fields: Record<string, string> = {}) => {
      const csrfToken = await client.csrfToken(stack.functionsUrl);
      return client.postForm(`${url}/${path}`, { csrfToken, ...fields });
    };

    let sessions!: Listed[];
    await t.step("GET /account/sessions lists every device, the current one marked", async () => {
      sessions = await list(laptop);
      assert.equal(sessions.length, 3);
      assert.deepEqual(
        sessions.map((s) => s.userAgent).sort(),
        ["Laptop/1.0", "Phone/2.0", "Tablet/3.0"],
      );
      const current = sessions.filter((s) => s.current);
      assert.equal(current.length, 1);
      assert.equal(current[0]!.userAgent, "Laptop/1.0");
      assert.equal(current[0]!.ip, "192.0.2.1");
      assert.ok(Date.parse(current[0]!.lastSeenAt) <= Date.now());
      const text = JSON.stringify(sessions);
      assert.ok(!text.includes(laptop.cookies.get("authjs.session-token")!), "no session token");
    });

    await t.step("a cookie POST without the CSRF token is refused", async () => {
      const response = await laptop.postForm(`${url}/revoke-others`, {});
      assert.equal(response.status, 403);
      assert.equal((await response.json()).error, "csrf_token_missing");
      assert.equal((await list(laptop)).length, 3);
    });

    await t.step("nobody revokes another user's session", async () => {
      const phoneId = sessions.find((s) => s.userAgent === "Phone/2.0")!.id;
      const response = await revoke(stranger, "revoke", { id: phoneId });
      assert.equal(response.status, 404);
      assert.equal((await response.json()).error, "session_not_found");
      assert.equal((await list(phone)).length, 3);
    });

    await t.step("revoking one session signs that device out", async () => {
      const phoneId = sessions.find((s) => s.userAgent === "Phone/2.0")!.id;
      const response = await revoke(laptop, "revoke", { id: phoneId });
      assert.deepEqual(await response.json(), { revoked: 1, current: false });
      const session = await (await phone.get(`${stack.functionsUrl}/session`)).json();
      assert.equal(session, null, "the phone is signed out");
      assert.equal((await list(laptop)).length, 2);
    });

    await t.step("revoke-others keeps only the current session", async () => {
      const response = await revoke(laptop, "revoke-others");
      assert.deepEqual(await response.json(), { revoked: 1 });
      const left = await list(laptop);
      assert.equal(left.length, 1);
      assert.equal(left[0]!.current, true);
      assert.equal(await (await tablet.get(`${stack.functionsUrl}/session`)).json(), null);
      const mine = await (await laptop.get(`${stack.functionsUrl}/session`)).json();
      assert.equal(mine.user.email, "many@example.com");
      assert.equal((await list(stranger)).length, 1, "other users keep their sessions");
    });

    await t.step("signed out: 401", async () => {
      const response = await new Client().get(url);
      assert.equal(response.status, 401);
      assert.equal((await response.json()).error, "session_missing");
    });
  } finally {
    await stack.stop();
  }
});

Deno.test("with JWT sessions there is nothing server-side to manage: 409", async () => {
  const stack = await startTestStack({}, { oidc: false });
  try {
    const client = await signInWithMagicLink(stack, "jwt@example.com");
    const response = await client.get(`${stack.functionsUrl}/account/sessions`);
    assert.equal(response.status, 409);
    assert.equal((await response.json()).error, "session_management_unavailable");
  } finally {
    await stack.stop();
  }
});
