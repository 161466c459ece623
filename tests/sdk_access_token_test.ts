/**
 * The client SDK's `accessToken()` against the real functions: a session from a real
 * magic-link sign-in, used in token mode (the bearer token is the session JWE), gives an
 * access token that verifies against the served JWKS — what supabase-js's `accessToken`
 * option needs to query under RLS as the user.
 */
import assert from "node:assert/strict";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { createAuthClient, type KeyValueStorage } from "../shared/client.ts";
import { signInWithMagicLink } from "./support/sign_in.ts";
import { startTestStack } from "./support/stack.ts";

function memory(): KeyValueStorage {
  const map = new Map<string, string>();
  return {
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  };
}

Deno.test("accessToken() gives supabase-js a verifiable RLS token, cached, and null once signed out", async () => {
  const stack = await startTestStack({}, { oidc: false });
  try {
    const browser = await signInWithMagicLink(stack, "sdk@example.com");
    const storage = memory();
    storage.setItem("authjs.session-token", browser.cookies.get("authjs.session-token")!);
    const requests: string[] = [];
    const auth = createAuthClient({
      baseUrl: stack.functionsUrl,
      mode: "token",
      storage,
      broadcast: false,
      fetch: (input, init) => {
        requests.push(String(input));
        return fetch(input, init);
      },
    });
    const session = await auth.getSession();
    assert.equal(session?.user.email, "sdk@example.com");

    const token = await auth.accessToken();
    assert.ok(token, "an access token for the signed-in user");
    const { payload } = await jwtVerify(
      token,
      createRemoteJWKSet(new URL(`${stack.functionsUrl}/oidc/jwks`)),
      { issuer: `${stack.functionsUrl}/oidc`, audience: "authenticated", algorithms: ["ES256"] },
    );
    assert.equal(payload.sub, session!.user.id);
    assert.equal(payload.role, "authenticated");

    assert.equal(await auth.accessToken(), token, "cached until it nears expiry");
    assert.equal(requests.filter((r) => r.endsWith("/access-token")).length, 1);

    storage.removeItem("authjs.session-token");
    await auth.getSession();
    assert.equal(await auth.accessToken(), null, "signed out: no token");
    auth.destroy();
  } finally {
    await stack.stop();
  }
});
