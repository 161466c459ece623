import assert from "node:assert/strict";
import { encode } from "@auth/core/jwt";
import { ConfigError } from "./errors.ts";
import { createHandler } from "./handler.ts";

const SECRET = "handler-test-secret-0123456789-abcdefghijklm";
const env = {
  AUTH_SECRET: SECRET,
  AUTH_URL: "http://127.0.0.1:54321/functions/v1",
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/postgres",
  // A sign-in setting that cannot work: GitHub without its secret.
  AUTH_GITHUB_ID: "github-client-id",
};

Deno.test("a bad sign-in setting stops sign-in at start, but not the session check", async () => {
  assert.throws(() => createHandler("signin", { env }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /AUTH_GITHUB_SECRET is missing/);
    return true;
  });
  // A bad core setting still stops the session function at start.
  assert.throws(
    () => createHandler("session", { env: { ...env, AUTH_SECRET: "short" } }),
    /AUTH_SECRET is too weak/,
  );

  const logged: string[] = [];
  const session = createHandler("session", { env, log: (line) => logged.push(line) });
  const token = await encode({
    token: { sub: "user-1", email: "ada@example.com", name: "Ada" },
    secret: SECRET,
    salt: "authjs.session-token",
  });
  const answer = await session(
    new Request("http://127.0.0.1:54321/functions/v1/session", {
      headers: { Cookie: `authjs.session-token=${token}` },
    }),
  );
  assert.equal(answer.status, 200);
  assert.equal((await answer.json()).user.email, "ada@example.com");
  assert.deepEqual(logged, []);

  // The first request that needs Auth.js (a session update) meets the bad setting: a 500 with
  // a stable code, the variable named in the log only.
  const update = await session(
    new Request("http://127.0.0.1:54321/functions/v1/session", {
      method: "POST",
      headers: { "Content-Type": "application/json", Cookie: `authjs.session-token=${token}` },
      body: "{}",
    }),
  );
  assert.equal(update.status, 500);
  const body = await update.json();
  assert.equal(body.error, "invalid_configuration");
  assert.doesNotMatch(JSON.stringify(body), /GITHUB/);
  assert.ok(logged.some((line) => /AUTH_GITHUB_SECRET is missing/.test(line)), logged.join("\n"));
});
