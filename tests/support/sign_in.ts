/**
 * A real magic-link sign-in through the gateway and the SMTP mail catcher: what a browser
 * does, ending with a client that holds the session cookie.
 */
import assert from "node:assert/strict";
import { Client } from "./http.ts";
import type { LocalStack } from "./stack.ts";

export async function signInWithMagicLink(
  stack: LocalStack,
  email: string,
  client = new Client(),
): Promise<Client> {
  const lastId = stack.mail.messages().at(-1)?.id ?? 0;
  const csrfToken = await client.csrfToken(stack.functionsUrl);
  const response = await client.postForm(`${stack.functionsUrl}/signin/email`, {
    email,
    csrfToken,
  });
  assert.equal(response.status, 302, "the sign-in form is accepted");
  // This sign-in's mail, not an earlier one to the same address.
  const mail = await stack.mail.waitFor((m) => m.id > lastId && m.to.includes(email));
  const link = mail.text.match(/https?:\/\/\S+/)?.[0];
  assert.ok(link, "the mail holds a link");
  // The link's GET only shows a confirm button (scanner-safe); the POST signs in.
  const callback = await client.fetch(link, { method: "POST" });
  assert.equal(callback.status, 302, "confirming the link signs in");
  assert.ok(client.cookies.has("authjs.session-token"), "a session cookie is set");
  return client;
}
