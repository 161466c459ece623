/**
 * Sign-in flows the security, fault and load suites repeat: a magic link requested and
 * followed through the gateway and the mail catcher.
 */
import assert from "node:assert/strict";
import type { Client } from "./http.ts";
import type { LocalStack } from "./stack.ts";

/** POST /signin/email; the response as it came (302 on success). */
export async function requestLink(
  stack: LocalStack,
  client: Client,
  email: string,
  callbackUrl = `${stack.functionsUrl}/session`,
): Promise<Response> {
  const csrfToken = await client.csrfToken(stack.functionsUrl);
  return client.postForm(`${stack.functionsUrl}/signin/email`, {
    email,
    csrfToken,
    callbackUrl,
  });
}

/** The newest magic link mailed to `email` (waits for it). */
export async function linkFor(
  stack: LocalStack,
  email: string,
  after = 0,
): Promise<URL> {
  const mail = await stack.mail.waitFor((m) => m.to.includes(email) && m.id > after);
  const link = mail.text.match(/https?:\/\/\S+/)?.[0];
  assert.ok(link, "the mail holds a link");
  return new URL(link);
}

/** Requests a link, follows it, and checks the session cookie is set. */
export async function signIn(
  stack: LocalStack,
  client: Client,
  email: string,
): Promise<URL> {
  const lastId = stack.mail.messages().at(-1)?.id ?? 0;
  const response = await requestLink(stack, client, email);
  await response.body?.cancel();
  assert.equal(response.status, 302, `sign-in of ${email} starts`);
  const link = await linkFor(stack, email, lastId);
  // The link's GET only asks for a click (scanner-safe); the POST signs in.
  const followed = await client.fetch(link, { method: "POST" });
  await followed.body?.cancel();
  assert.equal(followed.status, 302);
  assert.ok(client.cookies.has("authjs.session-token"), "session cookie set");
  return link;
}

/** POST /signout with a fresh CSRF token. */
export async function signOut(stack: LocalStack, client: Client): Promise<Response> {
  const csrfToken = await client.csrfToken(stack.functionsUrl);
  return client.postForm(`${stack.functionsUrl}/signout`, { csrfToken });
}
