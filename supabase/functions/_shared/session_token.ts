/**
 * Auth.js session tokens (JWE, `dir` + A256CBC-HS512), read and written exactly as
 * `@auth/core/jwt` does — each side decodes the other's — but with the HKDF-derived keys
 * computed once per secret and cookie name instead of on every request.
 *
 * The key is HKDF-SHA256(secret, salt = the session cookie's name), so a token made for
 * `__Secure-authjs.session-token` (https) does not open as `authjs.session-token` (http).
 *
 * @example
 * ```ts
 * const codec = createSessionCodec(config.secrets, sessionCookieName(config.publicUrl));
 * const token = readSessionToken(req, codec.salt);
 * const payload = token ? await codec.decode(token) : null; // null: absent, expired or forged
 * ```
 */
import type { JWTPayload } from "jose";
import { readCookie } from "./csrf.ts";
import { hkdf } from "./hkdf.ts";
import { fromBase64Url, toBase64Url } from "./base64.ts";

const ENC = "A256CBC-HS512";
/** Auth.js's decode accepts tokens from older versions encrypted with A256GCM. */
const KEY_LENGTH: Record<string, number> = { "A256CBC-HS512": 64, A256GCM: 32 };

/** Auth.js's session cookie for a public URL: `__Secure-` prefixed on https. */
export function sessionCookieName(publicUrl: URL): string {
  return `${publicUrl.protocol === "https:" ? "__Secure-" : ""}authjs.session-token`;
}

/** Browsers cap a cookie near 4 KiB; Auth.js splits larger sessions into `.0`, `.1`, …. */
const MAX_CHUNKS = 16;
/** A JWE session is a few KiB; anything far larger is not one of ours. */
const MAX_TOKEN_LENGTH = 64 * 1024;

/**
 * The session token a request carries: `Authorization: Bearer <token>` (token mode, native
 * apps) or the session cookie, joined from its chunks. Undefined when there is none or it is
 * implausible (too long, too many chunks).
 */
export function readSessionToken(req: Request, cookieName: string): string | undefined {
  const bearer = readBearerToken(req);
  if (bearer) return bearer;
  const header = req.headers.get("Cookie");
  if (!header) return undefined;
  const whole = readCookie(header, cookieName);
  if (whole) return whole.length <= MAX_TOKEN_LENGTH ? whole : undefined;
  if (!header.includes(`${cookieName}.`)) return undefined;
  const cookies = parseCookies(header);
  const chunks: string[] = [];
  for (let i = 0; i < MAX_CHUNKS; i++) {
    const chunk = cookies.get(`${cookieName}.${i}`);
    if (chunk === undefined) break;
    chunks.push(chunk);
  }
  const joined = chunks.join("");
  return joined && joined.length <= MAX_TOKEN_LENGTH ? joined : undefined;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function readBearerToken(req: Request): string | undefined {
  const authorization = req.headers.get("Authorization");
  if (!authorization) return undefined;
  const [scheme, value] = authorization.split(" ");
  if (scheme?.toLowerCase() === "bearer" && value && value.length <= MAX_TOKEN_LENGTH) {
    return value;
  }
  return undefined;
}

function parseCookies(header: string | null): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    if (out.has(name)) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      out.set(name, decodeURIComponent(raw));
    } catch {
      out.set(name, raw);
    }
  }
  return out;
}

/**
 * The session token a response sets, joined from its chunks (`name.0`, `name.1`, …);
 * undefined when it sets none or only clears it.
 */
export function sessionFromSetCookie(headers: Headers, name: string): string | undefined {
  const whole = new Map<string, string>();
  for (const line of headers.getSetCookie()) {
    const pair = line.split(";")[0]!;
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (/;\s*max-age=0\b/i.test(line) || value === "") continue;
    if (key === name || key.startsWith(`${name}.`)) whole.set(key, value);
  }
  if (whole.has(name)) return whole.get(name);
  const chunks: string[] = [];
  for (let i = 0; whole.has(`${name}.${i}`); i++) chunks.push(whole.get(`${name}.${i}`)!);
  return chunks.length ? chunks.join("") : undefined;
}

/**
 * A response for a bearer client (token mode): no cookie reaches it. A renewed session token
 * comes back in the session JSON as `sessionToken` (`session`: the response is the session
 * function's), and a cleared one simply is not returned.
 */
export async function forBearer(
  response: Response,
  { session, cookieName }: { session: boolean; cookieName: string },
): Promise<Response> {
  const renewed = sessionFromSetCookie(response.headers, cookieName);
  const out = new Headers(response.headers);
  out.delete("Set-Cookie");
  if (session && response.status === 200) {
    const body = await response.json();
    if (body && renewed) body.sessionToken = renewed;
    out.delete("Content-Length");
    return Response.json(body, { status: 200, headers: out });
  }
  return new Response(response.body, { status: response.status, headers: out });
}

