import assert from "node:assert/strict";
import { frontendPage, pagesForAuthJs, type RedirectContext, refineRedirect } from "./redirects.ts";

const F = "https://abc.supabase.co/functions/v1";
const context = (over: Partial<RedirectContext> = {}): RedirectContext => ({
  url: new URL(`${F}/callback/oidc?code=c&state=s`),
  action: "callback",
  providerType: "oidc",
  basePath: "/functions/v1",
  pages: {},
  errors: [],
  ...over,
});
const redirect = (location: string) =>
  new Response(null, { status: 302, headers: { Location: location, "Set-Cookie": "a=b" } });

Deno.test("refineRedirect() names OAuth failures Auth.js calls Configuration", async () => {
  const stateError = Object.assign(new Error("state mismatch"), { type: "InvalidCheck" });
  const wrapped = Object.assign(new Error("Read more"), {
    type: "CallbackRouteError",
    cause: { err: new TypeError("fetch failed") },
  });
  for (
    const [errors, code] of [
      [[stateError], "oauth_state_invalid"],
      [[Object.assign(new Error("pkce"), { type: "InvalidCheck" })], "oauth_check_failed"],
      [[wrapped], "provider_unreachable"],
      [[Object.assign(new Error("x"), { type: "CallbackRouteError" })], "provider_error"],
    ] as const
  ) {
    const response = await refineRedirect(
      redirect(`${F}/error?error=Configuration`),
      context({ errors: [...errors] }),
    );
    const location = new URL(response.headers.get("Location")!);
    assert.equal(location.pathname, "/functions/v1/signin");
    assert.equal(location.searchParams.get("error"), "OAuthCallbackError");
    assert.equal(location.searchParams.get("code"), code);
    assert.equal(response.headers.get("Set-Cookie"), "a=b", "cookies are kept");
  }
});

Deno.test("refineRedirect() leaves other answers alone", async () => {
  const unrelated = redirect(`${F}/error?error=Configuration`);
  assert.equal(
    await refineRedirect(unrelated, context({ providerType: "email", errors: [new Error()] })),
    unrelated,
  );
  const success = redirect("https://app.example.com/dashboard");
  assert.equal(await refineRedirect(success, context()), success);
  const unknown = redirect(`${F}/error?error=Configuration`);
  assert.equal(await refineRedirect(unknown, context({ errors: [new Error("?")] })), unknown);
});

Deno.test("refineRedirect() rewrites JSON { url } answers and frontend pages", async () => {
  const response = await refineRedirect(
    Response.json({ url: `${F}/signin?error=OAuthCallbackError` }),
    context({
      url: new URL(`${F}/callback/oidc?error=access_denied&state=s`),
      pages: { signIn: "https://app.example.com/login" },
    }),
  );
  assert.deepEqual(await response.json(), {
    url: "https://app.example.com/login?error=OAuthCallbackError&code=access_denied",
  });
});

Deno.test("frontend pages are kept from Auth.js and served as redirects", () => {
  const pages = {
    signIn: "https://app.example.com/login",
    error: "/functions/v1/oops",
    signOut: "https://app.example.com/bye",
  };
  assert.deepEqual(pagesForAuthJs(pages), {
    error: "/functions/v1/oops",
    signOut: "https://app.example.com/bye",
  });
  const page = frontendPage(new URL(`${F}/signin?callbackUrl=%2Fx`), {
    basePath: "/functions/v1",
    pages,
  });
  assert.equal(page?.href, "https://app.example.com/login?callbackUrl=%2Fx");
  assert.equal(
    frontendPage(new URL(`${F}/error?error=x`), { basePath: "/functions/v1", pages }),
    undefined,
  );
});
