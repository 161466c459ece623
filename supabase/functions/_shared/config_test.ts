import assert from "node:assert/strict";
import { loadConfig, siteOf } from "./config.ts";
import { ConfigError } from "./errors.ts";

const SECRET = "s3cret-value-with-enough-entropy-0123456789";
const base = {
  AUTH_SECRET: SECRET,
  AUTH_URL: "https://abc.supabase.co/functions/v1",
  SUPABASE_DB_URL: "postgres://postgres:pw@db.abc.supabase.co:5432/postgres",
};

function assertConfigError(
  env: Record<string, string | undefined>,
  names: RegExp,
) {
  assert.throws(() => loadConfig(env), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, names);
    assert.ok(!error.message.includes(SECRET), "never echoes a secret");
    return true;
  });
}

Deno.test("loadConfig() reads a complete environment", () => {
  const config = loadConfig({
    ...base,
    AUTH_SECRET_1: "newer-secret-value-with-entropy-abcdefghijk",
    AUTH_ALLOWED_ORIGINS: "https://app.example.com, http://localhost:5173",
    AUTH_SESSION_STRATEGY: "database",
    AUTH_EMAIL_SERVER: "smtps://u:p@smtp.example.com:465",
    AUTH_EMAIL_FROM: "Example <auth@example.com>",
  });
  assert.equal(config.basePath, "/functions/v1");
  assert.deepEqual(config.secrets, [
    "newer-secret-value-with-entropy-abcdefghijk",
    SECRET,
  ]);
  assert.deepEqual(
    [...config.allowedOrigins],
    [
      "https://abc.supabase.co",
      "https://app.example.com",
      "http://localhost:5173",
    ],
  );
  assert.equal(config.sessionStrategy, "database");
  assert.equal(config.databasePrepare, true);
  assert.deepEqual(config.email, {
    transport: "smtp",
    server: "smtps://u:p@smtp.example.com:465",
    ca: undefined,
    from: "Example <auth@example.com>",
  });
  assert.equal(config.password, false);
});

Deno.test("loadConfig() defaults AUTH_URL to the project's public https URL", () => {
  const { AUTH_URL: _, ...env } = base;
  const config = loadConfig({
    ...env,
    SUPABASE_URL: "https://abc.supabase.co",
  });
  assert.equal(config.publicUrl.href, "https://abc.supabase.co/functions/v1");
  assert.equal(config.sessionStrategy, "jwt");
});

Deno.test("loadConfig() refuses the local internal SUPABASE_URL without AUTH_URL", () => {
  const { AUTH_URL: _, ...env } = base;
  assertConfigError(
    { ...env, SUPABASE_URL: "http://kong:8000" },
    /AUTH_URL is missing/,
  );
});

Deno.test("loadConfig() names the missing or weak variable", () => {
  assertConfigError(
    { ...base, AUTH_SECRET: undefined },
    /AUTH_SECRET is missing/,
  );
  assertConfigError(
    { ...base, AUTH_SECRET: "short" },
    /AUTH_SECRET is too weak/,
  );
  assertConfigError(
    { ...base, AUTH_SECRET: "a".repeat(40) },
    /AUTH_SECRET is too weak/,
  );
  assertConfigError(
    { ...base, AUTH_SECRET_2: "weak" },
    /AUTH_SECRET_2 is too weak/,
  );
  assertConfigError({ ...base, AUTH_URL: "" }, /AUTH_URL is not a URL/);
  assertConfigError(
    { ...base, AUTH_URL: "ftp://x/functions/v1" },
    /AUTH_URL must use/,
  );
  assertConfigError(
    { ...base, SUPABASE_DB_URL: undefined },
    /SUPABASE_DB_URL \(or DATABASE_URL\)/,
  );
  assertConfigError(
    { ...base, DATABASE_URL: "mysql://x" },
    /DATABASE_URL must use/,
  );
  assertConfigError(
    { ...base, AUTH_SESSION_STRATEGY: "cookie" },
    /AUTH_SESSION_STRATEGY/,
  );
  assertConfigError(
    { ...base, AUTH_ALLOWED_ORIGINS: "https://a.com/path" },
    /bare origins/,
  );
  assertConfigError(
    { ...base, AUTH_EMAIL_SERVER: "smtp://x:25" },
    /AUTH_EMAIL_FROM/,
  );
  assertConfigError({ ...base, AUTH_DB_POOL_SIZE: "0" }, /AUTH_DB_POOL_SIZE/);
});

Deno.test("loadConfig() turns prepared statements off behind the transaction pooler", () => {
  const config = loadConfig({
    ...base,
    SUPABASE_DB_URL: "postgres://u:p@aws-0-eu.pooler.supabase.com:6543/postgres",
  });
  assert.equal(config.databasePrepare, false);
  assert.equal(
    loadConfig({ ...base, AUTH_DB_PREPARE: "false" }).databasePrepare,
    false,
  );
});