export interface SessionCodec {
  /** The salt (= the session cookie name) the keys are derived with. */
  readonly salt: string;
  /** The payload of a valid, unexpired token made with any of the secrets; null otherwise. */
  decode(token: string): Promise<JWTPayload | null>;
  /** A token Auth.js accepts as its session, signed with the newest secret. */
  encode(payload: JWTPayload, maxAgeSeconds: number): Promise<string>;
  /** Whether a token is encrypted with the newest secret (else: re-issue it to rotate). */
  isCurrent(token: string): Promise<boolean>;
}

interface DerivedKey {
  /** 64 bytes for A256CBC-HS512: MAC key, then AES key. */
  key: Uint8Array<ArrayBuffer>;
  kid: string;
  macKey?: CryptoKey;
  aesKey?: CryptoKey;
}

/**
 * A codec for one salt; keys are derived on first use and kept for the isolate's life.
 *
 * The common case — a token this deployment made with its newest secret — is opened here,
 * with WebCrypto. Anything else (rotated secrets, legacy A256GCM) goes through `jose`, as
 * Auth.js does. (`node:crypto`'s synchronous HMAC and AES opened tokens at the same CPU cost
 * per token here but ~20% fewer per second — WebCrypto's work runs beside the isolate's thread —
 * and loading Node compatibility added ~38 MB to the process.)
 */
export function createSessionCodec(
  secrets: readonly string[],
  salt: string,
  { cacheSize = 1000 }: { cacheSize?: number } = {},
): SessionCodec {
  if (secrets.length === 0) throw new Error("Cannot create a session codec: no secret");
  const cache = new Map<string, Promise<DerivedKey>>();
  // Tokens already opened: a browser presents the same token on every page view until it is
  // re-issued (at most daily), so a hit skips the cryptography. The key is the whole
  // authenticated ciphertext: equal strings cannot hold different payloads. Expiry is
  // checked on every hit; entries leave first-in-first-out.
  const opened = new Map<string, JWTPayload>();
  const derived = (secret: string, enc: string): Promise<DerivedKey> => {
    const id = `${enc}\u0000${secret}`;
    let key = cache.get(id);
    if (!key) {
      key = deriveKey(secret, salt, enc);
      cache.set(id, key);
    }
    return key;
  };
  // Derived now, not on the first request: the work runs off the main thread while the
  // function finishes starting, so a cold start's first answer does not wait for it.
  const newestKey = derived(secrets[0]!, ENC);
  newestKey.catch(() => {});
  let newest: DerivedKey | undefined;

  return {
    salt,
    async decode(token) {
      const known = opened.get(token);
      if (known) {
        if (stillValid(known)) return { ...known };
        opened.delete(token);
        return null;
      }
      const payload = await open(token);
      if (payload && cacheSize > 0) {
        if (opened.size >= cacheSize) opened.delete(opened.keys().next().value!);
        opened.set(token, payload);
        return { ...payload };
      }
      return payload;
    },
    async isCurrent(token) {
      newest ??= await newestKey;
      return parseCompact(token, newest.kid) !== undefined;
    },
    async encode(payload, maxAgeSeconds) {
      const { EncryptJWT } = await import("./session_jose.ts");
      const { key, kid } = await derived(secrets[0]!, ENC);
      const now = Math.floor(Date.now() / 1000);
      return await new EncryptJWT(payload)
        .setProtectedHeader({ alg: "dir", enc: ENC, kid })
        .setIssuedAt(now)
        .setExpirationTime(now + maxAgeSeconds)
        .setJti(crypto.randomUUID())
        .encrypt(key);
    },
  };

  async function open(token: string): Promise<JWTPayload | null> {
    newest ??= await newestKey;
    const parsed = parseCompact(token, newest.kid);
    if (parsed === null) return null;
    if (parsed !== undefined) {
      const plain = await openWebCrypto(parsed, newest);
      return plain ? validatePayload(plain) : null;
    }
    const { jwtDecrypt } = await import("./session_jose.ts");
    try {
      const { payload } = await jwtDecrypt(token, async ({ kid, enc }) => {
        if (!enc || !(enc in KEY_LENGTH)) throw new Error("unsupported enc");
        for (const secret of secrets) {
          const { key, kid: thumbprint } = await derived(secret, enc);
          if (kid === undefined || kid === thumbprint) return key;
        }
        throw new Error("no matching secret");
      }, {
        clockTolerance: CLOCK_TOLERANCE,
        keyManagementAlgorithms: ["dir"],
        contentEncryptionAlgorithms: [ENC, "A256GCM"],
      });
      return payload;
    } catch {
      return null;
    }
  }
}

/** Seconds of clock skew tolerated on `exp`/`nbf`, as Auth.js's decode allows. */
const CLOCK_TOLERANCE = 15;

