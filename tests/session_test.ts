/**
 * The session action's behaviour, asserted on both paths — the fast path and Auth.js's own
 * (`AUTH_SESSION_FAST_PATH=false`) — for JWT and database sessions, over HTTP through the
 * gateway. Tokens are made and checked with `@auth/core/jwt`, so both sides stay
 * byte-compatible with Auth.js.
 */
import assert from "node:assert/strict";
import { decode, encode } from "@auth/core/jwt";
import { connect } from "./support/db.ts";
import { TEST_SECRET } from "./support/env.ts";
import { Client } from "./support/http.ts";
import { type LocalStack, startTestStack } from "./support/stack.ts";

const COOKIE = "authjs.session-token";
const DAY = 24 * 60 * 60;

function setCookie(response: Response, name = COOKIE): string | undefined {
  return response.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
}

async function getSession(stack: LocalStack, headers: HeadersInit = {}) {
  const response = await new Client().get(`${stack.functionsUrl}/session`, headers);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("Cache-Control") ?? "", /no-store/);
  // One JSON content type (not a list, as two Content-Type headers would read).
  assert.match(
    response.headers.get("Content-Type") ?? "",
    /^application\/json(;\s*charset=utf-8)?$/i,
  );
  return { response, body: await response.json() };
}

for (const fast of [true, false]) {
  const path = fast ? "fast path" : "Auth.js path";

  Deno.test(`GET /session, JWT sessions (${path})`, async (t) => {
    const stack = await startTestStack({ AUTH_SESSION_FAST_PATH: String(fast) });
    const sql = connect(stack.databaseUrl);
    try {
      const [user] = await sql`insert into next_auth.users (email, name)
        values ('jwt@example.com', 'Jay') returning id`;
      const claims = { sub: user!.id, email: "jwt@example.com", name: "Jay", picture: null };
      const mint = (maxAge = 3600) =>
        encode({ token: claims, secret: TEST_SECRET, salt: COOKIE, maxAge });

      await t.step("no cookie: null", async () => {
        const { body, response } = await getSession(stack);
        assert.equal(body, null);
        assert.equal(setCookie(response), undefined);
      });

      await t.step("a token Auth.js made: the user, with their id", async () => {
        const { body } = await getSession(stack, { Cookie: `${COOKIE}=${await mint()}` });
        assert.deepEqual(body.user, {
          id: user!.id,
          email: "jwt@example.com",
          name: "Jay",
          image: null,
        });
        assert.ok(Date.parse(body.expires) > Date.now());
      });

      await t.step(
        "garbage, tampered and expired tokens: null and the cookie cleared",
        async () => {
          const good = await mint();
          const parts = good.split(".");
          parts[3] = parts[3]!.slice(0, -4) + (parts[3]!.endsWith("AAAA") ? "BBBB" : "AAAA");
          for (const token of ["garbage", parts.join("."), await mint(-60)]) {
            const { body, response } = await getSession(stack, { Cookie: `${COOKIE}=${token}` });
            assert.equal(body, null);
            const cleared = setCookie(response);
            assert.ok(cleared, "the broken cookie is cleared");
            assert.match(cleared!, /Max-Age=0|Expires=Thu, 01 Jan 1970/);
          }
        },
      );

      await t.step("a re-issued token decodes with Auth.js and keeps the claims", async () => {
        const { response } = await getSession(stack, {
          Cookie: `${COOKIE}=${await encodeOld(claims)}`,
        });
        const cookie = setCookie(response);
        assert.ok(cookie, "an old session is re-issued (sliding expiry)");
        assert.match(cookie!, /HttpOnly/);
        assert.match(cookie!, /SameSite=Lax/);
        const token = decodeURIComponent(cookie!.split(";")[0]!.slice(COOKIE.length + 1));
        const payload = await decode({ token, secret: TEST_SECRET, salt: COOKIE });
        assert.equal(payload?.sub, user!.id);
        assert.ok(payload!.exp! - Math.floor(Date.now() / 1000) > 29 * DAY);
      });
    } finally {
      await sql.end();
      await stack.stop();
    }
  });

  Deno.test(`GET /session, database sessions (${path})`, async (t) => {
    const stack = await startTestStack({
      AUTH_SESSION_FAST_PATH: String(fast),
      AUTH_SESSION_STRATEGY: "database",
    });
    const sql = connect(stack.databaseUrl);
    try {
      const [user] = await sql`insert into next_auth.users (email) values ('db@example.com')
        returning id`;
      const session = async (token: string, expiresInMs: number) => {
        await sql`insert into next_auth.sessions ("sessionToken", "userId", expires)
          values (${token}, ${user!.id}, ${new Date(Date.now() + expiresInMs)})`;
      };

      await t.step("a live session: the user, no write when not due", async () => {
        await session("live-token", 30 * DAY * 1000 - 60_000);
        const [before] = await sql`select expires from next_auth.sessions
          where "sessionToken" = 'live-token'`;
        const { body } = await getSession(stack, { Cookie: `${COOKIE}=live-token` });
        assert.equal(body.user.id, user!.id);
        assert.equal(body.user.email, "db@example.com");
        assert.ok(!JSON.stringify(body).includes("live-token"), "never echoes the token");
        const [after] = await sql`select expires from next_auth.sessions
          where "sessionToken" = 'live-token'`;
        assert.equal(after!.expires.valueOf(), before!.expires.valueOf());
      });

      await t.step("a session due for update is extended", async () => {
        await session("due-token", 2 * DAY * 1000);
        const { body, response } = await getSession(stack, { Cookie: `${COOKIE}=due-token` });
        assert.equal(body.user.id, user!.id);
        const [row] = await sql`select expires from next_auth.sessions
          where "sessionToken" = 'due-token'`;
        assert.ok(row!.expires.valueOf() > Date.now() + 29 * DAY * 1000);
        assert.ok(setCookie(response));
      });

      await t.step("an expired session: null, row deleted, cookie cleared", async () => {
        await session("old-token", -60_000);
        const { body, response } = await getSession(stack, { Cookie: `${COOKIE}=old-token` });
        assert.equal(body, null);
        const rows = await sql`select 1 from next_auth.sessions where "sessionToken" = 'old-token'`;
        assert.equal(rows.length, 0);
        assert.ok(setCookie(response));
      });

      await t.step("an unknown token: null and the cookie cleared", async () => {
        const { body, response } = await getSession(stack, { Cookie: `${COOKIE}=nope` });
        assert.equal(body, null);
        assert.ok(setCookie(response));
      });

      await t.step("many users at once: each gets their own session", async () => {
        // Concurrent lookups share queries on the fast path (session_lookup.ts): the answers
        // must still be each token's own, unknown tokens included.
        const users = await sql`insert into next_auth.users (email)
          select 'many' || g || '@example.com' from generate_series(1, 40) g returning id, email`;
        for (const [i, u] of users.entries()) {
          await sql`insert into next_auth.sessions ("sessionToken", "userId", expires)
            values (${`many-${i}`}, ${u.id}, ${new Date(Date.now() + 30 * DAY * 1000)})`;
        }
        const answers = await Promise.all(
          [...users.keys(), -1, 3, 3].map((i) =>
            getSession(stack, { Cookie: `${COOKIE}=many-${i}` }).then(({ body }) => ({ i, body }))
          ),
        );
        for (const { i, body } of answers) {
          if (i === -1) assert.equal(body, null);
          else assert.equal(body.user.email, users[i]!.email, `token many-${i}`);
        }
      });

      await t.step("a deleted session is refused on the next request", async () => {
        await session("revoked-token", 30 * DAY * 1000 - 60_000);
        assert.equal(
          (await getSession(stack, { Cookie: `${COOKIE}=revoked-token` })).body.user.id,
          user!.id,
        );
        await sql`delete from next_auth.sessions where "sessionToken" = 'revoked-token'`;
        const { body } = await getSession(stack, { Cookie: `${COOKIE}=revoked-token` });
        assert.equal(body, null);
      });
    } finally {
      await sql.end();
      await stack.stop();
    }
  });
}

/**
 * A token whose `iat` is two days old (Auth.js's encode() always stamps now), made per the
 * spec with WebCrypto HKDF and jose.
 */
async function encodeOld(claims: Record<string, unknown>): Promise<string> {
  const { EncryptJWT, base64url, calculateJwkThumbprint } = await import("jose");
  const material = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(TEST_SECRET),
    "HKDF",
    false,
    ["deriveBits"],
  );
  const key = new Uint8Array(
    await crypto.subtle.deriveBits(
      {
        name: "HKDF",
        hash: "SHA-256",
        salt: new TextEncoder().encode(COOKIE),
        info: new TextEncoder().encode(`Auth.js Generated Encryption Key (${COOKIE})`),
      },
      material,
      512,
    ),
  );
  const kid = await calculateJwkThumbprint({ kty: "oct", k: base64url.encode(key) }, "sha512");
  const now = Math.floor(Date.now() / 1000);
  return await new EncryptJWT(claims)
    .setProtectedHeader({ alg: "dir", enc: "A256CBC-HS512", kid })
    .setIssuedAt(now - 2 * DAY)
    .setExpirationTime(now + DAY)
    .setJti(crypto.randomUUID())
    .encrypt(key);
}
