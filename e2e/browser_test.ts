/**
 * End-to-end in headless Chromium (Debian's `chromium`, driven by `playwright-core`; no
 * browser is ever downloaded) against the local stack and the demo frontend:
 *
 * 1. same-site over http (127.0.0.1, two ports): sign-in, the second tab follows, sign-out;
 * 2. truly cross-site over https (`app.test` → `functions.test`, self-signed certificate):
 *    cookie mode with `SameSite=None; Secure`, and no CORS grant for another origin;
 * 3. third-party cookies blocked: cookie mode cannot see the session, token mode signs in.
 *
 * Each sign-in method is one entry of SIGN_IN; every scenario runs for each method the stack
 * offers (`oidc` lights up when the build has the development OpenID provider).
 */
import assert from "node:assert/strict";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import type { LocalStack, LocalStackOptions } from "../dev/stack.ts";
import { Authenticator } from "../tests/support/mfa.ts";
import { decodeSvgQr } from "../tests/support/qr.ts";
import { startTestStack } from "../tests/support/stack.ts";
import {
  chromiumOptions,
  launch,
  screenshot,
  signInByEmail,
  statusOf,
  TIMEOUT,
} from "./support.ts";

type SignIn = (page: Page, stack: LocalStack, email: string) => Promise<void>;

/** How a user signs in with each method, on the demo page. */
const SIGN_IN: Record<string, SignIn> = {
  email: signInByEmail,
  async oidc(page, stack, email) {
    // The development OpenID provider (dev/oidc_provider.ts): sign in with an email, allow,
    // and come back to the demo.
    const home = new URL(stack.frontend!.url).origin;
    await Promise.all([
      page.waitForURL((url) => url.origin !== home, { timeout: TIMEOUT }),
      page.locator('form[data-provider="oidc"] button').click(),
    ]);
    for (let i = 0; i < 5; i++) {
      await page.waitForLoadState();
      if (new URL(page.url()).origin === home) break;
      const input = page.locator("input#email");
      if (await input.count()) await input.fill(email);
      // Each submit loads a new document (the consent page, or the way back to the demo).
      await Promise.all([
        page.waitForEvent("load", { timeout: TIMEOUT }),
        page.locator("button#sign-in, button#allow").first().click(),
      ]);
    }
    assert.equal(new URL(page.url()).origin, home, "back on the demo");
  },
};

function startStack(https?: LocalStackOptions["https"]) {
  return startTestStack({}, { frontendPort: 0, https });
}

/** The methods this stack offers that the tests know how to drive; says which are skipped. */
async function methods(stack: LocalStack, client?: Deno.HttpClient): Promise<string[]> {
  const providers = await (await fetch(local(`${stack.functionsUrl}/providers`), { client }))
    .json();
  if (!("oidc" in providers)) console.log("skipped: no oidc provider in this build");
  return Object.keys(SIGN_IN).filter((id) => id in providers);
}

/** The same URL on 127.0.0.1: this process does not resolve the `.test` names. */
function local(url: string): string {
  const u = new URL(url);
  u.hostname = "127.0.0.1";
  return u.href;
}

Deno.test({
  name: "demo (same-site, http): sign in, second tab follows, sign out",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const stack = await startStack();
    const browser = await launch();
    try {
      for (const method of await methods(stack)) {
        await t.step(`with ${method}`, async () => {
          const context = await browser.newContext();
          const [first, second] = [await context.newPage(), await context.newPage()];
          await first.goto(stack.frontend!.url);
          await second.goto(stack.frontend!.url);
          await statusOf(first, "unauthenticated");
          await statusOf(second, "unauthenticated");

          const email = `e2e.${method}@example.com`;
          await SIGN_IN[method]!(first, stack, email);
          await statusOf(first, "authenticated");
          if (method === "email") {
            assert.match(await first.locator("#status").innerText(), new RegExp(email));
          }
          await statusOf(second, "authenticated");
          await screenshot(first, `demo-signed-in-${method}.png`);
          // 127.0.0.1:<demo> and 127.0.0.1:<gateway> are one site: Lax cookies are enough.
          const cookie = (await context.cookies()).find((c) => c.name === "authjs.session-token");
          assert.equal(cookie?.sameSite, "Lax");

          await second.locator("#signout").click();
          await statusOf(second, "unauthenticated");
          await statusOf(first, "unauthenticated");
          assert.equal(
            (await context.cookies()).some((c) => c.name === "authjs.session-token"),
            false,
          );
          await context.close();
        });
      }
    } finally {
      await browser.close();
      await stack.stop();
    }
  },
});

