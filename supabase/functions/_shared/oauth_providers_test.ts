import assert from "node:assert/strict";
import { loadConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { createOAuthProviders } from "./oauth_providers.ts";

const base = {
  AUTH_SECRET: "s3cret-value-with-enough-entropy-0123456789",
  AUTH_URL: "https://abc.supabase.co/functions/v1",
  SUPABASE_DB_URL: "postgres://postgres:pw@db.abc.supabase.co:5432/postgres",
};

type Built =
  & { id: string; type: string; options?: Record<string, unknown> }
  & Record<
    string,
    unknown
  >;
const build = (env: Record<string, string>) =>
  createOAuthProviders(loadConfig({ ...base, ...env })) as unknown as Built[];

function assertStartError(run: () => unknown, message: RegExp) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("createOAuthProviders() enables built-ins from AUTH_<ID>_ID / _SECRET", () => {
  const providers = build({
    AUTH_GITHUB_ID: "id",
    AUTH_GITHUB_SECRET: "secret",
    AUTH_MICROSOFT_ENTRA_ID_ID: "entra",
    AUTH_MICROSOFT_ENTRA_ID_SECRET: "entra-secret",
    AUTH_AUTH0_ID: "a0",
    AUTH_AUTH0_SECRET: "a0-secret",
    AUTH_AUTH0_ISSUER: "https://acme.eu.auth0.com",
  });
  assert.deepEqual(providers.map((p) => p.id).sort(), ["auth0", "github", "microsoft-entra-id"]);
  const github = providers.find((p) => p.id === "github")!;
  assert.equal(github.options?.clientId, "id");
  assert.equal(github.options?.allowDangerousEmailAccountLinking, false);
  // Entra falls back to the multi-tenant issuer; Auth0's is the tenant's.
  const entra = providers.find((p) => p.id === "microsoft-entra-id")!;
  assert.equal(entra.options?.issuer, "https://login.microsoftonline.com/common/v2.0");
  const auth0 = providers.find((p) => p.id === "auth0")!;
  assert.equal(auth0.options?.issuer, "https://acme.eu.auth0.com");
});

Deno.test("createOAuthProviders() builds the generic OpenID provider from AUTH_OIDC_*", () => {
  const [oidc] = build({
    AUTH_OIDC_ISSUER: "https://id.example.com",
    AUTH_OIDC_ID: "client",
    AUTH_OIDC_NAME: "Example ID",
    AUTH_OIDC_ALLOW_EMAIL_LINKING: "true",
  });
  assert.equal(oidc!.id, "oidc");
  assert.equal(oidc!.name, "Example ID");
  assert.equal(oidc!.issuer, "https://id.example.com");
  assert.deepEqual(oidc!.checks, ["pkce", "state", "nonce"]);
  assert.equal(oidc!.allowDangerousEmailAccountLinking, true);
  // No secret: a public client, authenticated by PKCE alone.
  assert.deepEqual(oidc!.client, { token_endpoint_auth_method: "none" });
});

Deno.test("a half-configured provider stops the function at start, naming the variable", () => {
  assertStartError(
    () => build({ AUTH_KEYCLOAK_ID: "kc", AUTH_KEYCLOAK_SECRET: "s" }),
    /AUTH_KEYCLOAK_ISSUER is missing/,
  );
  assertStartError(
    () => build({ AUTH_MASTODON_ID: "m", AUTH_MASTODON_SECRET: "s" }),
    /AUTH_MASTODON_ISSUER is missing/,
  );
  assertStartError(() => build({ AUTH_GITHUB_ID: "gh" }), /AUTH_GITHUB_SECRET is missing/);
  assertStartError(() => build({ AUTH_GITHUB_SECRET: "gh" }), /AUTH_GITHUB_ID is missing/);
  assertStartError(() => build({ AUTH_OIDC_ID: "x" }), /AUTH_OIDC_ISSUER is missing/);
  assertStartError(
    () => build({ AUTH_OIDC_ID: "x", AUTH_OIDC_ISSUER: "id.example.com" }),
    /AUTH_OIDC_ISSUER is not a URL/,
  );
  assertStartError(
    () =>
      build({
        AUTH_GITHUB_ID: "a",
        AUTH_GITHUB_SECRET: "b",
        AUTH_GITHUB_ALLOW_EMAIL_LINKING: "yes",
      }),
    /AUTH_GITHUB_ALLOW_EMAIL_LINKING must be one of "true", "false"/,
  );
});

Deno.test("AUTH_PAGES_* take a path or a URL on an allowed origin", () => {
  const config = loadConfig({
    ...base,
    AUTH_ALLOWED_ORIGINS: "https://app.example.com",
    AUTH_PAGES_SIGNIN: "https://app.example.com/login",
    AUTH_PAGES_ERROR: "/functions/v1/error",
    AUTH_PAGES_NEW_USER: "https://app.example.com/welcome?tour=1",
  });
  assert.deepEqual(config.pages, {
    signIn: "https://app.example.com/login",
    error: "/functions/v1/error",
    newUser: "https://app.example.com/welcome?tour=1",
  });
  assertStartError(
    () => loadConfig({ ...base, AUTH_PAGES_SIGNIN: "https://evil.example.com/login" }),
    /AUTH_PAGES_SIGNIN must be a path or a URL on an origin in AUTH_ALLOWED_ORIGINS/,
  );
  assertStartError(
    () => loadConfig({ ...base, AUTH_PAGES_ERROR: "//evil.example.com/x" }),
    /AUTH_PAGES_ERROR is not a URL/,
  );
});
