/**
 * What the second factor keeps at rest: TOTP secrets encrypted (AES-256-GCM under a key
 * derived with HKDF from each `AUTH_SECRET`), and recovery codes stored only as hashes.
 *
 * - A sealed secret reads `v1.<kid>.<iv>.<ciphertext>` (base64url); `kid` names the derived
 *   key, so a secret sealed under a rotated-out `AUTH_SECRET` is found by the key it needs,
 *   and the user's id is the additional data: a row copied onto another user does not open.
 * - Recovery codes are 80 random bits, written `xxxx-xxxx-xxxx-xxxx` in Crockford's base32
 *   (no I, L, O, U); what is stored is SHA-256 of the user's id and the normalised code, so
 *   a database dump holds nothing that can be typed in, and it does not depend on secrets
 *   that rotate.
 *
 * @example
 * ```ts
 * const box = createSecretBox(config.secrets);
 * const sealed = await box.seal(secretBytes, userId);
 * const { secret, current } = await box.open(sealed, userId); // current: sealed with the newest key
 * const codes = generateRecoveryCodes(); // ["7k3m-q9zd-…", …]
 * const hash = await hashRecoveryCode(userId, codes[0]!);
 * ```
 */

import { hkdf } from "./hkdf.ts";
import { fromBase64Url, toBase64Url } from "./base64.ts";

const SEAL_VERSION = "v1";
const HKDF_SALT = "authjs-supabase.mfa-secret";
const HKDF_INFO = "Auth.js on Supabase Edge: TOTP secret encryption (AES-256-GCM)";

export interface SecretBox {
  /** Encrypts a secret for one user with the newest key. */
  seal(secret: Uint8Array<ArrayBuffer>, userId: string): Promise<string>;
  /**
   * Decrypts a sealed secret with whichever configured key made it; `current` is false when
   * that key is not the newest (re-seal it). Throws when no key opens it or it was tampered
   * with.
   */
  open(
    sealed: string,
    userId: string,
  ): Promise<{ secret: Uint8Array<ArrayBuffer>; current: boolean }>;
}

interface BoxKey {
  kid: string;
  key: CryptoKey;
}

/** A box over the configured secrets, newest first (as `config.secrets` orders them). */
export function createSecretBox(secrets: readonly string[]): SecretBox {
  if (secrets.length === 0) throw new Error("Cannot create a secret box: no secret");
  let derived: Promise<BoxKey[]> | undefined;
  const keys = () => (derived ??= Promise.all(secrets.map(deriveBoxKey)));

  return {
    async seal(secret, userId) {
      const [newest] = await keys();
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ciphertext = new Uint8Array(
        await crypto.subtle.encrypt(
          { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(userId) },
          newest!.key,
          secret,
        ),
      );
      return [SEAL_VERSION, newest!.kid, toBase64Url(iv), toBase64Url(ciphertext)].join(".");
    },
    async open(sealed, userId) {
      const [version, kid, ivText, ciphertextText, ...rest] = sealed.split(".");
      if (version !== SEAL_VERSION || !kid || !ivText || !ciphertextText || rest.length) {
        throw new Error("Cannot open secret: not a sealed secret");
      }
      const all = await keys();
      const key = all.find((k) => k.kid === kid);
      if (!key) throw new Error("Cannot open secret: sealed with a key no longer configured");
      try {
        const plain = await crypto.subtle.decrypt(
          {
            name: "AES-GCM",
            iv: fromBase64Url(ivText),
            additionalData: new TextEncoder().encode(userId),
          },
          key.key,
          fromBase64Url(ciphertextText),
        );
        return { secret: new Uint8Array(plain), current: key === all[0] };
      } catch {
        throw new Error("Cannot open secret: it was altered or belongs to another user");
      }
    },
  };
}

async function deriveBoxKey(secret: string): Promise<BoxKey> {
  const bits = await hkdf(secret, HKDF_SALT, HKDF_INFO, 32);
  // The key's id: a short digest of the key itself (it reveals nothing usable about it).
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bits));
  const key = await crypto.subtle.importKey("raw", bits, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
  return { kid: toBase64Url(digest.subarray(0, 8)), key };
}

/** How many recovery codes a user gets at a time. */
export const RECOVERY_CODE_COUNT = 10;

/** Crockford's base32: no I, L, O, U, so codes read aloud or copied by hand survive. */
const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

/** Fresh recovery codes: 16 Crockford base32 characters (80 bits) each, in groups of four. */
export function generateRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  const codes: string[] = [];
  for (let n = 0; n < count; n++) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    // 256 is a multiple of 32: `byte % 32` is uniform.
    const chars = Array.from(bytes, (b) => CROCKFORD[b % 32]).join("");
    codes.push(chars.match(/.{4}/g)!.join("-"));
  }
  return codes;
}

/**
 * A typed recovery code as its 16 canonical characters, or null when it cannot be one:
 * case, spaces and hyphens are forgiven, and the letters people confuse with digits
 * (I, L → 1; O → 0) are read as Crockford's base32 reads them.
 */
export function normalizeRecoveryCode(input: string): string | null {
  const text = input.toLowerCase().replace(/[\s-]+/g, "").replace(/[il]/g, "1").replace(
    /o/g,
    "0",
  );
  if (text.length !== 16) return null;
  for (const char of text) if (!CROCKFORD.includes(char)) return null;
  return text;
}

/** What is stored for a recovery code: SHA-256 hex of `<userId>:<normalised code>`. */
export async function hashRecoveryCode(userId: string, code: string): Promise<string> {
  const normal = normalizeRecoveryCode(code);
  if (!normal) throw new Error("Cannot hash recovery code: malformed");
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`${userId}:${normal}`),
  );
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