async function makeCertificate(dir: string) {
  const { success } = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=functions.test",
      "-addext",
      "subjectAltName=DNS:functions.test,DNS:app.test,DNS:other.test,IP:127.0.0.1",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
    ],
    stdout: "null",
    stderr: "null",
  }).output();
  assert.ok(success, "openssl made a certificate");
  return {
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
  };
}

/** Three sites on 127.0.0.1: the functions, the frontend, and a site that is not allowed. */
const HOSTS = ["--host-resolver-rules=MAP *.test 127.0.0.1", "--ignore-certificate-errors"];

/**
 * A browser with a regular profile whose third-party cookie setting is the user's choice
 * (Chromium's `cookie_controls_mode`: 0 allows, 1 blocks). Debian's Chromium blocks them by
 * default ("UserPreferences"), so the allowed case must say so explicitly.
 */
async function browserWithProfile(dir: string, thirdPartyCookies: boolean) {
  const profile = await Deno.makeTempDir({ dir });
  await Deno.mkdir(`${profile}/Default`, { recursive: true });
  await Deno.writeTextFile(
    `${profile}/Default/Preferences`,
    JSON.stringify({
      profile: {
        cookie_controls_mode: thirdPartyCookies ? 0 : 1,
        block_third_party_cookies: !thirdPartyCookies,
      },
    }),
  );
  return await chromium.launchPersistentContext(profile, chromiumOptions(HOSTS));
}

/** What a page on `origin` gets from a credentialed `fetch` of the session. */
async function readSessionFrom(context: BrowserContext, origin: string, functionsUrl: string) {
  const page = await context.newPage();
  await page.goto(origin);
  const result = await page.evaluate(async (url) => {
    try {
      const response = await fetch(`${url}/session`, { credentials: "include" });
      return `read: ${await response.text()}`;
    } catch (error) {
      return `blocked: ${(error as Error).name}`;
    }
  }, functionsUrl);
  await page.close();
  return result;
}

