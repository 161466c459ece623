/**
 * Pages: Auth.js's built-in HTML pages where HTML is served (the local stack), or
 * `AUTH_PAGES_*` pointing at the frontend (needed on the default Supabase domain, which
 * serves HTML from GET as text), and JSON redirects for fetch clients sending
 * `X-Auth-Return-Redirect`. Over HTTP through the gateway, with the real OpenID provider.
 */
import assert from "node:assert/strict";
import { Client } from "./support/http.ts";
import { authorizeAtProvider, signInWithOidc, startOAuthSignIn } from "./support/oidc.ts";
import { startTestStack } from "./support/stack.ts";

const APP = "http://app.localhost:3000";

async function html(response: Response): Promise<string> {
  assert.match(response.headers.get("Content-Type") ?? "", /^text\/html/);
  return await response.text();
}

/** Where a redirect (302 or `{ url }`) points, without the query. */
function target(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

Deno.test("Auth.js's built-in HTML pages work on the local stack", async (t) => {
  const stack = await startTestStack();
  const F = stack.functionsUrl;
  try {
    await t.step("GET /signin lists the providers, and its forms sign in", async () => {
      const client = new Client();
      const response = await client.get(`${F}/signin`);
      assert.equal(response.status, 200);
      const page = await html(response);
      assert.match(page, /Sign in with Dev OpenID/);
      assert.ok(page.includes(`action="${F}/signin/oidc"`));
      assert.ok(page.includes(`action="${F}/signin/email"`));
      // Post the page's own form, as a browser would: to the OpenID provider.
      const csrfToken = page.match(/name="csrfToken" value="([0-9a-f]{64})"/)?.[1];
      assert.ok(csrfToken, "the form carries the CSRF token");
      const signIn = await client.postForm(`${F}/signin/oidc`, { csrfToken });
      assert.equal(signIn.status, 302);
      const authorize = new URL(signIn.headers.get("Location")!);
      assert.equal(authorize.origin, stack.oidc!.issuer);
      const callback = await authorizeAtProvider(client, authorize, { email: "page@example.com" });
      const done = await client.get(callback);
      await done.body?.cancel();
      assert.equal(done.status, 302);
      assert.ok(client.cookies.has("authjs.session-token"));
    });

    await t.step("GET /signin?error=… explains the error", async () => {
      const page = await html(await new Client().get(`${F}/signin?error=OAuthAccountNotLinked`));
      assert.match(page, /sign in with the same account you used originally/);
    });

    await t.step("GET /signout, /verify-request and /error are pages", async () => {
      const client = new Client();
      const signout = await html(await client.get(`${F}/signout`));
      assert.ok(signout.includes(`action="${F}/signout"`));
      const verify = await html(await client.get(`${F}/verify-request?provider=email&type=email`));
      assert.match(verify, /Check your email/);
      const error = await client.get(`${F}/error?error=Verification`);
      assert.match(await html(error), /The sign in link is no longer valid/);
    });
  } finally {
    await stack.stop();
  }
});

Deno.test("AUTH_PAGES_* send every page to the frontend, and fetch clients get JSON", async (t) => {
  const stack = await startTestStack({
    AUTH_ALLOWED_ORIGINS: APP,
    AUTH_PAGES_SIGNIN: `${APP}/login`,
    AUTH_PAGES_SIGNOUT: `${APP}/logout`,
    AUTH_PAGES_ERROR: `${APP}/auth-error`,
    AUTH_PAGES_VERIFY_REQUEST: `${APP}/check-email`,
    AUTH_PAGES_NEW_USER: `${APP}/welcome`,
  });
  const F = stack.functionsUrl;
  try {
    await t.step("GET of a page redirects to the frontend's", async () => {
      const client = new Client();
      for (
        const [path, page] of [
          ["/signin", "/login"],
          ["/signout", "/logout"],
          ["/verify-request?provider=email&type=email", "/check-email"],
          ["/error?error=Verification", "/auth-error"],
        ]
      ) {
        const response = await client.get(`${F}${path}`);
        await response.body?.cancel();
        assert.equal(response.status, 302, path);
        assert.equal(target(response.headers.get("Location")!), `${APP}${page}`, path);
      }
      const error = await client.get(`${F}/error?error=Verification`);
      await error.body?.cancel();
      assert.equal(
        new URL(error.headers.get("Location")!).searchParams.get("error"),
        "Verification",
      );
    });

    await t.step("a new user lands on the frontend's newUser page", async () => {
      const client = new Client();
      const response = await signInWithOidc(stack, client, {
        email: "newbie@example.com",
        callbackUrl: `${APP}/dashboard`,
      });
      const location = new URL(response.headers.get("Location")!);
      assert.equal(target(location.href), `${APP}/welcome`);
      assert.equal(location.searchParams.get("callbackUrl"), `${APP}/dashboard`);
      // Once known, the user goes straight to callbackUrl.
      const again = await signInWithOidc(stack, new Client(), {
        email: "newbie@example.com",
        callbackUrl: `${APP}/dashboard`,
      });
      assert.equal(again.headers.get("Location"), `${APP}/dashboard`);
    });

    await t.step("sign-in errors land on the frontend's sign-in page", async () => {
      const denied = await signInWithOidc(stack, new Client(), {
        email: "no@example.com",
        decision: "deny",
      });
      const location = new URL(denied.headers.get("Location")!);
      assert.equal(target(location.href), `${APP}/login`);
      assert.equal(location.searchParams.get("error"), "OAuthCallbackError");
      assert.equal(location.searchParams.get("code"), "access_denied");

      const client = new Client();
      const callback = await authorizeAtProvider(
        client,
        await startOAuthSignIn(F, client),
        { email: "forged@example.com" },
      );
      callback.searchParams.set("state", "forged");
      const forged = await client.get(callback);
      await forged.body?.cancel();
      const forgedLocation = new URL(forged.headers.get("Location")!);
      assert.equal(target(forgedLocation.href), `${APP}/login`);
      assert.equal(forgedLocation.searchParams.get("code"), "oauth_state_invalid");
    });

    await t.step("Auth.js's own error redirects go to the frontend's error page", async () => {
      // The emailed link's GET only shows a confirm button; confirming (POST) is the sign-in.
      const response = await new Client().fetch(
        `${F}/callback/email?token=not-a-token&email=x%40example.com`,
        { method: "POST" },
      );
      await response.body?.cancel();
      const location = new URL(response.headers.get("Location")!);
      assert.equal(target(location.href), `${APP}/auth-error`);
      assert.equal(location.searchParams.get("error"), "Verification");
    });

    await t.step("fetch clients get { url } as JSON from every action", async () => {
      const client = new Client({ "X-Auth-Return-Redirect": "1" });
      const csrfToken = await client.csrfToken(F);
      const json = async (response: Response) => {
        assert.equal(response.status, 200);
        assert.match(response.headers.get("Content-Type") ?? "", /application\/json/);
        return (await response.json()).url as string;
      };
      const oidc = await json(await client.postForm(`${F}/signin/oidc`, { csrfToken }));
      assert.equal(target(oidc), `${stack.oidc!.issuer}/auth`);
      const email = await json(
        await client.postForm(`${F}/signin/email`, { csrfToken, email: "json@example.com" }),
      );
      assert.equal(target(email), `${F}/verify-request`);
      const page = await json(await client.get(`${F}/error?error=Verification`));
      assert.equal(page, `${APP}/auth-error?error=Verification`);
      const signout = await json(
        await client.postForm(`${F}/signout`, { csrfToken, callbackUrl: `${APP}/bye` }),
      );
      assert.equal(signout, `${APP}/bye`);
      // An error answers JSON too, pointing at the frontend's sign-in page.
      await stack.oidc!.stop();
      const down = await json(await client.postForm(`${F}/signin/oidc`, { csrfToken }));
      assert.equal(target(down), `${APP}/login`);
      assert.equal(new URL(down).searchParams.get("code"), "provider_unreachable");
    });
  } finally {
    await stack.stop();
  }
});
