import assert from "node:assert/strict";
import { exportPKCS8, generateKeyPair, importJWK, jwtVerify } from "jose";
import { generateSigningKey } from "./access_token.ts";
import { createAccessTokenHandler } from "./access_token_handler.ts";
import { type Env, loadConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { createOidcHandler } from "./oidc_handler.ts";
import { createSessionCodec, sessionCookieName } from "./session_token.ts";

const base: Env = {
  AUTH_SECRET: "access-token-test-secret-0123456789-abcdefgh",
  AUTH_URL: "https://abc.supabase.co/functions/v1",
  // JWT sessions never touch the database.
  DATABASE_URL: "postgres://postgres@127.0.0.1:1/unused",
};
const LEGACY = "super-secret-jwt-token-with-at-least-32-characters-long";

async function sessionCookie(env: Env, sub = "0b6f3f8e-3c1e-4a43-9a55-6a1f0c7e2d11") {
  const config = loadConfig(env);
  const name = sessionCookieName(config.publicUrl);
  const token = await createSessionCodec(config.secrets, name).encode(
    { sub, email: "ada@example.com" },
    3600,
  );
  return `${name}=${token}`;
}

const request = (path: string, init: RequestInit = {}) =>
  new Request(`http://kong:8000${path}`, init);

Deno.test("access-token signs HS256 with the legacy JWT secret when no private key is set", async () => {
  const env = { ...base, AUTH_JWT_LEGACY_SECRET: LEGACY, AUTH_ACCESS_TOKEN_TTL: "120" };
  const handler = createAccessTokenHandler({ env });
  const response = await handler(
    request("/access-token", { method: "POST", headers: { Cookie: await sessionCookie(env) } }),
  );
  assert.equal(response.status, 200);
  const body = await response.json();
  const { payload, protectedHeader } = await jwtVerify(
    body.access_token,
    new TextEncoder().encode(LEGACY),
    { audience: "authenticated", issuer: "https://abc.supabase.co/functions/v1/oidc" },
  );
  assert.equal(protectedHeader.alg, "HS256");
  assert.equal(payload.sub, "0b6f3f8e-3c1e-4a43-9a55-6a1f0c7e2d11");
  assert.equal(payload.role, "authenticated");
  assert.equal(payload.exp! - payload.iat!, 120);

  const oidc = createOidcHandler({ env });
  const discovery = await oidc(request("/oidc/.well-known/openid-configuration"));
  assert.equal(discovery.status, 404);
  assert.equal((await discovery.json()).error, "oidc_not_configured");
});

Deno.test("access-token takes a PKCS#8 PEM key with escaped newlines and a custom issuer and kid", async () => {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const pem = (await exportPKCS8(privateKey)).trim().replaceAll("\n", "\\n");
  const env = {
    ...base,
    AUTH_JWT_PRIVATE_KEY: pem,
    AUTH_JWT_KID: "key-2026",
    AUTH_JWT_ISSUER: "https://auth.example.com/functions/v1/oidc",
  };
  const response = await createAccessTokenHandler({ env })(
    request("/access-token", {
      headers: { Authorization: `Bearer ${(await sessionCookie(env)).split("=")[1]}` },
    }),
  );
  assert.equal(response.status, 200);
  const { payload, protectedHeader } = await jwtVerify(
    (await response.json()).access_token,
    publicKey,
    { issuer: "https://auth.example.com/functions/v1/oidc", audience: "authenticated" },
  );
  assert.equal(protectedHeader.kid, "key-2026");
  assert.equal(payload.email, "ada@example.com");

  const oidc = createOidcHandler({ env });
  const discovery = await (await oidc(request("/oidc/.well-known/openid-configuration"))).json();
  assert.equal(discovery.issuer, "https://auth.example.com/functions/v1/oidc");
  assert.equal(discovery.jwks_uri, "https://abc.supabase.co/functions/v1/oidc/jwks");
  const jwksResponse = await oidc(request("/oidc/jwks"));
  assert.equal(jwksResponse.headers.get("Access-Control-Allow-Origin"), "*");
  const { keys } = await jwksResponse.json();
  assert.equal(keys[0].kid, "key-2026");
  assert.equal(keys[0].d, undefined);
  await importJWK(keys[0], "ES256");
});

Deno.test("access-token refuses requests without a valid session, and wrong methods and paths", async () => {
  const env = { ...base, AUTH_JWT_PRIVATE_KEY: await generateSigningKey() };
  const handler = createAccessTokenHandler({ env });
  const cases: [Request, number, string][] = [
    [request("/access-token"), 401, "session_missing"],
    [
      request("/access-token", { headers: { Authorization: "Bearer forged" } }),
      401,
      "session_invalid",
    ],
    [request("/access-token", { method: "DELETE" }), 405, "method_not_allowed"],
    [request("/access-token/extra"), 404, "unknown_action"],
  ];
  for (const [req, status, code] of cases) {
    const response = await handler(req);
    assert.equal(response.status, status, code);
    assert.equal((await response.json()).error, code);
  }
});

Deno.test("a missing or malformed signing key stops the function at start, naming the variable", async () => {
  assert.throws(
    () => createAccessTokenHandler({ env: base }),
    (e: unknown) => e instanceof ConfigError && /AUTH_JWT_PRIVATE_KEY is missing/.test(e.message),
  );
  for (const bad of ['{"kty":"RSA"}', "not a key", '{"kty":"EC"'] as const) {
    assert.throws(
      () => loadConfig({ ...base, AUTH_JWT_PRIVATE_KEY: bad }),
      (e: unknown) => e instanceof ConfigError && /AUTH_JWT_PRIVATE_KEY/.test(e.message),
    );
  }
  assert.throws(
    () => loadConfig({ ...base, AUTH_JWT_LEGACY_SECRET: "short" }),
    (e: unknown) => e instanceof ConfigError && /AUTH_JWT_LEGACY_SECRET/.test(e.message),
  );
  assert.throws(
    () => loadConfig({ ...base, AUTH_ACCESS_TOKEN_TTL: "99999" }),
    (e: unknown) => e instanceof ConfigError && /AUTH_ACCESS_TOKEN_TTL/.test(e.message),
  );
  // A JWK of the right shape whose numbers are not a key is caught on first use.
  const env = {
    ...base,
    AUTH_JWT_PRIVATE_KEY: JSON.stringify({ kty: "EC", crv: "P-256", x: "AA", y: "AA", d: "AA" }),
  };
  const lines: string[] = [];
  const response = await createAccessTokenHandler({ env, log: (line) => lines.push(line) })(
    request("/access-token", { headers: { Cookie: await sessionCookie(env) } }),
  );
  assert.equal(response.status, 500);
  assert.ok(!(await response.text()).includes('"d"'));
  assert.match(lines.join("\n"), /AUTH_JWT_PRIVATE_KEY does not import/);
});