interface CompactJwe {
  aad: Uint8Array<ArrayBuffer>;
  iv: Uint8Array<ArrayBuffer>;
  ciphertext: Uint8Array<ArrayBuffer>;
  tag: Uint8Array<ArrayBuffer>;
}

/**
 * Splits a compact JWE made with `dir` + A256CBC-HS512 under the key `kid` (RFC 7516).
 * Null for a malformed token, undefined when it names another key or algorithm (jose's
 * job: an older secret, a legacy encryption).
 */
function parseCompact(token: string, kid: string): CompactJwe | null | undefined {
  const parts = token.split(".");
  if (parts.length !== 5) return null;
  const [protectedB64, encryptedKey, ivB64, ciphertextB64, tagB64] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  let header: { alg?: unknown; enc?: unknown; kid?: unknown; zip?: unknown; crit?: unknown };
  try {
    header = JSON.parse(new TextDecoder().decode(fromBase64Url(protectedB64)));
  } catch {
    return null;
  }
  if (typeof header !== "object" || header === null) return null;
  if (header.alg !== "dir" || header.enc !== ENC || header.kid !== kid) return undefined;
  if (encryptedKey !== "" || header.zip !== undefined || header.crit !== undefined) return null;
  try {
    const iv = fromBase64Url(ivB64);
    const ciphertext = fromBase64Url(ciphertextB64);
    const tag = fromBase64Url(tagB64);
    if (iv.length !== 16 || tag.length !== 32 || ciphertext.length % 16 !== 0) return null;
    return { aad: new TextEncoder().encode(protectedB64), iv, ciphertext, tag };
  } catch {
    return null;
  }
}

/** AAD ‖ IV ‖ ciphertext ‖ AL, the input of the A256CBC-HS512 tag (RFC 7518 §5.2.2.1). */
function macInput({ aad, iv, ciphertext }: CompactJwe): Uint8Array<ArrayBuffer> {
  const input = new Uint8Array(aad.length + iv.length + ciphertext.length + 8);
  input.set(aad, 0);
  input.set(iv, aad.length);
  input.set(ciphertext, aad.length + iv.length);
  new DataView(input.buffer).setBigUint64(input.length - 8, BigInt(aad.length * 8));
  return input;
}

function sameBytes(a: Uint8Array<ArrayBuffer>, b: Uint8Array<ArrayBuffer>): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

async function importWebCryptoKeys(derived: DerivedKey) {
  derived.macKey ??= await crypto.subtle.importKey(
    "raw",
    derived.key.subarray(0, 32),
    { name: "HMAC", hash: "SHA-512" },
    false,
    ["sign"],
  );
  derived.aesKey ??= await crypto.subtle.importKey(
    "raw",
    derived.key.subarray(32),
    { name: "AES-CBC" },
    false,
    ["decrypt"],
  );
  return derived as Required<DerivedKey>;
}

async function openWebCrypto(
  jwe: CompactJwe,
  derived: DerivedKey,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const { macKey, aesKey } = await importWebCryptoKeys(derived);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", macKey, macInput(jwe)));
  if (!sameBytes(mac.subarray(0, 32), jwe.tag)) return null;
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt({ name: "AES-CBC", iv: jwe.iv }, aesKey, jwe.ciphertext),
    );
  } catch {
    return null;
  }
}

/** jose's checks that matter for a session: a JSON object, `exp`/`nbf` within tolerance. */
function validatePayload(plain: Uint8Array<ArrayBuffer>): JWTPayload | null {
  let payload: JWTPayload;
  try {
    payload = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain));
  } catch {
    return null;
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return null;
  return stillValid(payload) ? payload : null;
}

function stillValid(payload: JWTPayload): boolean {
  const now = Math.floor(Date.now() / 1000);
  const { exp, nbf, iat } = payload;
  if (exp !== undefined && (typeof exp !== "number" || exp <= now - CLOCK_TOLERANCE)) return false;
  if (nbf !== undefined && (typeof nbf !== "number" || nbf > now + CLOCK_TOLERANCE)) return false;
  return iat === undefined || typeof iat === "number";
}

async function deriveKey(secret: string, salt: string, enc: string): Promise<DerivedKey> {
  const length = KEY_LENGTH[enc]!;
  const key = await hkdf(secret, salt, `Auth.js Generated Encryption Key (${salt})`, length);
  // The JWK thumbprint (RFC 7638) Auth.js puts in `kid`: SHA-(key bits) over {"k","kty"}.
  const jwk = JSON.stringify({ k: toBase64Url(key), kty: "oct" });
  const digest = await crypto.subtle.digest(`SHA-${length << 3}`, new TextEncoder().encode(jwk));
  const derived: DerivedKey = { key, kid: toBase64Url(new Uint8Array(digest)) };
  if (enc === ENC) await importWebCryptoKeys(derived);
  return derived;
}