Deno.test("loadConfig() picks the store driver and the access-token settings", () => {
  const defaults = loadConfig(base);
  assert.equal(defaults.storeDriver, "sql");
  assert.equal(defaults.rest, undefined);
  assert.equal(defaults.accessToken.issuer, "https://abc.supabase.co/functions/v1/oidc");
  assert.equal(defaults.accessToken.ttl, 300);
  assert.equal(defaults.accessToken.privateKey, undefined);

  const rest = loadConfig({
    ...base,
    AUTH_STORE: "rest",
    SUPABASE_URL: "https://abc.supabase.co/",
    SUPABASE_SERVICE_ROLE_KEY: "service-role-key",
    SUPABASE_JWT_SECRET: "legacy-jwt-secret-with-at-least-32-chars",
  });
  assert.equal(rest.storeDriver, "rest");
  assert.deepEqual(rest.rest, {
    url: "https://abc.supabase.co",
    serviceRoleKey: "service-role-key",
  });
  assert.equal(rest.accessToken.legacySecret, "legacy-jwt-secret-with-at-least-32-chars");

  assertConfigError({ ...base, AUTH_STORE: "mongo" }, /AUTH_STORE/);
  assertConfigError({ ...base, AUTH_STORE: "rest" }, /SUPABASE_URL is missing/);
  assertConfigError(
    { ...base, AUTH_STORE: "rest", SUPABASE_URL: "https://abc.supabase.co" },
    /SUPABASE_SERVICE_ROLE_KEY is missing/,
  );
  const newKeys = loadConfig({
    ...base,
    AUTH_STORE: "rest",
    SUPABASE_URL: "https://abc.supabase.co",
    SUPABASE_SECRET_KEYS: '{"default":"sb_secret_abc"}',
  });
  assert.equal(newKeys.rest?.serviceRoleKey, "sb_secret_abc");
  assertConfigError({ ...base, AUTH_JWT_KID: "has space" }, /AUTH_JWT_KID/);
  assertConfigError({ ...base, AUTH_JWT_ISSUER: "not a url" }, /AUTH_JWT_ISSUER/);
});

Deno.test("loadConfig() selects an HTTPS email provider by its key", () => {
  const config = loadConfig({
    ...base,
    AUTH_RESEND_KEY: "re_123",
    AUTH_EMAIL_FROM: "auth@example.com",
  });
  assert.deepEqual(config.email, {
    transport: "resend",
    apiKey: "re_123",
    apiUrl: new URL("https://api.resend.com/emails"),
    from: "auth@example.com",
  });
  const eu = loadConfig({
    ...base,
    AUTH_SENDGRID_KEY: "SG.x",
    AUTH_EMAIL_FROM: "auth@example.com",
    AUTH_EMAIL_API_URL: "https://api.eu.sendgrid.com/v3/mail/send",
  });
  assert.equal(eu.email?.transport, "sendgrid");
  assert.equal(
    eu.email?.transport === "sendgrid" && eu.email.apiUrl.href,
    "https://api.eu.sendgrid.com/v3/mail/send",
  );
});

Deno.test("loadConfig() refuses ambiguous or unsafe email and password settings", () => {
  const from = { AUTH_EMAIL_FROM: "auth@example.com" };
  assertConfigError(
    { ...base, ...from, AUTH_RESEND_KEY: "a", AUTH_POSTMARK_KEY: "b" },
    /only one email transport, got AUTH_RESEND_KEY, AUTH_POSTMARK_KEY/,
  );
  assertConfigError(
    { ...base, ...from, AUTH_EMAIL_SERVER: "smtps://x:465", AUTH_SENDGRID_KEY: "b" },
    /only one email transport/,
  );
  assertConfigError({ ...base, AUTH_POSTMARK_KEY: "b" }, /AUTH_EMAIL_FROM .*AUTH_POSTMARK_KEY/);
  assertConfigError(
    { ...base, ...from, AUTH_RESEND_KEY: "a", AUTH_EMAIL_API_URL: "http://mail.example.com/x" },
    /AUTH_EMAIL_API_URL must use https/,
  );
  assertConfigError(
    { ...base, ...from, AUTH_EMAIL_SERVER: "smtps://x:465", AUTH_EMAIL_SERVER_CA: "nope" },
    /AUTH_EMAIL_SERVER_CA/,
  );
  assertConfigError({ ...base, AUTH_PASSWORD: "true" }, /AUTH_PASSWORD needs an email transport/);
  assertConfigError(
    {
      ...base,
      ...from,
      AUTH_RESEND_KEY: "a",
      AUTH_PASSWORD: "true",
      AUTH_SESSION_STRATEGY: "database",
    },
    /AUTH_PASSWORD needs AUTH_SESSION_STRATEGY="jwt"/,
  );
  assertConfigError({ ...base, AUTH_PASSWORD: "yes" }, /AUTH_PASSWORD must be one of/);
});

