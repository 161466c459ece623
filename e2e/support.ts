/**
 * What every browser test shares: Debian's Chromium launched by `playwright-core` (never a
 * downloaded browser) with flags for this closed network, the demo's status and magic-link
 * sign-in, and screenshots in `test-results/`.
 */
import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "playwright-core";
import type { LocalStack } from "../dev/stack.ts";

export const TIMEOUT = 20_000;
const RESULTS = new URL("../test-results/", import.meta.url);
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Launch options for Debian's Chromium, with `extra` flags. */
export function chromiumOptions(extra: string[] = []) {
  return {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [...ARGS, ...extra],
    timeout: TIMEOUT,
  };
}

export function launch(extra: string[] = []): Promise<Browser> {
  return chromium.launch(chromiumOptions(extra));
}

/** Waits for the demo to show a session status. */
export async function statusOf(page: Page, status: string) {
  await page.locator(`#status[data-status="${status}"]`).waitFor({ timeout: TIMEOUT });
}

/** The demo's magic-link sign-in: this sign-in's mail, its link, the confirming click. */
export async function signInByEmail(page: Page, stack: LocalStack, email: string) {
  const form = page.locator('form[data-provider="email"]');
  const lastId = stack.mail.messages().at(-1)?.id ?? 0;
  await form.locator('input[name="email"]').fill(email);
  await form.locator("button").click();
  await page.locator("#message:not(:empty)").waitFor({ timeout: TIMEOUT });
  assert.match(await page.locator("#message").innerText(), /Check your inbox/);
  // This sign-in's mail, not an earlier one to the same address.
  const mail = await stack.mail.waitFor((m) => m.id > lastId && m.to.includes(email), TIMEOUT);
  const link = mail.text.match(/https?:\/\/\S+/)?.[0];
  assert.ok(link, "the mail holds a link");
  await page.goto(link);
  // Scanner-safe links: the page only asks for a click, which signs in.
  await Promise.all([
    page.waitForURL((url) => !url.href.includes("/callback/email"), { timeout: TIMEOUT }),
    page.locator('button[type="submit"]').click(),
  ]);
}

export async function screenshot(page: Page, name: string) {
  await Deno.mkdir(RESULTS, { recursive: true });
  await page.screenshot({ path: new URL(name, RESULTS).pathname, fullPage: true });
}
