import assert from "node:assert/strict";
import { loadConfig } from "./config.ts";
import { createPasswordHandler } from "./password_handler.ts";

const env = {
  AUTH_SECRET: "s3cret-value-with-enough-entropy-0123456789",
  AUTH_URL: "https://abc.supabase.co/functions/v1",
  // Never reached: routing and a disabled flow answer before any database work.
  DATABASE_URL: "postgres://postgres@127.0.0.1:1/unused",
};

Deno.test("createPasswordHandler() answers password_disabled unless AUTH_PASSWORD=true", async () => {
  const handler = createPasswordHandler({ config: loadConfig(env), log: () => {} });
  const response = await handler(
    new Request("http://kong:8000/password/signup", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
    }),
  );
  assert.equal(response.status, 404);
  assert.equal((await response.json()).error, "password_disabled");
});

Deno.test("createPasswordHandler() routes under the public base path", async () => {
  const handler = createPasswordHandler({ config: loadConfig(env), log: () => {} });
  for (const route of ["delete", "constructor", "__proto__", "toString"]) {
    const unknown = await handler(new Request(`http://kong:8000/password/${route}`));
    assert.equal(unknown.status, 404, route);
    assert.equal((await unknown.json()).error, "unknown_action");
  }
  const wrong = await handler(new Request("http://kong:8000/password/reset", { method: "PUT" }));
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("Allow"), "GET, POST, OPTIONS");
  await wrong.body?.cancel();
  assert.equal(wrong.headers.get("Referrer-Policy"), "no-referrer");
});
