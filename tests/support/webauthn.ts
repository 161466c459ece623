/**
 * A software WebAuthn authenticator for the HTTP tests: it answers the options
 * `/webauthn-options/passkey` returns with the JSON a browser's `navigator.credentials`
 * would produce (ES256 keys, "none" attestation, discoverable credentials, user verified),
 * so passkey registration and sign-in run through the real functions without a browser.
 * Each response can be bent (another origin, another RP ID) to test the refusals.
 *
 * @example
 * ```ts
 * const authenticator = new SoftAuthenticator({ origin: "https://app.example.com" });
 * const credential = await authenticator.register(options);
 * ```
 */
import { fromBase64Url, toBase64Url } from "../../shared/passkeys.ts";

/** What the options endpoint sends for a registration (PublicKeyCredentialCreationOptionsJSON). */
export interface CreationOptions {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string; displayName: string };
  excludeCredentials?: { id: string }[];
}

/** What the options endpoint sends for a sign-in (PublicKeyCredentialRequestOptionsJSON). */
export interface RequestOptions {
  challenge: string;
  rpId?: string;
  allowCredentials?: { id: string }[];
}

/** Ways to bend a response, as a phishing page or a broken client would. */
export interface Bend {
  origin?: string;
  rpId?: string;
  challenge?: string;
  type?: string;
  userVerified?: boolean;
}

interface StoredCredential {
  id: Bytes;
  keys: CryptoKeyPair;
  rpId: string;
  userHandle: Bytes;
  signCount: number;
}

export class SoftAuthenticator {
  readonly credentials: StoredCredential[] = [];
  readonly origin: string;
  readonly rpId: string;
  /** False: the signature counter stays 0, as synced passkeys (iCloud, Google) keep it. */
  readonly counts: boolean;

  constructor(options: { origin: string; rpId?: string; counts?: boolean }) {
    this.origin = options.origin;
    this.rpId = options.rpId ?? new URL(options.origin).hostname;
    this.counts = options.counts ?? true;
  }

  /** `navigator.credentials.create()`, serialised as the SDK posts it. */
  async register(options: CreationOptions, bend: Bend = {}) {
    const rpId = bend.rpId ?? options.rp.id ?? this.rpId;
    const excluded = new Set((options.excludeCredentials ?? []).map((c) => c.id));
    if (this.credentials.some((c) => c.rpId === rpId && excluded.has(toBase64Url(c.id)))) {
      throw new DOMException("This authenticator is already registered", "InvalidStateError");
    }
    const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
      "sign",
      "verify",
    ]) as CryptoKeyPair;
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
    const coseKey = cbor(
      new Map<number, unknown>([[1, 2], [3, -7], [-1, 1], [-2, raw.slice(1, 33)], [
        -3,
        raw.slice(33, 65),
      ]]),
    );
    const id = crypto.getRandomValues(new Uint8Array(32));
    const credential: StoredCredential = {
      id,
      keys,
      rpId,
      userHandle: new TextEncoder().encode(options.user.id),
      signCount: 0,
    };
    const authData = concat(
      await sha256(new TextEncoder().encode(rpId)),
      new Uint8Array([flags(bend) | 0x40]),
      uint32(0),
      new Uint8Array(16), // AAGUID: none
      new Uint8Array([id.length >> 8, id.length & 0xff]),
      id,
      coseKey,
    );
    const clientData = this.clientData("webauthn.create", options.challenge, bend);
    this.credentials.push(credential);
    return {
      id: toBase64Url(id),
      rawId: toBase64Url(id),
      type: "public-key",
      response: {
        clientDataJSON: toBase64Url(clientData),
        attestationObject: toBase64Url(
          cbor(
            new Map<string, unknown>([["fmt", "none"], ["attStmt", new Map()], [
              "authData",
              authData,
            ]]),
          ),
        ),
        transports: ["internal"],
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  /** `navigator.credentials.get()` with a discoverable credential for the RP. */
  async authenticate(options: RequestOptions, bend: Bend = {}, only?: string) {
    const rpId = bend.rpId ?? options.rpId ?? this.rpId;
    const allowed = new Set((options.allowCredentials ?? []).map((c) => c.id));
    const credential = this.credentials.findLast((c) =>
      (bend.rpId !== undefined || c.rpId === rpId) &&
      (!allowed.size || allowed.has(toBase64Url(c.id))) &&
      (only === undefined || toBase64Url(c.id) === only)
    );
    if (!credential) throw new DOMException("No credential for this RP", "NotAllowedError");
    if (this.counts) credential.signCount += 1;
    const authData = concat(
      await sha256(new TextEncoder().encode(rpId)),
      new Uint8Array([flags(bend)]),
      uint32(credential.signCount),
    );
    const clientData = this.clientData("webauthn.get", options.challenge, bend);
    const signed = concat(authData, await sha256(clientData));
    const p1363 = new Uint8Array(
      await crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-256" },
        credential.keys.privateKey,
        signed,
      ),
    );
    return {
      id: toBase64Url(credential.id),
      rawId: toBase64Url(credential.id),
      type: "public-key",
      response: {
        clientDataJSON: toBase64Url(clientData),
        authenticatorData: toBase64Url(authData),
        signature: toBase64Url(derSignature(p1363)),
        userHandle: toBase64Url(credential.userHandle),
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  private clientData(type: string, challenge: string, bend: Bend): Bytes {
    return new TextEncoder().encode(JSON.stringify({
      type: bend.type ?? type,
      challenge: bend.challenge ?? challenge,
      origin: bend.origin ?? this.origin,
      crossOrigin: false,
    }));
  }
}

export { fromBase64Url, toBase64Url };

/** User present, and verified unless bent. */
function flags(bend: Bend): number {
  return 0x01 | (bend.userVerified === false ? 0 : 0x04);
}

type Bytes = Uint8Array<ArrayBuffer>;

async function sha256(data: Bytes): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

function uint32(n: number): Bytes {
  return new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

function concat(...parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** WebCrypto's ECDSA signature (r ‖ s) as the DER sequence WebAuthn carries. */
function derSignature(p1363: Uint8Array): Bytes {
  const integer = (bytes: Uint8Array): Bytes => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const trimmed = bytes.slice(i);
    const body = trimmed[0]! & 0x80 ? concat(new Uint8Array([0]), trimmed) : trimmed;
    return concat(new Uint8Array([0x02, body.length]), body);
  };
  const body = concat(integer(p1363.slice(0, 32)), integer(p1363.slice(32)));
  return concat(new Uint8Array([0x30, body.length]), body);
}

/** Minimal CBOR (RFC 8949) with the shortest encodings: what authenticators emit. */
function cbor(value: unknown): Bytes {
  const head = (major: number, n: number): Bytes => {
    if (n < 24) return new Uint8Array([(major << 5) | n]);
    if (n < 0x100) return new Uint8Array([(major << 5) | 24, n]);
    if (n < 0x10000) return new Uint8Array([(major << 5) | 25, n >> 8, n & 0xff]);
    return concat(new Uint8Array([(major << 5) | 26]), uint32(n));
  };
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") {
    const bytes = new TextEncoder().encode(value);
    return concat(head(3, bytes.length), bytes);
  }
  if (value instanceof Uint8Array) return concat(head(2, value.length), value);
  if (value instanceof Map) {
    const parts = [head(5, value.size)];
    for (const [k, v] of value) parts.push(cbor(k), cbor(v));
    return concat(...parts);
  }
  throw new Error(`Cannot encode ${typeof value} as CBOR`);
}
