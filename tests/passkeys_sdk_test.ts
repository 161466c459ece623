/**
 * The client SDK's passkey calls against the real functions, with the software authenticator
 * standing in for `navigator.credentials` (binary options in, `PublicKeyCredential`-shaped
 * objects out, as the browser's API works): register while signed in, sign in, list, remove.
 * The browser itself is exercised by `e2e/passkeys_test.ts`.
 */
import assert from "node:assert/strict";
import { AuthClientError, createAuthClient } from "../shared/client.ts";
import type { CredentialsLike } from "../shared/passkeys.ts";
import { signInWithMagicLink } from "./support/sign_in.ts";
import { startTestStack } from "./support/stack.ts";
import { Client } from "./support/http.ts";
import { fromBase64Url, SoftAuthenticator, toBase64Url } from "./support/webauthn.ts";

const FRONTEND = "https://app.example.com";

/** `navigator.credentials` over the software authenticator. */
function credentialsOf(authenticator: SoftAuthenticator): CredentialsLike & { calls: string[] } {
  const buffer = (text: string) => fromBase64Url(text).buffer;
  const wrap = (json: { id: string; type: string; response: Record<string, unknown> }) => {
    const response: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(json.response)) {
      if (typeof value === "string") response[key] = buffer(value);
    }
    const transports = json.response.transports as string[] | undefined;
    if (transports) response.getTransports = () => transports;
    return {
      id: json.id,
      rawId: buffer(json.id),
      type: json.type,
      response,
      authenticatorAttachment: "platform",
      getClientExtensionResults: () => ({}),
    } as unknown as Credential;
  };
  const calls: string[] = [];
  return {
    calls,
    async create(options) {
      calls.push("create");
      const o = options.publicKey!;
      return wrap(
        await authenticator.register({
          challenge: toBase64Url(o.challenge as Uint8Array),
          rp: o.rp as { id?: string; name: string },
          // The SDK hands the browser `user.id` as bytes; they must be the server's string.
          user: { ...o.user, id: new TextDecoder().decode(o.user.id as Uint8Array) },
          excludeCredentials: o.excludeCredentials?.map((c) => ({
            id: toBase64Url(c.id as Uint8Array),
          })),
        }),
      );
    },
    async get(options) {
      calls.push("get");
      const o = options.publicKey!;
      return wrap(
        await authenticator.authenticate({
          challenge: toBase64Url(o.challenge as Uint8Array),
          rpId: o.rpId,
          allowCredentials: o.allowCredentials?.map((c) => ({
            id: toBase64Url(c.id as Uint8Array),
          })),
        }),
      );
    },
  };
}

Deno.test("SDK: registerPasskey, signInWithPasskey, listPasskeys and removePasskey", async () => {
  const stack = await startTestStack(
    { AUTH_PASSKEYS: "true", AUTH_ALLOWED_ORIGINS: FRONTEND },
    { oidc: false },
  );
  try {
    const authenticator = new SoftAuthenticator({ origin: FRONTEND });
    const credentials = credentialsOf(authenticator);
    // A browser profile: its cookie jar, signed in by magic link.
    const laptop = await signInWithMagicLink(stack, "ada@example.com");
    const auth = createAuthClient({
      baseUrl: stack.functionsUrl,
      broadcast: false,
      credentials,
      fetch: (input, init) => laptop.fetch(input as string, init),
    });
    const ada = await auth.getSession();
    assert.equal(ada?.user.email, "ada@example.com");

    const { id } = await auth.registerPasskey();
    const listed = await auth.listPasskeys();
    assert.deepEqual(listed.map((p) => p.id), [id]);
    assert.deepEqual(listed[0]!.transports, ["internal"]);
    await assert.rejects(
      () => auth.registerPasskey(),
      (error: unknown) =>
        error instanceof AuthClientError && error.code === "passkey_already_registered",
      "the server's excludeCredentials reach the authenticator",
    );

    const phone = new Client();
    const other = createAuthClient({
      baseUrl: stack.functionsUrl,
      broadcast: false,
      credentials,
      fetch: (input, init) => phone.fetch(input as string, init),
    });
    assert.equal(await other.getSession(), null);
    const session = await other.signInWithPasskey();
    assert.equal(session?.user.id, ada!.user.id, "the same user");
    assert.equal(other.state.status, "authenticated");

    await other.removePasskey(id);
    assert.deepEqual(await auth.listPasskeys(), []);
    await other.signOut();
    await assert.rejects(
      () => other.signInWithPasskey(),
      (error: unknown) => error instanceof AuthClientError && error.code === "passkey_unknown",
    );
    assert.equal(await other.getSession(), null);

    const tokenMode = createAuthClient({
      baseUrl: stack.functionsUrl,
      mode: "token",
      broadcast: false,
      credentials,
      storage: { getItem: () => null, setItem: () => {}, removeItem: () => {} },
    });
    await assert.rejects(
      () => tokenMode.signInWithPasskey(),
      (error: unknown) =>
        error instanceof AuthClientError && error.code === "passkeys_need_cookie_mode",
    );
    assert.deepEqual(credentials.calls, ["create", "create", "get", "get"]);
    for (const client of [auth, other, tokenMode]) client.destroy();
  } finally {
    await stack.stop();
  }
});
