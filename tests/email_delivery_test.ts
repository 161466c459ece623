/**
 * Mail delivery that works on Supabase, where outbound ports 25 and 587 are blocked: an HTTPS
 * email API (Auth.js's Resend provider here; Postmark and SendGrid request shapes are checked
 * in _shared/mailer_test.ts) and SMTPS on a TLS-only port. Magic links and the password flow's
 * mail go through the same configured transport.
 *
 * The real provider APIs cannot be reached from here: a local HTTP server stands in for
 * Resend's API (AUTH_EMAIL_API_URL points at it) and the test asserts the requests it gets.
 * SMTPS is real: smtp-server with `secure: true` and a certificate made for the test by a CA
 * made for the test (trusted through AUTH_EMAIL_SERVER_CA).
 */
import assert from "node:assert/strict";
import { simpleParser } from "mailparser";
import { generate } from "selfsigned";
import { SMTPServer } from "smtp-server";
import { countRows } from "./support/db.ts";
import { linkIn, startMagicLinkSignIn } from "./support/email.ts";
import { Client } from "./support/http.ts";
import { type LocalStack, startTestStack } from "./support/stack.ts";

const FROM = "Auth on Supabase <auth@example.com>";

/** Follows an emailed magic link as a person does: the page, then its button (a POST). */
async function confirmMagicLink(stack: LocalStack, client: Client, link: URL) {
  assert.equal(`${link.origin}${link.pathname}`, `${stack.functionsUrl}/callback/email`);
  assert.equal((await client.get(link)).status, 200);
  const response = await client.postForm(link, {});
  assert.equal(response.headers.get("Location"), `${stack.functionsUrl}/session`);
  return await (await client.get(`${stack.functionsUrl}/session`)).json();
}

Deno.test("an HTTPS email API (Resend) carries magic links and password mail", async (t) => {
  const received: { headers: Headers; body: Record<string, string> }[] = [];
  const standIn = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const body = await req.json();
      received.push({ headers: req.headers, body });
      if (String(body.to).startsWith("bounce")) {
        return Response.json({ message: "invalid recipient" }, { status: 422 });
      }
      return Response.json({ id: crypto.randomUUID() });
    },
  );
  const stack = await startTestStack({
    AUTH_EMAIL_SERVER: undefined,
    AUTH_RESEND_KEY: "re_test_key",
    AUTH_EMAIL_FROM: FROM,
    AUTH_EMAIL_API_URL: `http://127.0.0.1:${standIn.addr.port}/emails`,
    AUTH_PASSWORD: "true",
  });
  try {
    await t.step("the magic link goes to the API with the key, sender and link", async () => {
      const client = new Client();
      await startMagicLinkSignIn(stack, client, "ada@example.com");
      assert.equal(received.length, 1);
      const [request] = received;
      assert.equal(request!.headers.get("Authorization"), "Bearer re_test_key");
      assert.equal(request!.headers.get("Content-Type"), "application/json");
      assert.equal(request!.body.to, "ada@example.com");
      assert.equal(request!.body.from, FROM);
      assert.match(request!.body.subject!, /^Sign in to 127\.0\.0\.1/);
      const link = linkIn(request!.body.text!);
      assert.ok(request!.body.html!.includes(link.href.replaceAll("&", "&#38;")));
      const session = await confirmMagicLink(stack, client, link);
      assert.equal(session.user.email, "ada@example.com");
    });

    await t.step("the password flow's verification mail takes the same way", async () => {
      const client = new Client();
      const csrfToken = await client.csrfToken(stack.functionsUrl);
      const response = await client.postForm(`${stack.functionsUrl}/password/signup`, {
        email: "grace@example.com",
        password: "a long enough password",
        csrfToken,
      });
      assert.equal(response.status, 202);
      const request = received.at(-1)!;
      assert.equal(request.body.to, "grace@example.com");
      assert.equal(request.headers.get("Authorization"), "Bearer re_test_key");
      assert.equal(linkIn(request.body.text!).pathname, "/functions/v1/password/verify");
      assert.equal(stack.mail.messages().length, 0, "nothing went through SMTP");
    });

    await t.step("a refused sign-up mail leaves no account behind", async () => {
      const before = await countRows(stack.databaseUrl);
      const client = new Client();
      const csrfToken = await client.csrfToken(stack.functionsUrl);
      const response = await client.postForm(`${stack.functionsUrl}/password/signup`, {
        email: "bounce@example.com",
        password: "a long enough password",
        csrfToken,
      });
      assert.equal(response.status, 503);
      assert.equal((await response.json()).error, "email_unavailable");
      assert.deepEqual(await countRows(stack.databaseUrl), before);
    });
  } finally {
    await stack.stop();
    await standIn.shutdown();
  }
});

Deno.test("SMTPS (implicit TLS, as on port 465) delivers the magic link", async () => {
  const ca = await generate([{ name: "commonName", value: "Test CA" }], {
    keyType: "ec",
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const server = await generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    algorithm: "sha256",
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] },
    ],
  });
  const inbox: { secure: boolean; user?: string; to: string[]; text: string }[] = [];
  const smtps = new SMTPServer({
    secure: true,
    key: server.private,
    cert: server.cert,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === "mailer" && auth.password === "p@ss word") {
        return callback(null, { user: auth.username });
      }
      callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      simpleParser(stream).then((mail) => {
        inbox.push({
          secure: session.secure,
          user: session.user as string | undefined,
          to: session.envelope.rcptTo.map((r) => r.address),
          text: mail.text ?? "",
        });
        callback();
      }, callback);
    },
  });
  smtps.on("error", () => {}); // a client hanging up mid-handshake is not the test's concern
  await new Promise<void>((resolve) => smtps.listen(0, "127.0.0.1", resolve));
  const port = (smtps.server.address() as { port: number }).port;
  const stack = await startTestStack({
    AUTH_EMAIL_SERVER: `smtps://mailer:${encodeURIComponent("p@ss word")}@127.0.0.1:${port}`,
    AUTH_EMAIL_SERVER_CA: ca.cert,
    AUTH_EMAIL_FROM: FROM,
  });
  try {
    const client = new Client();
    await startMagicLinkSignIn(stack, client, "ada@example.com");
    assert.equal(inbox.length, 1);
    const [mail] = inbox;
    assert.equal(mail!.secure, true, "the whole session was TLS");
    assert.equal(mail!.user, "mailer", "authenticated with the URL's credentials");
    assert.deepEqual(mail!.to, ["ada@example.com"]);
    assert.equal(stack.mail.messages().length, 0, "not the plain SMTP catcher");
    const session = await confirmMagicLink(stack, client, linkIn(mail!.text));
    assert.equal(session.user.email, "ada@example.com");
  } finally {
    await stack.stop();
    await new Promise<void>((resolve) => smtps.close(() => resolve()));
  }
});
