import assert from "node:assert/strict";
import { decode, encode } from "@auth/core/jwt";
import type { AuthConfig } from "@auth/core";
import { loadConfig } from "./config.ts";
import { createFastSession } from "./session_fast.ts";
import type { Store } from "./store/mod.ts";

const SECRET = "fast-session-test-secret-0123456789abcdef";
const COOKIE = "authjs.session-token";
const config = loadConfig({
  AUTH_SECRET: SECRET,
  AUTH_URL: "http://127.0.0.1:54321/functions/v1",
  DATABASE_URL: "postgres://unused@127.0.0.1:1/unused",
});
// JWT sessions never touch the store.
const store = {} as Store;
const request = (token: string, header = "Cookie") =>
  new Request("http://x/session", {
    headers: { [header]: header === "Cookie" ? `${COOKIE}=${token}` : `Bearer ${token}` },
  });

Deno.test("createFastSession() honours the jwt and session callbacks and the session event", async () => {
  const seen: unknown[] = [];
  const authConfig: AuthConfig = {
    providers: [],
    session: { strategy: "jwt" },
    callbacks: {
      jwt: ({ token }) => ({ ...token, role: "editor" }),
      session: ({ session, token }) => ({ ...session, role: token.role }) as never,
    },
    events: { session: (message) => void seen.push(message) },
  };
  const fast = createFastSession({ config, options: authConfig, store, log: () => {} });
  const token = await encode({
    token: { sub: "u1", email: "a@b.c" },
    secret: SECRET,
    salt: COOKIE,
  });
  const response = (await fast(request(token)))!;
  const body = await response.json();
  assert.equal(body.role, "editor");
  assert.equal(body.user.email, "a@b.c");
  assert.equal(seen.length, 1);
  // The callback changed the token, so it is re-issued with the change, readable by Auth.js.
  const cookie = response.headers.getSetCookie()[0]!;
  const issued = decodeURIComponent(cookie.split(";")[0]!.slice(COOKIE.length + 1));
  assert.equal((await decode({ token: issued, secret: SECRET, salt: COOKIE }))?.role, "editor");
});

Deno.test("createFastSession() signs out when the jwt callback returns null", async () => {
  const authConfig: AuthConfig = {
    providers: [],
    callbacks: { jwt: () => null },
  };
  const fast = createFastSession({ config, options: authConfig, store, log: () => {} });
  const token = await encode({ token: { sub: "u1" }, secret: SECRET, salt: COOKIE });
  const response = (await fast(request(token)))!;
  assert.equal(await response.json(), null);
  assert.match(response.headers.getSetCookie()[0]!, /Max-Age=0/);
});

Deno.test("createFastSession() accepts a bearer token and leaves chunked cookies to Auth.js", async () => {
  const fast = createFastSession({ config, options: {}, store, log: () => {} });
  const token = await encode({
    token: { sub: "u2", email: "b@c.d" },
    secret: SECRET,
    salt: COOKIE,
  });
  const response = (await fast(request(token, "Authorization")))!;
  assert.equal((await response.json()).user.email, "b@c.d");
  assert.deepEqual(response.headers.getSetCookie(), [], "a fresh token is not re-encrypted");
  const chunked = new Request("http://x/session", {
    headers: { Cookie: `${COOKIE}.1=abc` },
  });
  assert.equal(await fast(chunked), undefined);
});
