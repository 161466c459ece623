/**
 * Passkeys for the client SDK: the WebAuthn ceremonies with the browser's own
 * `navigator.credentials` (no WebAuthn library), through the same requests as every other
 * SDK call (credentials included, CSRF token on POSTs). `createAuthClient` wires these in as
 * `registerPasskey`, `signInWithPasskey`, `listPasskeys` and `removePasskey`.
 *
 * The options come from `GET /webauthn-options/passkey?action=…` as JSON with base64url
 * binaries (what `@simplewebauthn/server` 9 emits: note that its `user.id` is a plain
 * string, not base64url) and the credential goes back to `POST /callback/passkey` as JSON.
 *
 * @example
 * ```ts
 * await auth.registerPasskey();          // signed in: adds a passkey to this user
 * const session = await auth.signInWithPasskey();
 * const passkeys = await auth.listPasskeys();
 * await auth.removePasskey(passkeys[0].id);
 * ```
 */

/** A passkey as `GET /account/passkeys` lists it. */
export interface PasskeyDescription {
  /** The credential id, base64url (as `PublicKeyCredential.id`). */
  id: string;
  /** `singleDevice`, or `multiDevice` when it syncs (e.g. through a password manager). */
  deviceType: string;
  backedUp: boolean;
  transports: string[];
  createdAt: string;
  lastUsedAt: string | null;
}

/** The part of `navigator.credentials` the ceremonies use (tests pass their own). */
export interface CredentialsLike {
  create(options: CredentialCreationOptions): Promise<Credential | null>;
  get(options: CredentialRequestOptions): Promise<Credential | null>;
}

/** What the SDK lends the passkey methods: its requests, its CSRF token, its session. */
export interface PasskeyDeps<S> {
  mode: "cookie" | "token";
  credentials?: CredentialsLike;
  request(path: string, init?: RequestInit): Promise<Response>;
  json<T>(response: Response): Promise<T>;
  postForm(path: string, fields: Record<string, string>): Promise<Response>;
  getCsrfToken(): Promise<string>;
  refresh(announce: boolean): Promise<S>;
  /** The SDK's own error type: a status (0 for the browser's refusals) and a stable code. */
  fail(status: number, code: string, message: string): Error;
}

/** The provider id the functions serve passkeys under. */
const PROVIDER = "passkey";

export function createPasskeyMethods<S>(deps: PasskeyDeps<S>) {
  function container(): CredentialsLike {
    const found = deps.credentials ??
      (globalThis as { navigator?: { credentials?: CredentialsLike } }).navigator?.credentials;
    if (!found) {
      throw deps.fail(0, "passkeys_unsupported", "Cannot use passkeys: no WebAuthn here");
    }
    return found;
  }

  async function ceremony(
    action: "register" | "authenticate",
  ): Promise<{ id: string; session: S }> {
    if (deps.mode !== "cookie") {
      // The challenge travels in an httpOnly cookie of the functions' site.
      throw deps.fail(
        0,
        "passkeys_need_cookie_mode",
        "Cannot use passkeys in token mode: use cookie mode",
      );
    }
    const credentials = container();
    const { options } = await deps.json<{ options: Record<string, unknown> }>(
      await deps.request(`/webauthn-options/${PROVIDER}?action=${action}`),
    );
    let credential: Credential | null;
    try {
      credential = action === "register"
        ? await credentials.create({ publicKey: creationOptions(options) })
        : await credentials.get({ publicKey: requestOptions(options) });
    } catch (error) {
      throw browserRefusal(error, deps);
    }
    if (!credential) throw deps.fail(0, "passkey_cancelled", "No passkey was chosen");
    const data = action === "register"
      ? registrationJSON(credential as PublicKeyCredential)
      : authenticationJSON(credential as PublicKeyCredential);
    await deps.json(
      await deps.postForm(`/callback/${PROVIDER}`, {
        action,
        data: JSON.stringify(data),
        csrfToken: await deps.getCsrfToken(),
      }),
    );
    return { id: data.id, session: await deps.refresh(true) };
  }

  return {
    /** Adds a passkey to the signed-in user; resolves with its id (as `listPasskeys` shows it). */
    async registerPasskey(): Promise<{ id: string }> {
      return { id: (await ceremony("register")).id };
    },
    /** Signs in with a passkey the browser offers; resolves with the new session. */
    async signInWithPasskey(): Promise<S> {
      return (await ceremony("authenticate")).session;
    },
    /** The signed-in user's passkeys, newest first. */
    async listPasskeys(): Promise<PasskeyDescription[]> {
      const { passkeys } = await deps.json<{ passkeys: PasskeyDescription[] }>(
        await deps.request("/account/passkeys"),
      );
      return passkeys;
    },
    /** Removes one of the signed-in user's passkeys (it can no longer sign in). */
    async removePasskey(id: string): Promise<void> {
      const fields: Record<string, string> = { id };
      if (deps.mode === "cookie") fields.csrfToken = await deps.getCsrfToken();
      await deps.json(await deps.postForm("/account/passkeys/remove", fields));
    },
  };
}

