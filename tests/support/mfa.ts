/**
 * The second factor from a test's side: an authenticator app (the secret and the codes it
 * shows) and the `mfa` function's calls as a browser makes them.
 */
import assert from "node:assert/strict";
import { base32Decode, totp, totpStep } from "../../supabase/functions/_shared/totp.ts";
import type { Client } from "./http.ts";
import type { LocalStack } from "./stack.ts";

/**
 * What an authenticator app holds. `code()` gives a code the server has not accepted yet:
 * the current step's, or the next one's when that was used (one step of skew is allowed), so
 * a test never waits for the clock — at most two codes per 30 seconds per user.
 */
export class Authenticator {
  lastStep = -1;
  readonly secret: Uint8Array<ArrayBuffer>;

  constructor(base32: string) {
    this.secret = base32Decode(base32);
  }

  async code(): Promise<string> {
    const step = Math.max(totpStep(Date.now() / 1000), this.lastStep + 1);
    this.lastStep = step;
    return await totp(this.secret, step * 30);
  }

  /** A code for the current step, not recorded: for replays and wrong guesses. */
  current(): Promise<string> {
    return totp(this.secret, Date.now() / 1000);
  }
}

/** A six-digit code that is none of the three the server accepts right now. */
export async function wrongCode(auth: Authenticator): Promise<string> {
  const now = Date.now() / 1000;
  const valid = await Promise.all([-30, 0, 30].map((d) => totp(auth.secret, now + d)));
  for (let n = 0;; n++) {
    const candidate = String((Number(valid[1]) + 1 + n) % 1_000_000).padStart(6, "0");
    if (!valid.includes(candidate)) return candidate;
  }
}

/** A JSON request to the mfa function as a browser sends it (the CSRF token in the body). */
export async function mfaPost(
  stack: LocalStack,
  client: Client,
  path: string,
  body: Record<string, unknown> = {},
  method = "POST",
): Promise<Response> {
  const csrfToken = await client.csrfToken(stack.functionsUrl);
  return client.fetch(`${stack.functionsUrl}/mfa${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ csrfToken, ...body }),
  });
}

export async function assertError(response: Response, status: number, code: string) {
  const text = await response.text();
  assert.equal(response.status, status, `status for ${code}: ${text}`);
  assert.equal(JSON.parse(text).error, code, text);
}

/** Enrols and confirms an authenticator for the signed-in client. */
export async function enrolTotp(
  stack: LocalStack,
  client: Client,
): Promise<{ auth: Authenticator; recoveryCodes: string[] }> {
  const enrolled = await mfaPost(stack, client, "/totp/enroll");
  assert.equal(enrolled.status, 200, await enrolled.clone().text());
  const auth = new Authenticator((await enrolled.json()).secret);
  const confirmed = await mfaPost(stack, client, "/totp/confirm", { code: await auth.code() });
  assert.equal(confirmed.status, 200, await confirmed.clone().text());
  const { recoveryCodes } = await confirmed.json();
  return { auth, recoveryCodes };
}
