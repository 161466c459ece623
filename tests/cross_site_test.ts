/**
 * Cross-site frontends over HTTP through the gateway: SameSite by site, credentialed CORS for
 * allowed origins only, and `callbackUrl` / redirects kept to allowed origins.
 */
import assert from "node:assert/strict";
import { Client } from "./support/http.ts";
import { startTestStack } from "./support/stack.ts";

const FRONTEND = "https://app.example.com";

function cookieLine(response: Response, name: string): string {
  const line = response.headers.getSetCookie().find((l) => l.startsWith(`${name}=`));
  assert.ok(line, `${name} is set`);
  return line;
}

Deno.test("a cross-site frontend gets SameSite=None; Secure cookies and CORS, others nothing", async (t) => {
  // The gateway listens on http; AUTH_URL is the public https URL Auth.js builds from.
  const stack = await startTestStack({
    AUTH_URL: "https://abc.functions.example.net/functions/v1",
    AUTH_ALLOWED_ORIGINS: FRONTEND,
  });
  try {
    const client = new Client();
    await t.step("cookies are SameSite=None; Secure", async () => {
      const response = await client.get(`${stack.functionsUrl}/csrf`, { Origin: FRONTEND });
      const line = cookieLine(response, "__Host-authjs.csrf-token");
      assert.match(line, /SameSite=None/i);
      assert.match(line, /Secure/);
      assert.equal(response.headers.get("Access-Control-Allow-Origin"), FRONTEND);
      assert.equal(response.headers.get("Access-Control-Allow-Credentials"), "true");
      await response.body?.cancel();
    });

    await t.step("a disallowed origin gets no CORS grant, even with cookies", async () => {
      const response = await client.get(`${stack.functionsUrl}/session`, {
        Origin: "https://evil.example.org",
      });
      assert.equal(response.headers.get("Access-Control-Allow-Origin"), null);
      assert.equal(response.headers.get("Access-Control-Allow-Credentials"), null);
      await response.body?.cancel();
      const preflight = await fetch(`${stack.functionsUrl}/session`, {
        method: "OPTIONS",
        headers: { Origin: "https://evil.example.org", "Access-Control-Request-Method": "POST" },
      });
      assert.equal(preflight.status, 403);
      assert.equal((await preflight.json()).error, "origin_not_allowed");
    });

    await t.step("callbackUrl on another origin falls back to the functions' URL", async () => {
      const json = new Client({ "X-Auth-Return-Redirect": "1" });
      const out = async (callbackUrl: string) => {
        const csrfToken = await json.csrfToken(stack.functionsUrl);
        const response = await json.postForm(`${stack.functionsUrl}/signout`, {
          csrfToken,
          callbackUrl,
        });
        assert.equal(response.status, 200);
        return (await response.json()).url as string;
      };
      assert.equal(await out(`${FRONTEND}/after`), `${FRONTEND}/after`);
      const evil = await out("https://evil.example.org/steal");
      assert.ok(!evil.includes("evil"), evil);
      assert.equal(new URL(evil).origin, "https://abc.functions.example.net");
    });

    await t.step("a magic link never carries a disallowed callbackUrl", async () => {
      const csrfToken = await client.csrfToken(stack.functionsUrl);
      const response = await client.postForm(`${stack.functionsUrl}/signin/email`, {
        csrfToken,
        email: "cross@example.com",
        callbackUrl: "https://evil.example.org/steal",
      });
      assert.equal(response.status, 302);
      const mail = await stack.mail.waitFor((m) => m.to.includes("cross@example.com"));
      const link = new URL(mail.text.match(/https?:\/\/\S+/)![0]);
      assert.ok(!link.searchParams.get("callbackUrl")?.includes("evil"), link.href);
    });
  } finally {
    await stack.stop();
  }
});

Deno.test("a same-site frontend keeps SameSite=Lax cookies", async () => {
  const stack = await startTestStack({
    AUTH_URL: "https://auth.example.com/functions/v1",
    AUTH_ALLOWED_ORIGINS: FRONTEND,
  });
  try {
    const response = await fetch(`${stack.functionsUrl}/csrf`, { headers: { Origin: FRONTEND } });
    assert.match(cookieLine(response, "__Host-authjs.csrf-token"), /SameSite=Lax/i);
    assert.equal(response.headers.get("Access-Control-Allow-Origin"), FRONTEND);
    await response.body?.cancel();
  } finally {
    await stack.stop();
  }
});
