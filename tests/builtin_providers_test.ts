/**
 * Built-in Auth.js providers enabled by configuration alone (AUTH_<ID>_ID / _SECRET /
 * _ISSUER), checked over HTTP through the gateway without contacting the providers: the
 * provider list, the sign-in redirect to each one's authorization endpoint and the callback
 * URL. Google and Keycloak find their endpoints by OpenID discovery, so this test serves
 * their discovery documents from a local HTTP server (the issuer URL points there); GitHub
 * and Discord have fixed endpoints and are not contacted at all before the callback.
 */
import assert from "node:assert/strict";
import { countRows } from "./support/db.ts";
import { Client } from "./support/http.ts";
import { startOAuthSignIn } from "./support/oidc.ts";
import { startTestStack } from "./support/stack.ts";

/** Serves `${origin}${path}/.well-known/openid-configuration` for each issuer path. */
function serveDiscovery(documents: Record<string, (issuer: string) => Record<string, unknown>>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    for (const [path, document] of Object.entries(documents)) {
      if (url.pathname === `${path}/.well-known/openid-configuration`) {
        return Response.json(document(`${url.origin}${path}`));
      }
    }
    return new Response("Not found", { status: 404 });
  });
  return { origin: `http://127.0.0.1:${server.addr.port}`, stop: () => server.shutdown() };
}

Deno.test("built-in providers are enabled by environment variables alone", async (t) => {
  const discovery = serveDiscovery({
    // Google's real endpoints, served locally under a local issuer.
    "/google": (issuer) => ({
      issuer,
      authorization_endpoint: "https://accounts.google.com/o/oauth2/v2/auth",
      token_endpoint: "https://oauth2.googleapis.com/token",
      userinfo_endpoint: "https://openidconnect.googleapis.com/v1/userinfo",
      jwks_uri: "https://www.googleapis.com/oauth2/v3/certs",
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
    }),
    "/realms/acme": (issuer) => ({
      issuer,
      authorization_endpoint: `${issuer}/protocol/openid-connect/auth`,
      token_endpoint: `${issuer}/protocol/openid-connect/token`,
      userinfo_endpoint: `${issuer}/protocol/openid-connect/userinfo`,
      jwks_uri: `${issuer}/protocol/openid-connect/certs`,
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
    }),
  });
  const stack = await startTestStack({
    AUTH_GITHUB_ID: "gh-client",
    AUTH_GITHUB_SECRET: "gh-secret",
    AUTH_DISCORD_ID: "discord-client",
    AUTH_DISCORD_SECRET: "discord-secret",
    AUTH_GOOGLE_ID: "google-client.apps.googleusercontent.com",
    AUTH_GOOGLE_SECRET: "google-secret",
    AUTH_GOOGLE_ISSUER: `${discovery.origin}/google`,
    AUTH_KEYCLOAK_ID: "keycloak-client",
    AUTH_KEYCLOAK_SECRET: "keycloak-secret",
    AUTH_KEYCLOAK_ISSUER: `${discovery.origin}/realms/acme`,
  }, { oidc: false });
  const F = stack.functionsUrl;
  try {
    await t.step("GET /providers lists each with its sign-in and callback URLs", async () => {
      const providers = await (await new Client().get(`${F}/providers`)).json();
      assert.equal(stack.oidc, undefined);
      assert.equal("oidc" in providers, false, "the Dev OpenID provider is off");
      const expected = {
        github: ["GitHub", "oauth"],
        discord: ["Discord", "oauth"],
        google: ["Google", "oidc"],
        keycloak: ["Keycloak", "oidc"],
      };
      for (const [id, [name, type]] of Object.entries(expected)) {
        assert.deepEqual(providers[id], {
          id,
          name,
          type,
          signinUrl: `${F}/signin/${id}`,
          callbackUrl: `${F}/callback/${id}`,
        });
      }
    });

    const cases = [
      { id: "github", endpoint: "https://github.com/login/oauth/authorize", clientId: "gh-client" },
      {
        id: "discord",
        endpoint: "https://discord.com/api/oauth2/authorize",
        clientId: "discord-client",
      },
      {
        id: "google",
        endpoint: "https://accounts.google.com/o/oauth2/v2/auth",
        clientId: "google-client.apps.googleusercontent.com",
      },
      {
        id: "keycloak",
        endpoint: `${discovery.origin}/realms/acme/protocol/openid-connect/auth`,
        clientId: "keycloak-client",
      },
    ];
    for (const { id, endpoint, clientId } of cases) {
      await t.step(`POST /signin/${id} redirects to its authorization endpoint`, async () => {
        const client = new Client();
        const url = await startOAuthSignIn(F, client, { provider: id });
        assert.equal(`${url.origin}${url.pathname}`, endpoint);
        const params = url.searchParams;
        assert.equal(params.get("client_id"), clientId);
        assert.equal(params.get("redirect_uri"), `${F}/callback/${id}`);
        assert.equal(params.get("response_type"), "code");
        assert.equal(params.get("code_challenge_method"), "S256");
        assert.match(params.get("code_challenge") ?? "", /^[\w-]{43}$/);
        // The PKCE verifier waits in an encrypted cookie for the callback.
        assert.ok(client.cookies.has("authjs.pkce.code_verifier"));
        if (id === "google" || id === "keycloak") {
          assert.match(params.get("scope") ?? "", /openid/);
        }
      });
    }

    await t.step("a callback without the sign-in's cookies writes nothing", async () => {
      const response = await new Client().get(`${F}/callback/github?code=x&state=y`);
      await response.body?.cancel();
      assert.equal(response.status, 302);
      const location = new URL(response.headers.get("Location")!);
      assert.equal(location.searchParams.get("error"), "OAuthCallbackError");
      assert.equal(location.searchParams.get("code"), "oauth_check_failed");
      const rows = await countRows(stack.databaseUrl);
      assert.equal(rows.users, 0);
      assert.equal(rows.accounts, 0);
    });
  } finally {
    await stack.stop();
    await discovery.stop();
  }
});
