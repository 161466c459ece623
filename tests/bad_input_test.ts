/**
 * Bad input gets a 4xx JSON error with a stable code, never a 500, a stack trace or a
 * secret, and nothing reaches the database.
 */
import assert from "node:assert/strict";
import { countRows } from "./support/db.ts";
import { TEST_SECRET } from "./support/env.ts";
import { Client } from "./support/http.ts";
import { startTestStack } from "./support/stack.ts";

const FRONTEND = "http://app.localhost:3000";

async function assertError(response: Response, status: number, code: string) {
  const text = await response.text();
  assert.equal(response.status, status, `status for ${code}: ${text}`);
  assert.match(response.headers.get("Content-Type") ?? "", /application\/json/);
  const body = JSON.parse(text);
  assert.equal(body.error, code);
  assert.equal(typeof body.message, "string");
  assert.ok(!text.includes(TEST_SECRET), "no secret in the body");
  assert.ok(!/\bat .+:\d+:\d+/.test(text), "no stack trace in the body");
}

Deno.test("bad input gets a 4xx JSON error with a stable code and writes nothing", async (t) => {
  const stack = await startTestStack({ AUTH_ALLOWED_ORIGINS: FRONTEND });
  const url = stack.functionsUrl;
  const client = new Client();
  const csrfToken = await client.csrfToken(url);
  try {
    await t.step("unknown function", async () => {
      await assertError(
        await client.get(`${url}/nope`),
        404,
        "function_not_found",
      );
    });

    await t.step("unknown action inside a function", async () => {
      await assertError(
        await client.get(`${url}/session/extra`),
        404,
        "unknown_action",
      );
      await assertError(
        await client.get(`${url}/csrf/x`),
        404,
        "unknown_action",
      );
    });

    await t.step("wrong method", async () => {
      const response = await client.fetch(`${url}/session`, {
        method: "DELETE",
      });
      assert.equal(response.headers.get("Allow"), "GET, POST, OPTIONS");
      await assertError(response, 405, "method_not_allowed");
      await assertError(
        await client.fetch(`${url}/csrf`, { method: "POST" }),
        405,
        "method_not_allowed",
      );
      await assertError(
        await client.fetch(`${url}/providers`, { method: "PUT" }),
        405,
        "method_not_allowed",
      );
    });

    await t.step("unknown provider", async () => {
      await assertError(
        await client.postForm(`${url}/signin/nope`, {
          csrfToken,
          email: "a@example.com",
        }),
        404,
        "unknown_provider",
      );
      await assertError(
        await client.get(`${url}/callback/nope?token=x`),
        404,
        "unknown_provider",
      );
      await assertError(
        await client.get(`${url}/callback`),
        404,
        "unknown_provider",
      );
    });

    await t.step("missing, forged and cookie-less CSRF tokens", async () => {
      await assertError(
        await client.postForm(`${url}/signin/email`, {
          email: "a@example.com",
        }),
        403,
        "csrf_token_missing",
      );
      await assertError(
        await client.postForm(`${url}/signin/email`, {
          email: "a@example.com",
          csrfToken: "forged",
        }),
        403,
        "csrf_token_mismatch",
      );
      await assertError(
        await new Client().postForm(`${url}/signin/email`, {
          email: "a@example.com",
          csrfToken,
        }),
        403,
        "csrf_cookie_invalid",
      );
      await assertError(
        await client.postForm(`${url}/signout`, {}),
        403,
        "csrf_token_missing",
      );
      await assertError(
        await client.fetch(`${url}/session`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ data: { name: "x" } }),
        }),
        403,
        "csrf_token_missing",
      );
    });

    await t.step("malformed bodies", async () => {
      const post = (body: BodyInit, type: string) =>
        client.fetch(`${url}/signin/email`, {
          method: "POST",
          headers: { "Content-Type": type },
          body,
        });
      await assertError(
        await post("{not json", "application/json"),
        400,
        "malformed_body",
      );
      await assertError(
        await post("[1,2]", "application/json"),
        400,
        "malformed_body",
      );
      await assertError(
        await post("email=a@example.com", "text/plain"),
        415,
        "unsupported_content_type",
      );
      await assertError(
        await post(
          new Uint8Array([0xff, 0xfe, 0x41]),
          "application/x-www-form-urlencoded",
        ),
        400,
        "malformed_body",
      );
      await assertError(
        await post(
          `csrfToken=${csrfToken}&email=${"a".repeat(70_000)}`,
          "application/x-www-form-urlencoded",
        ),
        413,
        "body_too_large",
      );
    });

    await t.step(
      "CORS preflight: allowed origin granted, others refused",
      async () => {
        const allowed = await client.fetch(`${url}/session`, {
          method: "OPTIONS",
          headers: { Origin: FRONTEND, "Access-Control-Request-Method": "GET" },
        });
        assert.equal(allowed.status, 204);
        assert.equal(
          allowed.headers.get("Access-Control-Allow-Origin"),
          FRONTEND,
        );
        assert.equal(
          allowed.headers.get("Access-Control-Allow-Credentials"),
          "true",
        );
        const refused = await client.fetch(`${url}/session`, {
          method: "OPTIONS",
          headers: {
            Origin: "https://evil.example",
            "Access-Control-Request-Method": "GET",
          },
        });
        assert.equal(refused.headers.get("Access-Control-Allow-Origin"), null);
        await assertError(refused, 403, "origin_not_allowed");
        const read = await client.get(`${url}/session`, {
          Origin: "https://evil.example",
        });
        assert.equal(read.headers.get("Access-Control-Allow-Origin"), null);
        await read.body?.cancel();
      },
    );

    await t.step("nothing was written and no mail was sent", async () => {
      assert.deepEqual(await countRows(stack.databaseUrl), {
        users: 0,
        accounts: 0,
        sessions: 0,
        verification_tokens: 0,
        authenticators: 0,
        passwords: 0,
        password_tokens: 0,
      });
      assert.equal(stack.mail.messages().length, 0);
    });
  } finally {
    await stack.stop();
  }
});

Deno.test("Auth.js answers under the public base path, never the internal host", async () => {
  const stack = await startTestStack();
  try {
    const client = new Client();
    const providers = await (await client.get(`${stack.functionsUrl}/providers`)).json();
    assert.deepEqual(providers.email, {
      id: "email",
      name: "Email",
      type: "email",
      signinUrl: `${stack.functionsUrl}/signin/email`,
      callbackUrl: `${stack.functionsUrl}/callback/email`,
    });
    const csrf = await client.get(`${stack.functionsUrl}/csrf`);
    assert.equal(csrf.status, 200);
    assert.match((await csrf.json()).csrfToken, /^[0-9a-f]{64}$/);
    assert.equal(csrf.headers.get("Cache-Control")?.includes("no-store"), true);
    assert.equal(csrf.headers.get("X-Content-Type-Options"), "nosniff");
    const session = await client.get(`${stack.functionsUrl}/session`);
    assert.equal(session.status, 200);
    assert.equal(await session.json(), null);
    // The sign-in page (HTML where HTML is served) posts to the public URL.
    const page = await (await client.get(`${stack.functionsUrl}/signin`))
      .text();
    assert.ok(page.includes(`action="${stack.functionsUrl}/signin/email"`));
    assert.ok(!page.includes("edge-runtime.internal"));
  } finally {
    await stack.stop();
  }
});