/** What the browser's refusal means, as a stable code. */
function browserRefusal(error: unknown, deps: PasskeyDeps<unknown>): Error {
  const name = (error as { name?: unknown })?.name;
  const message = String((error as { message?: unknown })?.message ?? error);
  if (name === "NotAllowedError") {
    return deps.fail(0, "passkey_cancelled", `No passkey was used: ${message}`);
  }
  if (name === "InvalidStateError") {
    return deps.fail(0, "passkey_already_registered", "This authenticator is already registered");
  }
  return deps.fail(0, "passkey_failed", `The browser refused the passkey: ${message}`);
}

type Json = Record<string, unknown>;
const ids = (list: unknown) =>
  Array.isArray(list)
    ? list.map((c: Json) => ({ ...c, id: fromBase64Url(c.id as string) }))
    : undefined;

/** `PublicKeyCredentialCreationOptionsJSON` → what `navigator.credentials.create` takes. */
export function creationOptions(json: Json): PublicKeyCredentialCreationOptions {
  const user = json.user as Json;
  return {
    ...json,
    challenge: fromBase64Url(json.challenge as string),
    user: { ...user, id: new TextEncoder().encode(user.id as string) },
    excludeCredentials: ids(json.excludeCredentials),
  } as unknown as PublicKeyCredentialCreationOptions;
}

/** `PublicKeyCredentialRequestOptionsJSON` → what `navigator.credentials.get` takes. */
export function requestOptions(json: Json): PublicKeyCredentialRequestOptions {
  return {
    ...json,
    challenge: fromBase64Url(json.challenge as string),
    allowCredentials: ids(json.allowCredentials),
  } as unknown as PublicKeyCredentialRequestOptions;
}

/** A new credential as the functions read it (`RegistrationResponseJSON`). */
export function registrationJSON(credential: PublicKeyCredential) {
  const response = credential.response as AuthenticatorAttestationResponse;
  return {
    id: credential.id,
    rawId: toBase64Url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: toBase64Url(response.clientDataJSON),
      attestationObject: toBase64Url(response.attestationObject),
      transports: response.getTransports?.() ?? [],
    },
    clientExtensionResults: credential.getClientExtensionResults?.() ?? {},
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
  };
}

/** A signed challenge as the functions read it (`AuthenticationResponseJSON`). */
export function authenticationJSON(credential: PublicKeyCredential) {
  const response = credential.response as AuthenticatorAssertionResponse;
  return {
    id: credential.id,
    rawId: toBase64Url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: toBase64Url(response.clientDataJSON),
      authenticatorData: toBase64Url(response.authenticatorData),
      signature: toBase64Url(response.signature),
      userHandle: response.userHandle ? toBase64Url(response.userHandle) : undefined,
    },
    clientExtensionResults: credential.getClientExtensionResults?.() ?? {},
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
  };
}

/**
 * Bytes as unpadded base64url (RFC 4648 §5).
 *
 * @example
 * ```ts
 * toBase64Url(new Uint8Array([0xfb, 0xff])); // "-_8"
 * ```
 */
export function toBase64Url(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  for (const byte of view) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Base64url (padded or not) as bytes; throws on anything else.
 *
 * @example
 * ```ts
 * fromBase64Url("-_8"); // Uint8Array [0xfb, 0xff]
 * ```
 */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) throw new Error("Cannot decode: not base64url");
  const b64 = text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
