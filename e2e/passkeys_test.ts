/**
 * Passkeys end to end in headless Chromium (Debian's `chromium` through `playwright-core`)
 * with the DevTools protocol's virtual authenticator (`WebAuthn.addVirtualAuthenticator`):
 * on the demo, a user signed in by magic link adds a passkey, signs out, signs in with the
 * passkey as the same user, sees it listed, removes it, and the passkey then no longer signs
 * in. The demo and the functions run on `localhost` (two ports, one site): WebAuthn refuses
 * IP addresses as relying parties, and http://localhost is a secure context.
 */
import assert from "node:assert/strict";
import type { CDPSession, Page } from "playwright-core";
import { startTestStack } from "../tests/support/stack.ts";
import { launch, screenshot, signInByEmail, statusOf, TIMEOUT } from "./support.ts";

// The servers listen on 127.0.0.1 only: never try ::1 for localhost.
const LOCALHOST = "--host-resolver-rules=MAP localhost 127.0.0.1";

async function messageOf(page: Page, pattern: RegExp) {
  await page.waitForFunction(
    (source) => new RegExp(source).test(document.getElementById("message")!.textContent ?? ""),
    pattern.source,
    { timeout: TIMEOUT },
  );
}

async function userIdOf(page: Page): Promise<string> {
  return JSON.parse(await page.locator("#session").innerText()).user.id;
}

async function passkeyCount(page: Page, count: number) {
  await page.waitForFunction(
    (n) => document.querySelectorAll("#passkey-list li").length === n,
    count,
    { timeout: TIMEOUT },
  );
}

async function virtualAuthenticator(cdp: CDPSession): Promise<string> {
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return authenticatorId;
}

Deno.test({
  name: "demo: add a passkey, sign in with it as the same user, list it, remove it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stack = await startTestStack(
      { AUTH_PASSKEYS: "true" },
      { frontendPort: 0, hostname: "localhost", oidc: false },
    );
    const browser = await launch([LOCALHOST]);
    try {
      const frontend = stack.frontend!.url;
      assert.match(frontend, /^http:\/\/localhost:\d+$/);
      assert.deepEqual(stack.config.passkeys, {
        rpId: "localhost",
        rpName: "localhost",
        origin: frontend,
      });
      const context = await browser.newContext();
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      const authenticatorId = await virtualAuthenticator(cdp);

      await page.goto(frontend);
      await statusOf(page, "unauthenticated");
      await page.locator('form[data-provider="passkey"] button').waitFor({ timeout: TIMEOUT });
      await signInByEmail(page, stack, "passkey.user@example.com");
      await page.goto(stack.frontend!.url);
      await statusOf(page, "authenticated");
      const userId = await userIdOf(page);
      await passkeyCount(page, 0);

      await page.locator("#add-passkey").click();
      await messageOf(page, /Passkey added/);
      await passkeyCount(page, 1);
      const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
      assert.equal(credentials.length, 1);
      assert.equal(credentials[0]!.rpId, "localhost");
      assert.equal(credentials[0]!.isResidentCredential, true, "a discoverable passkey");
      const listedId = await page.locator("#passkey-list li").getAttribute("data-id");
      const credentialId = credentials[0]!.credentialId.replace(/\+/g, "-").replace(/\//g, "_")
        .replace(/=+$/, "");
      assert.equal(listedId, credentialId, "the list shows the authenticator's credential");
      await screenshot(page, "passkey-added.png");

      await page.locator("#signout").click();
      await statusOf(page, "unauthenticated");
      await page.locator('form[data-provider="passkey"] button').click();
      await messageOf(page, /Signed in with a passkey/);
      await statusOf(page, "authenticated");
      assert.equal(await userIdOf(page), userId, "the passkey signs in the same user");
      await passkeyCount(page, 1);
      assert.match(await page.locator("#passkey-list li").innerText(), /last used/);

      await page.locator("#passkey-list .remove-passkey").click();
      await messageOf(page, /Passkey removed/);
      await passkeyCount(page, 0);

      await page.locator("#signout").click();
      await statusOf(page, "unauthenticated");
      // The authenticator still holds the credential; the functions no longer accept it.
      const still = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
      assert.equal(still.credentials.length, 1);
      await page.locator('form[data-provider="passkey"] button').click();
      await messageOf(page, /Passkey sign-in refused: passkey_unknown/);
      await statusOf(page, "unauthenticated");
      assert.equal(
        (await context.cookies()).some((c) => c.name === "authjs.session-token"),
        false,
      );
      await screenshot(page, "passkey-removed.png");
      await context.close();
    } finally {
      await browser.close();
      await stack.stop();
    }
  },
});
