/** Starting a magic-link sign-in the way Auth.js's sign-in page does. */
import assert from "node:assert/strict";
import type { Client } from "./http.ts";
import type { LocalStack } from "./stack.ts";

/** POSTs `/signin/email` (callback to `/session`) and asserts the redirect to verify-request. */
export async function startMagicLinkSignIn(stack: LocalStack, client: Client, email: string) {
  const csrfToken = await client.csrfToken(stack.functionsUrl);
  const response = await client.postForm(`${stack.functionsUrl}/signin/email`, {
    email,
    csrfToken,
    callbackUrl: `${stack.functionsUrl}/session`,
  });
  assert.equal(response.status, 302);
  const location = new URL(response.headers.get("Location")!);
  assert.equal(`${location.origin}${location.pathname}`, `${stack.functionsUrl}/verify-request`);
}

/** The first http(s) link in a mail's text. */
export function linkIn(text: string): URL {
  const link = text.match(/https?:\/\/\S+/)?.[0];
  assert.ok(link, "the mail holds a link");
  return new URL(link);
}
