import assert from "node:assert/strict";
import { decode, encode } from "@auth/core/jwt";
import { createSessionCodec, readSessionToken, sessionCookieName } from "./session_token.ts";

const SECRET = "session-token-test-secret-0123456789abcdef";
const SALT = "authjs.session-token";

Deno.test("createSessionCodec() decodes what Auth.js encodes, and the other way round", async () => {
  const codec = createSessionCodec([SECRET], SALT);
  const fromAuthjs = await encode({
    token: { sub: "user-1", email: "a@example.com" },
    secret: SECRET,
    salt: SALT,
  });
  assert.equal((await codec.decode(fromAuthjs))?.sub, "user-1");

  const ours = await codec.encode({ sub: "user-2", name: "Ada" }, 3600);
  const decoded = await decode({ token: ours, secret: SECRET, salt: SALT });
  assert.equal(decoded?.sub, "user-2");
  assert.equal(decoded?.name, "Ada");
  assert.ok(decoded?.exp && decoded.exp - Math.floor(Date.now() / 1000) > 3590);
});

Deno.test("createSessionCodec() accepts every rotated secret and signs with the newest", async () => {
  const old = await encode({ token: { sub: "old" }, secret: SECRET, salt: SALT });
  const codec = createSessionCodec(["a-newer-secret-value-0123456789-abcdef", SECRET], SALT);
  assert.equal((await codec.decode(old))?.sub, "old");
  const fresh = await codec.encode({ sub: "new" }, 60);
  assert.equal(await decode({ token: fresh, secret: SECRET, salt: SALT }).catch(() => null), null);
});

Deno.test("createSessionCodec() rejects tampered, expired, foreign-salt and garbage tokens", async () => {
  const codec = createSessionCodec([SECRET], SALT);
  const token = await codec.encode({ sub: "u" }, 60);
  const parts = token.split(".");
  const tampered = [...parts];
  tampered[3] = tampered[3]!.slice(0, -2) + (tampered[3]!.endsWith("A") ? "BB" : "AA");
  assert.equal(await codec.decode(tampered.join(".")), null);
  const expired = await codec.encode({ sub: "u" }, -60);
  assert.equal(await codec.decode(expired), null);
  const otherSalt = createSessionCodec([SECRET], "__Secure-authjs.session-token");
  assert.equal(await otherSalt.decode(token), null);
  for (const garbage of ["", "x", "a.b.c.d.e", "🙂".repeat(10), token + "."]) {
    assert.equal(await codec.decode(garbage), null);
  }
});

Deno.test("readSessionToken() takes a bearer token, a cookie, or the cookie's chunks", () => {
  const name = sessionCookieName(new URL("http://127.0.0.1/functions/v1"));
  assert.equal(name, "authjs.session-token");
  assert.equal(
    sessionCookieName(new URL("https://x.supabase.co/functions/v1")),
    "__Secure-authjs.session-token",
  );
  const req = (headers: HeadersInit) => new Request("http://x/session", { headers });
  assert.equal(readSessionToken(req({ Authorization: "Bearer abc" }), name), "abc");
  assert.equal(readSessionToken(req({ Cookie: `${name}=whole; other=1` }), name), "whole");
  assert.equal(readSessionToken(req({ Cookie: `${name}.0=ab; ${name}.1=cd` }), name), "abcd");
  assert.equal(readSessionToken(req({ Cookie: "other=1" }), name), undefined);
  assert.equal(readSessionToken(req({ Authorization: "Basic abc" }), name), undefined);
  assert.equal(readSessionToken(req({ Cookie: `${name}=${"x".repeat(70_000)}` }), name), undefined);
});

Deno.test("createSessionCodec() agrees with Auth.js's decode on valid and tampered tokens", async () => {
  const codec = createSessionCodec([SECRET], SALT);
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  let tried = 0;
  for (let i = 0; i < 60; i++) {
    const token = await encode({
      token: { sub: `user-${i}`, name: "x".repeat(i * 7) },
      secret: SECRET,
      salt: SALT,
      maxAge: i % 10 === 0 ? -100 : 3600,
    });
    const variants = [token];
    for (let j = 0; j < 5; j++) {
      const parts = token.split(".");
      const which = Math.floor(random() * parts.length);
      const part = parts[which]!;
      const at = Math.floor(random() * Math.max(part.length, 1));
      const replacement = alphabet[Math.floor(random() * alphabet.length)]!;
      parts[which] = part.slice(0, at) + replacement + part.slice(at + 1);
      variants.push(parts.join("."));
    }
    for (const variant of variants) {
      tried++;
      const expected = await decode({ token: variant, secret: SECRET, salt: SALT }).catch(() =>
        null
      );
      assert.deepEqual(await codec.decode(variant), expected, `variant ${tried}`);
    }
  }
  assert.equal(tried, 360);
});

Deno.test("createSessionCodec() refuses a token whose authentication tag was altered", async () => {
  const token = await encode({ token: { sub: "early" }, secret: SECRET, salt: SALT });
  const codec = createSessionCodec([SECRET], SALT, { cacheSize: 0 });
  assert.equal((await codec.decode(token))?.sub, "early");
  const parts = token.split(".");
  parts[4] = parts[4]!.slice(0, -2) + (parts[4]!.endsWith("AA") ? "BB" : "AA");
  assert.equal(await codec.decode(parts.join(".")), null);
});

Deno.test("createSessionCodec() caches opened tokens but re-checks expiry and hands out copies", async () => {
  const codec = createSessionCodec([SECRET], SALT, { cacheSize: 2 });
  const token = await encode({ token: { sub: "cached" }, secret: SECRET, salt: SALT, maxAge: 60 });
  const first = await codec.decode(token);
  first!.sub = "mutated by a callback";
  assert.equal((await codec.decode(token))?.sub, "cached");
  const realNow = Date.now;
  Date.now = () => realNow() + 120_000;
  try {
    assert.equal(await codec.decode(token), null, "expired while cached");
  } finally {
    Date.now = realNow;
  }
  // Bounded: older entries make room, and still decode (the slow way) afterwards.
  for (let i = 0; i < 5; i++) {
    const other = await encode({ token: { sub: `u${i}` }, secret: SECRET, salt: SALT });
    assert.equal((await codec.decode(other))?.sub, `u${i}`);
  }
  assert.equal((await codec.decode(token))?.sub, "cached");
});
