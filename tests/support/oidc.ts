/**
 * Drives an OAuth / OpenID Connect sign-in with the local stack's development OpenID provider
 * over plain HTTP, the way a browser would: start at `POST /signin/oidc`, type an email on
 * the provider's login page, press Allow (or Deny) on its consent page, and come back to
 * `/callback/oidc`. Every step keeps cookies in the given `Client`.
 *
 * @example
 * ```ts
 * const client = new Client();
 * const response = await signInWithOidc(stack, client, { email: "ada@example.com" });
 * response.headers.get("Location"); // the callbackUrl, with a session cookie in client
 * ```
 */
import assert from "node:assert/strict";
import type { Client } from "./http.ts";
import type { LocalStack } from "./stack.ts";

export interface ProviderLogin {
  email: string;
  /** Typed in the login page's optional name field. */
  name?: string;
  /** Which consent button to press; default "allow". */
  decision?: "allow" | "deny";
}

/**
 * `POST /signin/<provider>` with a fresh CSRF token; returns the provider's authorization
 * URL Auth.js redirected to.
 */
export async function startOAuthSignIn(
  functionsUrl: string,
  client: Client,
  { provider = "oidc", callbackUrl }: { provider?: string; callbackUrl?: string } = {},
): Promise<URL> {
  const csrfToken = await client.csrfToken(functionsUrl);
  const fields: Record<string, string> = { csrfToken };
  if (callbackUrl) fields.callbackUrl = callbackUrl;
  const response = await client.postForm(`${functionsUrl}/signin/${provider}`, fields);
  await response.body?.cancel();
  assert.equal(response.status, 302, "POST /signin answers with a redirect");
  return new URL(response.headers.get("Location")!);
}

/**
 * Walks the development provider's pages from its authorization URL until it redirects
 * away from the provider; returns that URL (normally `/callback/oidc?code=…&state=…`)
 * without following it.
 */
export async function authorizeAtProvider(
  client: Client,
  authorizeUrl: URL,
  login: ProviderLogin,
): Promise<URL> {
  const issuerOrigin = authorizeUrl.origin;
  let url = authorizeUrl;
  for (let step = 0; step < 12; step++) {
    if (url.origin !== issuerOrigin) return url;
    let response = await client.get(url);
    if (response.status === 200) {
      const html = await response.text();
      const uid = url.pathname.match(/^\/interaction\/([\w-]+)$/)?.[1];
      assert.ok(uid, `a page at ${url.pathname}`);
      if (html.includes('id="login-form"')) {
        response = await client.postForm(`${issuerOrigin}/interaction/${uid}/login`, {
          email: login.email,
          name: login.name ?? "",
        });
      } else if (html.includes('id="consent-form"')) {
        response = await client.postForm(`${issuerOrigin}/interaction/${uid}/consent`, {
          decision: login.decision ?? "allow",
        });
      } else {
        assert.fail(`Unexpected provider page: ${html.slice(0, 300)}`);
      }
    }
    await response.body?.cancel();
    const location = response.headers.get("Location");
    assert.ok(
      response.status >= 300 && response.status < 400 && location,
      `the provider redirects (got ${response.status} at ${url.pathname})`,
    );
    url = new URL(location, url);
  }
  assert.fail("The provider never redirected back");
}

/**
 * The whole sign-in: start, log in and consent at the provider, then follow the redirect
 * to `/callback/<provider>`; returns the callback's response (a redirect to `callbackUrl`
 * on success, to an error page otherwise).
 */
export async function signInWithOidc(
  stack: LocalStack,
  client: Client,
  login: ProviderLogin & { callbackUrl?: string },
): Promise<Response> {
  const authorizeUrl = await startOAuthSignIn(stack.functionsUrl, client, {
    callbackUrl: login.callbackUrl,
  });
  const callback = await authorizeAtProvider(client, authorizeUrl, login);
  const response = await client.get(callback);
  await response.body?.cancel();
  return response;
}
