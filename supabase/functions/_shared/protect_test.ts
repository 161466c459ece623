import assert from "node:assert/strict";
import { createAccessTokenSigner } from "./access_token.ts";
import { loadConfig } from "./config.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { createSessionGuard, protect } from "./protect.ts";
import { createSessionCodec, sessionCookieName } from "./session_token.ts";

const SECRET = "protect-test-secret-0123456789-abcdefghijklmn";
const config = loadConfig({
  AUTH_SECRET: SECRET,
  AUTH_URL: "https://abc.supabase.co/functions/v1",
  AUTH_ALLOWED_ORIGINS: "https://app.example.com",
  // JWT sessions never touch the database.
  DATABASE_URL: "postgres://postgres@127.0.0.1:1/unused",
});
const cookieName = sessionCookieName(config.publicUrl);
const codec = createSessionCodec(config.secrets, cookieName);
const guard = createSessionGuard(config);
const url = "http://kong:8000/my-api";

async function statusAndCode(run: () => Promise<unknown>) {
  try {
    await run();
    return null;
  } catch (error) {
    assert.ok(error instanceof HttpError);
    return [error.status, error.code];
  }
}

Deno.test("requireSession() accepts the session cookie and a bearer token", async () => {
  const token = await codec.encode({ sub: "user-1", email: "ada@example.com" }, 3600);
  const byCookie = await guard.requireSession(
    new Request(url, { headers: { Cookie: `other=1; ${cookieName}=${token}` } }),
  );
  assert.equal(byCookie.user.id, "user-1");
  assert.equal(byCookie.user.email, "ada@example.com");
  assert.ok(Date.parse(byCookie.expires) > Date.now() + 3500_000);
  const byBearer = await guard.requireSession(
    new Request(url, { headers: { Authorization: `Bearer ${token}` } }),
  );
  assert.equal(byBearer.user.id, "user-1");
  const chunked = await guard.requireSession(
    new Request(url, {
      headers: {
        Cookie: `${cookieName}.0=${token.slice(0, 100)}; ${cookieName}.1=${token.slice(100)}`,
      },
    }),
  );
  assert.equal(chunked.user.id, "user-1");
});

Deno.test("requireSession() rejects a missing, tampered, expired or foreign token with 401", async () => {
  const token = await codec.encode({ sub: "user-1" }, 3600);
  const at = token.length - 10;
  const tampered = token.slice(0, at) + (token[at] === "A" ? "B" : "A") + token.slice(at + 1);
  const expired = await codec.encode({ sub: "user-1" }, -3600);
  const foreign = await createSessionCodec(
    ["another-secret-0123456789-abcdefghijklmnop"],
    cookieName,
  )
    .encode({ sub: "user-1" }, 3600);
  assert.deepEqual(
    await statusAndCode(() => guard.requireSession(new Request(url))),
    [401, "session_missing"],
  );
  for (const bad of [tampered, expired, foreign, "garbage"]) {
    assert.deepEqual(
      await statusAndCode(() =>
        guard.requireSession(new Request(url, { headers: { Authorization: `Bearer ${bad}` } }))
      ),
      [401, "session_invalid"],
    );
    assert.equal(
      await guard.getSession(new Request(url, { headers: { Cookie: `${cookieName}=${bad}` } })),
      null,
    );
  }
});

Deno.test("protect() runs the handler for a session and answers 401 JSON without one", async () => {
  const handler = protect((_req, session) => Response.json({ id: session.user.id }), {
    config,
    guard,
  });
  const token = await codec.encode({ sub: "user-7" }, 3600);
  const ok = await handler(
    new Request(url, {
      headers: { Cookie: `${cookieName}=${token}`, Origin: "https://app.example.com" },
    }),
  );
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { id: "user-7" });
  assert.equal(ok.headers.get("Access-Control-Allow-Origin"), "https://app.example.com");
  assert.equal(ok.headers.get("Access-Control-Allow-Credentials"), "true");

  const denied = await handler(
    new Request(url, { headers: { Authorization: "Bearer not-a-session" } }),
  );
  assert.equal(denied.status, 401);
  assert.deepEqual(Object.keys(await denied.json()), ["error", "message"]);
  assert.match(denied.headers.get("WWW-Authenticate") ?? "", /invalid_token/);

  const preflight = await handler(
    new Request(url, { method: "OPTIONS", headers: { Origin: "https://app.example.com" } }),
  );
  assert.equal(preflight.status, 204);
  const evil = await handler(
    new Request(url, { method: "OPTIONS", headers: { Origin: "https://evil.example" } }),
  );
  assert.equal(evil.status, 403);
  assert.equal(evil.headers.get("Access-Control-Allow-Origin"), null);
});

Deno.test("a 401 from requireSession() becomes a JSON error response", async () => {
  const error = await guard.requireSession(new Request(url)).catch((e) => e);
  const response = errorResponse(error);
  assert.equal(response.status, 401);
  assert.equal((await response.json()).error, "session_missing");
});

Deno.test("requireSession() takes our own access tokens as bearer, and only valid ones", async () => {
  const env = {
    AUTH_SECRET: SECRET,
    AUTH_URL: "https://abc.supabase.co/functions/v1",
    DATABASE_URL: "postgres://postgres@127.0.0.1:1/unused",
    AUTH_JWT_LEGACY_SECRET: "legacy-jwt-secret-for-tests-0123456789abcdef",
  };
  const withTokens = loadConfig(env);
  const signer = createAccessTokenSigner(withTokens.accessToken);
  const tokenGuard = createSessionGuard(withTokens);
  const bearer = (token: string) =>
    new Request(url, { headers: { Authorization: `Bearer ${token}` } });

  const { token } = await signer.sign({ id: "user-9", email: "ada@example.com" });
  const session = await tokenGuard.requireSession(bearer(token));
  assert.equal(session.user.id, "user-9");
  assert.equal(session.user.email, "ada@example.com");

  const expired = await signer.sign({ id: "user-9" }, Math.floor(Date.now() / 1000) - 3600);
  const foreign = await createAccessTokenSigner(
    loadConfig({ ...env, AUTH_JWT_ISSUER: "https://elsewhere.example/oidc" }).accessToken,
  ).sign({ id: "user-9" });
  const at = token.length - 5;
  const tampered = token.slice(0, at) + (token[at] === "A" ? "B" : "A") + token.slice(at + 1);
  for (const bad of [expired.token, foreign.token, tampered]) {
    assert.deepEqual(
      await statusAndCode(() => tokenGuard.requireSession(bearer(bad))),
      [401, "session_invalid"],
    );
  }
  // Without a configured key, no JWS is ever accepted.
  assert.deepEqual(
    await statusAndCode(() => guard.requireSession(bearer(token))),
    [401, "session_invalid"],
  );
});
