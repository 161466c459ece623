/**
 * The HTTPS email providers cannot be reached from here: each test points the mailer at a
 * local HTTP server standing in for the provider's API and asserts the request it receives.
 */
import assert from "node:assert/strict";
import type { EmailConfig } from "./config.ts";
import { createMailer, parseAddress } from "./mailer.ts";

interface Received {
  method: string;
  path: string;
  headers: Headers;
  body: Record<string, unknown>;
}

async function withStandIn(
  status: number,
  run: (url: URL, received: Received[]) => Promise<void>,
) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    received.push({
      method: req.method,
      path: new URL(req.url).pathname,
      headers: req.headers,
      body: await req.json(),
    });
    return Response.json({ id: "stand-in", echo: "secret-key" }, { status });
  });
  try {
    await run(new URL(`http://127.0.0.1:${server.addr.port}/send`), received);
  } finally {
    await server.shutdown();
  }
}

const message = {
  to: "ada@example.com",
  subject: "Sign in to example.com",
  text: "Use https://example.com/link\n",
  html: '<a href="https://example.com/link">Sign in</a>',
};
const from = "Example <auth@example.com>";

function config(transport: "resend" | "postmark" | "sendgrid", apiUrl: URL): EmailConfig {
  return { transport, apiKey: "secret-key", apiUrl, from };
}

Deno.test("Resend: Bearer key and {from, to, subject, text, html}", async () => {
  await withStandIn(200, async (url, received) => {
    await createMailer(config("resend", url)).send(message);
    const [request] = received;
    assert.equal(request!.method, "POST");
    assert.equal(request!.path, "/send");
    assert.equal(request!.headers.get("Authorization"), "Bearer secret-key");
    assert.equal(request!.headers.get("Content-Type"), "application/json");
    assert.deepEqual(request!.body, { from, ...message });
  });
});

Deno.test("Postmark: server token header and its field names", async () => {
  await withStandIn(200, async (url, received) => {
    await createMailer(config("postmark", url)).send(message);
    const [request] = received;
    assert.equal(request!.headers.get("X-Postmark-Server-Token"), "secret-key");
    assert.equal(request!.headers.get("Authorization"), null);
    assert.deepEqual(request!.body, {
      From: from,
      To: message.to,
      Subject: message.subject,
      TextBody: message.text,
      HtmlBody: message.html,
      MessageStream: "outbound",
    });
  });
});

Deno.test("SendGrid: Bearer key, personalizations and content parts", async () => {
  await withStandIn(202, async (url, received) => {
    await createMailer(config("sendgrid", url)).send(message);
    const [request] = received;
    assert.equal(request!.headers.get("Authorization"), "Bearer secret-key");
    assert.deepEqual(request!.body, {
      personalizations: [{ to: [{ email: message.to }] }],
      from: { email: "auth@example.com", name: "Example" },
      subject: message.subject,
      content: [
        { type: "text/plain", value: message.text },
        { type: "text/html", value: message.html },
      ],
    });
  });
});

Deno.test("a refusing provider is an error that echoes neither key nor answer", async () => {
  await withStandIn(401, async (url) => {
    await assert.rejects(
      () => createMailer(config("resend", url)).send(message),
      (error: Error) => {
        assert.equal(error.message, "Cannot send mail: resend answered 401");
        return true;
      },
    );
  });
});

Deno.test("parseAddress() splits a display name from the address", () => {
  assert.deepEqual(parseAddress("Example <auth@example.com>"), {
    email: "auth@example.com",
    name: "Example",
  });
  assert.deepEqual(parseAddress('"Ex, Ample" <a@b.c>'), { email: "a@b.c", name: "Ex, Ample" });
  assert.deepEqual(parseAddress("auth@example.com"), { email: "auth@example.com" });
});