Deno.test({
  name:
    "demo (cross-site, https): cookie mode, CORS refusal, token mode without third-party cookies",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir();
    const certificate = await makeCertificate(dir);
    const stack = await startStack({
      ...certificate,
      functionsHost: "functions.test",
      frontendHost: "app.test",
    });
    const client = Deno.createHttpClient({ caCerts: [certificate.cert] });
    try {
      const frontend = stack.frontend!.url;
      assert.match(frontend, /^https:\/\/app\.test:/);
      assert.match(stack.functionsUrl, /^https:\/\/functions\.test:/);
      assert.equal(stack.config.cookieSameSite, "none");
      const available = await methods(stack, client);

      for (const method of available) {
        await t.step(`cookie mode across sites with ${method}`, async () => {
          const context = await browserWithProfile(dir, true);
          const [first, second] = [await context.newPage(), await context.newPage()];
          await first.goto(frontend);
          await second.goto(frontend);
          await statusOf(first, "unauthenticated");
          await SIGN_IN[method]!(first, stack, `cross.${method}@example.com`);
          await statusOf(first, "authenticated");
          await statusOf(second, "authenticated");
          await screenshot(first, `demo-cross-site-${method}.png`);
          const session = (await context.cookies(stack.functionsUrl)).find((c) =>
            c.name === "__Secure-authjs.session-token"
          );
          assert.equal(session?.sameSite, "None");
          assert.equal(session?.secure, true);

          // The session cookie is there; only the allowed origin may read with it.
          const mine = await readSessionFrom(context, frontend, stack.functionsUrl);
          assert.match(mine, new RegExp(`^read: .*cross\\.${method}@example\\.com`));
          const theirs = await readSessionFrom(
            context,
            frontend.replace("app.test", "other.test"),
            stack.functionsUrl,
          );
          assert.equal(theirs, "blocked: TypeError", "another origin gets no CORS grant");

          await second.locator("#signout").click();
          await statusOf(first, "unauthenticated");
          await context.close();
        });
      }

      await t.step("another origin gets no CORS grant, preflight included", async () => {
        const direct = await fetch(local(`${stack.functionsUrl}/session`), {
          headers: { Origin: "https://other.test" },
          client,
        });
        assert.equal(direct.headers.get("Access-Control-Allow-Origin"), null);
        await direct.body?.cancel();
        const preflight = await fetch(local(`${stack.functionsUrl}/session`), {
          method: "OPTIONS",
          headers: { Origin: "https://other.test", "Access-Control-Request-Method": "POST" },
          client,
        });
        assert.equal(preflight.status, 403);
        assert.equal(preflight.headers.get("Access-Control-Allow-Origin"), null);
        await preflight.body?.cancel();
        const allowed = await fetch(local(`${stack.functionsUrl}/session`), {
          method: "OPTIONS",
          headers: { Origin: frontend, "Access-Control-Request-Method": "POST" },
          client,
        });
        assert.equal(allowed.status, 204);
        assert.equal(allowed.headers.get("Access-Control-Allow-Origin"), frontend);
        assert.equal(allowed.headers.get("Access-Control-Allow-Credentials"), "true");
      });

      for (const method of available) {
        await t.step(
          `third-party cookies blocked: token mode signs in with ${method}`,
          async () => {
            const context = await browserWithProfile(dir, false);
            const page = await context.newPage();

            // Cookie mode breaks here — which proves the cookies really are blocked.
            await page.goto(frontend);
            await statusOf(page, "unauthenticated");
            const form = page.locator(`form[data-provider="${method}"]`);
            for (const input of await form.locator("input").all()) {
              await input.fill(`blocked.${method}@example.com`);
            }
            await form.locator("button").click();
            await page.locator("#message:not(:empty)").waitFor({ timeout: TIMEOUT });
            assert.match(await page.locator("#message").innerText(), /CSRF cookie is missing/);

            await page.goto(`${frontend}/?mode=token`);
            await statusOf(page, "unauthenticated");
            await SIGN_IN[method]!(page, stack, `token.${method}@example.com`);
            await statusOf(page, "authenticated");
            assert.match(page.url(), /^https:\/\/app\.test:\d+\/\?mode=token$/, "code removed");
            await screenshot(page, `demo-token-mode-${method}.png`);
            const token = await page.evaluate(() => localStorage.getItem("authjs.session-token"));
            assert.ok(token, "a bearer session in storage");

            await page.locator("#signout").click();
            await statusOf(page, "unauthenticated");
            assert.equal(
              await page.evaluate(() => localStorage.getItem("authjs.session-token")),
              null,
            );
            await context.close();
          },
        );
      }
    } finally {
      client.close();
      await stack.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "demo: add an authenticator app, then a sign-in waits for its code",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stack = await startTestStack(
      { AUTH_MFA: "true", AUTH_RATE_LIMIT_EMAIL_ADDRESS: "off" },
      { frontendPort: 0, oidc: false },
    );
    const browser = await launch();
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(stack.frontend!.url);
      await statusOf(page, "unauthenticated");
      const email = "e2e.mfa@example.com";
      await SIGN_IN.email!(page, stack, email);
      await statusOf(page, "authenticated");

      await page.locator("#mfa-enroll").click();
      await page.locator("#mfa-secret:not(:empty)").waitFor({ timeout: TIMEOUT });
      const secret = await page.locator("#mfa-secret").innerText();
      const qr = decodeURIComponent(
        (await page.locator("#mfa-qr").getAttribute("src"))!.replace("data:image/svg+xml,", ""),
      );
      assert.match(decodeSvgQr(qr) ?? "", new RegExp(`^otpauth://totp/.*secret=${secret}&`));
      const app = new Authenticator(secret);
      await page.locator("#mfa-confirm input").fill(await app.code());
      await page.locator("#mfa-confirm button").click();
      await page.locator("#mfa-codes:not([hidden])").waitFor({ timeout: TIMEOUT });
      const codes = (await page.locator("#mfa-recovery").innerText()).trim().split("\n");
      assert.equal(codes.length, 10);
      await screenshot(page, "demo-mfa-enrolled.png");

      await page.locator("#signout").click();
      await statusOf(page, "unauthenticated");
      await page.goto(stack.frontend!.url); // a fresh page: no message left over
      await statusOf(page, "unauthenticated");
      await SIGN_IN.email!(page, stack, email);
      await statusOf(page, "mfa_required");
      assert.equal(await page.locator("#signed-in").isVisible(), false);
      await screenshot(page, "demo-mfa-required.png");
      await page.locator("#mfa-verify input").fill(await app.code());
      await page.locator("#mfa-verify button").click();
      await statusOf(page, "authenticated");
      assert.match(await page.locator("#session").innerText(), /"aal": "aal2"/);
      await context.close();
    } finally {
      await browser.close();
      await stack.stop();
    }
  },
});