Deno.test("cookies are SameSite=None only for a cross-site frontend on https", () => {
  const load = loadConfig;
  const base = {
    AUTH_SECRET: "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
    DATABASE_URL: "postgres://localhost/x",
  };
  assert.equal(siteOf(new URL("https://auth.example.co.uk")), "https://example.co.uk");
  const cross = load({
    ...base,
    AUTH_URL: "https://abc.supabase.co/functions/v1",
    AUTH_ALLOWED_ORIGINS: "https://app.example.com",
  });
  assert.equal(cross.cookieSameSite, "none");
  const same = load({
    ...base,
    AUTH_URL: "https://auth.example.com/functions/v1",
    AUTH_ALLOWED_ORIGINS: "https://app.example.com",
  });
  assert.equal(same.cookieSameSite, "lax");
  const local = load({
    ...base,
    AUTH_URL: "http://127.0.0.1:54321/functions/v1",
    AUTH_ALLOWED_ORIGINS: "http://127.0.0.1:54323",
  });
  assert.equal(local.cookieSameSite, "lax");
  assert.equal(
    load({
      ...base,
      AUTH_URL: "https://auth.example.com/functions/v1",
      AUTH_COOKIE_SAMESITE: "none",
    })
      .cookieSameSite,
    "none",
  );
  assert.throws(
    () =>
      load({ ...base, AUTH_URL: "http://127.0.0.1/functions/v1", AUTH_COOKIE_SAMESITE: "none" }),
    /AUTH_COOKIE_SAMESITE=none needs an https AUTH_URL/,
  );
});

Deno.test("loadConfig() reads rate limits: defaults, overrides, off, and refuses nonsense", () => {
  const defaults = loadConfig(base);
  assert.deepEqual(defaults.rateLimits.email_ip, { max: 30, windowSec: 3600 });
  assert.deepEqual(defaults.rateLimits.email_address, { max: 1, windowSec: 60 });
  assert.equal(defaults.clientIpHeader, "x-forwarded-for");
  const set = loadConfig({
    ...base,
    AUTH_RATE_LIMIT_EMAIL_IP: "5/600",
    AUTH_RATE_LIMIT_PASSWORD_IDENTIFIER: "off",
    AUTH_CLIENT_IP_HEADER: "CF-Connecting-IP",
  });
  assert.deepEqual(set.rateLimits.email_ip, { max: 5, windowSec: 600 });
  assert.equal(set.rateLimits.password_identifier, null);
  assert.equal(set.clientIpHeader, "cf-connecting-ip");
  assert.equal(loadConfig({ ...base, AUTH_CLIENT_IP_HEADER: "none" }).clientIpHeader, null);
  for (const bad of ["5", "0/60", "5/0", "5/100000", "five/60", "-1/60"]) {
    assertConfigError({ ...base, AUTH_RATE_LIMIT_EMAIL_IP: bad }, /AUTH_RATE_LIMIT_EMAIL_IP/);
  }
  assertConfigError({ ...base, AUTH_CLIENT_IP_HEADER: "x forwarded" }, /AUTH_CLIENT_IP_HEADER/);
});

Deno.test("loadConfig() with deferFeatures: sign-in settings are checked on first read", () => {
  const env = {
    ...base,
    AUTH_ALLOWED_ORIGINS: "https://app.example.com",
    AUTH_GITHUB_ID: "gh-id",
    AUTH_GITHUB_SECRET: "gh-secret",
    AUTH_PAGES_SIGNIN: "https://app.example.com/login",
    AUTH_RATE_LIMIT_MFA_USER: "3/60",
  };
  // Every section the same as when read at once.
  assert.deepEqual({ ...loadConfig(env, { deferFeatures: true }) }, loadConfig(env));

  // A bad sign-in setting: loading succeeds; every read of a sign-in section throws the
  // error loading all at once gives.
  const bad = { ...base, AUTH_GITHUB_ID: "gh-id" };
  const deferred = loadConfig(bad, { deferFeatures: true });
  assert.equal(deferred.sessionStrategy, "jwt");
  for (const read of [() => deferred.oauthProviders, () => deferred.pages]) {
    assert.throws(read, (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /AUTH_GITHUB_SECRET is missing/);
      return true;
    });
  }
  assertConfigError(bad, /AUTH_GITHUB_SECRET is missing/);

  // What the session check reads is still checked when loading.
  assert.throws(
    () => loadConfig({ ...bad, AUTH_SESSION_MAX_AGE: "soon" }, { deferFeatures: true }),
    /AUTH_SESSION_MAX_AGE/,
  );
});
