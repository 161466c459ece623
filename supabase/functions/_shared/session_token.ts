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
import { base64url, calculateJwkThumbprint, EncryptJWT, jwtDecrypt, type JWTPayload } from "jose";

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
  const cookies = parseCookies(req.headers.get("Cookie"));
  const whole = cookies.get(cookieName);
  if (whole) return whole.length <= MAX_TOKEN_LENGTH ? whole : undefined;
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

export interface SessionCodec {
  /** The salt (= the session cookie name) the keys are derived with. */
  readonly salt: string;
  /** The payload of a valid, unexpired token made with any of the secrets; null otherwise. */
  decode(token: string): Promise<JWTPayload | null>;
  /** A token Auth.js accepts as its session, signed with the newest secret. */
  encode(payload: JWTPayload, maxAgeSeconds: number): Promise<string>;
}

interface DerivedKey {
  key: Uint8Array;
  kid: string;
}

/**
 * A codec for one salt; keys are derived on first use and kept for the isolate's life.
 */
export function createSessionCodec(secrets: readonly string[], salt: string): SessionCodec {
  if (secrets.length === 0) throw new Error("Cannot create a session codec: no secret");
  const cache = new Map<string, Promise<DerivedKey>>();
  const derived = (secret: string, enc: string): Promise<DerivedKey> => {
    const id = `${enc}\u0000${secret}`;
    let key = cache.get(id);
    if (!key) {
      key = deriveKey(secret, salt, enc);
      cache.set(id, key);
    }
    return key;
  };

  return {
    salt,
    async decode(token) {
      try {
        const { payload } = await jwtDecrypt(token, async ({ kid, enc }) => {
          if (!enc || !(enc in KEY_LENGTH)) throw new Error("unsupported enc");
          for (const secret of secrets) {
            const { key, kid: thumbprint } = await derived(secret, enc);
            if (kid === undefined || kid === thumbprint) return key;
          }
          throw new Error("no matching secret");
        }, {
          clockTolerance: 15,
          keyManagementAlgorithms: ["dir"],
          contentEncryptionAlgorithms: [ENC, "A256GCM"],
        });
        return payload;
      } catch {
        return null;
      }
    },
    async encode(payload, maxAgeSeconds) {
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
}

async function deriveKey(secret: string, salt: string, enc: string): Promise<DerivedKey> {
  const length = KEY_LENGTH[enc]!;
  const material = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    "HKDF",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new TextEncoder().encode(salt),
      info: new TextEncoder().encode(`Auth.js Generated Encryption Key (${salt})`),
    },
    material,
    length * 8,
  );
  const key = new Uint8Array(bits);
  const kid = await calculateJwkThumbprint(
    { kty: "oct", k: base64url.encode(key) },
    `sha${length << 3}` as "sha256" | "sha384" | "sha512",
  );
  return { key, kid };
}
