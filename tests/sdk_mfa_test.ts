/**
 * The client SDK's second factor against the real functions: enrol (the QR code decodes to
 * the URI), confirm, a sign-in reported as `mfa_required` with no session and no access
 * token until `mfa.verify` (cookie mode) or `mfa.verifyRecoveryCode` (token mode, the new
 * bearer token kept) completes it.
 */
import assert from "node:assert/strict";
import { encode } from "@auth/core/jwt";
import { decodeJwt } from "jose";
import {
  AuthClientError,
  createAuthClient,
  type KeyValueStorage,
  type SessionStatus,
} from "../shared/client.ts";
import type { Client } from "./support/http.ts";
import { Authenticator, wrongCode } from "./support/mfa.ts";
import { decodeSvgQr } from "./support/qr.ts";
import { signInWithMagicLink } from "./support/sign_in.ts";
import { TEST_SECRET } from "./support/env.ts";
import { startTestStack } from "./support/stack.ts";

function memory(): KeyValueStorage {
  const map = new Map<string, string>();
  return {
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  };
}

Deno.test("the SDK reports mfa_required and completes the sign-in with a code or a recovery code", async () => {
  const stack = await startTestStack(
    { AUTH_MFA: "true", AUTH_RATE_LIMIT_EMAIL_ADDRESS: "off", AUTH_RATE_LIMIT_MFA_USER: "off" },
    { oidc: false },
  );
  const email = "sdk-mfa@example.com";
  /** A cookie-mode client whose "browser" is a cookie-keeping test client. */
  const cookieClient = (browser: Client) =>
    createAuthClient({
      baseUrl: stack.functionsUrl,
      broadcast: false,
      fetch: (input, init) => browser.fetch(String(input), init),
    });
  const clients: ReturnType<typeof createAuthClient>[] = [];
  try {
    const first = cookieClient(await signInWithMagicLink(stack, email));
    clients.push(first);
    assert.equal((await first.getSession())?.user.email, email);

    const enrollment = await first.mfa.enroll();
    assert.equal(decodeSvgQr(enrollment.qr), enrollment.uri);
    const app = new Authenticator(enrollment.secret);
    await assert.rejects(
      first.mfa.confirm(await wrongCode(app)),
      (e) => e instanceof AuthClientError && e.code === "invalid_code" && e.status === 400,
    );
    const { recoveryCodes } = await first.mfa.confirm(await app.code());
    assert.equal(recoveryCodes.length, 10);
    assert.equal((await first.mfa.status()).aal, "aal2");

    // Cookie mode: a new sign-in waits for the code.
    const second = cookieClient(await signInWithMagicLink(stack, email));
    clients.push(second);
    const seen: SessionStatus[] = [];
    second.subscribe(({ status }) => seen.push(status));
    assert.equal(await second.getSession(), null);
    assert.equal(second.state.status, "mfa_required");
    assert.equal(await second.accessToken(), null, "no access token for a partial session");
    assert.equal((await second.mfa.status()).mfaRequired, true);
    const session = await second.mfa.verify(await app.code());
    assert.equal(session?.user.email, email);
    assert.equal(second.state.status, "authenticated");
    assert.deepEqual(seen.slice(-2), ["mfa_required", "authenticated"]);
    const token = await second.accessToken();
    assert.equal(decodeJwt(token!).aal, "aal2");

    // Token mode: the bearer session is partial; the recovery code's answer replaces it.
    const storage = memory();
    const browser = await signInWithMagicLink(stack, email);
    const partialToken = browser.cookies.get("authjs.session-token")!;
    storage.setItem("authjs.session-token", partialToken);
    const third = createAuthClient({
      baseUrl: stack.functionsUrl,
      mode: "token",
      storage,
      broadcast: false,
    });
    clients.push(third);
    assert.equal(await third.getSession(), null);
    assert.equal(third.state.status, "mfa_required");
    const recovered = await third.mfa.verifyRecoveryCode(recoveryCodes[0]!);
    assert.equal(recovered?.user.email, email);
    assert.equal(third.state.status, "authenticated");
    assert.notEqual(storage.getItem("authjs.session-token"), partialToken, "the new token is kept");
    await assert.rejects(
      third.mfa.verifyRecoveryCode(recoveryCodes[0]!),
      (e) => e instanceof AuthClientError && e.code === "invalid_code",
    );

    // A sign-in whose code did not come within 10 minutes: no session, and verify says why.
    const stale = memory();
    stale.setItem(
      "authjs.session-token",
      await encode({
        token: {
          sub: (await first.getSession())!.user.id,
          email,
          aal: "aal1",
          amr: [{ method: "magiclink", timestamp: Math.floor(Date.now() / 1000) - 11 * 60 }],
          mfa: true,
        },
        secret: TEST_SECRET,
        salt: "authjs.session-token",
      }),
    );
    const late = createAuthClient({
      baseUrl: stack.functionsUrl,
      mode: "token",
      storage: stale,
      broadcast: false,
    });
    clients.push(late);
    assert.equal(await late.getSession(), null);
    assert.equal(late.state.status, "unauthenticated");
    await assert.rejects(
      late.mfa.verify(await app.code()),
      (e) => e instanceof AuthClientError && e.code === "second_factor_expired" && e.status === 401,
    );
    assert.equal(late.state.status, "unauthenticated");

    const fresh = await third.mfa.regenerateRecoveryCodes();
    assert.equal(fresh.recoveryCodes.length, 10);
    await third.mfa.remove();
    assert.equal((await third.mfa.status()).enrolled, false);
  } finally {
    for (const client of clients) client.destroy();
    await stack.stop();
  }
});
