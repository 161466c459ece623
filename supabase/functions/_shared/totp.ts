/**
 * One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238) over WebCrypto's HMAC, base32
 * (RFC 4648) for the shared secret, and the `otpauth://` URI authenticator apps scan.
 *
 * The deployment uses `TOTP_DEFAULTS` (HMAC-SHA1, 6 digits, 30-second steps: what every
 * authenticator app supports); the functions take other parameters for the RFC's test
 * vectors and for apps that support them.
 *
 * @example
 * ```ts
 * const secret = crypto.getRandomValues(new Uint8Array(20));
 * const code = await totp(secret, Date.now() / 1000); // "492039"
 * const step = await verifyTotp(secret, code, Date.now() / 1000); // the matched step, or null
 * const uri = otpauthUri({ issuer: "Example", account: "ada@example.com", secret });
 * ```
 */

export type TotpAlgorithm = "SHA-1" | "SHA-256" | "SHA-512";

export interface TotpParams {
  algorithm: TotpAlgorithm;
  digits: number;
  /** Seconds per step (RFC 6238's X). */
  period: number;
}

/** What every authenticator app understands (RFC 6238's defaults, Google Authenticator's too). */
export const TOTP_DEFAULTS: TotpParams = { algorithm: "SHA-1", digits: 6, period: 30 };

/** Steps tolerated either side of the current one (clock skew, a code typed at the boundary). */
export const TOTP_WINDOW = 1;

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32, upper case; `padding` adds the `=` the RFC's own vectors show. */
export function base32Encode(bytes: Uint8Array, { padding = false } = {}): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  if (padding) { while (out.length % 8 !== 0) out += "="; }
  return out;
}

/**
 * RFC 4648 base32 to bytes. Case, spaces and trailing `=` are forgiven (people copy secrets
 * by hand); any other character, or leftover bits that are not zero, is an error.
 */
export function base32Decode(text: string): Uint8Array<ArrayBuffer> {
  const clean = text.replace(/\s+/g, "").replace(/=+$/, "").toUpperCase();
  const out = new Uint8Array(Math.floor((clean.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let i = 0;
  for (const char of clean) {
    const value = BASE32.indexOf(char);
    if (value === -1) throw new Error(`Cannot decode base32: unexpected character "${char}"`);
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      out[i++] = (buffer >>> (bits - 8)) & 255;
      bits -= 8;
    }
    buffer &= (1 << bits) - 1;
  }
  if (buffer !== 0 || bits >= 5) throw new Error("Cannot decode base32: truncated input");
  return out;
}

const keys = new WeakMap<Uint8Array, Map<TotpAlgorithm, Promise<CryptoKey>>>();

function hmacKey(secret: Uint8Array<ArrayBuffer>, algorithm: TotpAlgorithm): Promise<CryptoKey> {
  let byAlgorithm = keys.get(secret);
  if (!byAlgorithm) keys.set(secret, byAlgorithm = new Map());
  let key = byAlgorithm.get(algorithm);
  if (!key) {
    key = crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: algorithm }, false, [
      "sign",
    ]);
    byAlgorithm.set(algorithm, key);
  }
  return key;
}

/**
 * HOTP (RFC 4226 §5.3): HMAC over the 8-byte big-endian counter, dynamic truncation, the
 * last `digits` decimal digits (zero-padded).
 */
export async function hotp(
  secret: Uint8Array<ArrayBuffer>,
  counter: number,
  { algorithm = "SHA-1", digits = 6 }: Partial<Pick<TotpParams, "algorithm" | "digits">> = {},
): Promise<string> {
  if (!Number.isSafeInteger(counter) || counter < 0) {
    throw new Error(`Cannot compute HOTP: counter ${counter} out of range`);
  }
  if (!Number.isInteger(digits) || digits < 6 || digits > 10) {
    throw new Error(`Cannot compute HOTP: ${digits} digits (6 to 10 allowed)`);
  }
  const message = new Uint8Array(8);
  const view = new DataView(message.buffer);
  view.setUint32(0, Math.floor(counter / 2 ** 32));
  view.setUint32(4, counter >>> 0);
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", await hmacKey(secret, algorithm), message),
  );
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) |
    (mac[offset + 2]! << 8) | mac[offset + 3]!;
  // 10 digits exceed 2^31: the modulus only matters below that.
  const code = digits >= 10 ? binary : binary % 10 ** digits;
  return String(code).padStart(digits, "0");
}

/** The TOTP step (RFC 6238's T) for a time in seconds since the epoch. */
export function totpStep(unixSeconds: number, period = TOTP_DEFAULTS.period): number {
  return Math.floor(unixSeconds / period);
}

/** TOTP (RFC 6238 §4): HOTP over the time step. */
export function totp(
  secret: Uint8Array<ArrayBuffer>,
  unixSeconds: number,
  params: Partial<TotpParams> = {},
): Promise<string> {
  const { period, ...rest } = { ...TOTP_DEFAULTS, ...params };
  return hotp(secret, totpStep(unixSeconds, period), rest);
}

/**
 * Checks a code against the steps around `unixSeconds` (`window` either side) and returns
 * the step it belongs to — the latest one when several match — or null. Every candidate is
 * computed and compared in constant time, whatever matches. Refusing a replay (a step not
 * later than the last one used) is the caller's job, atomically in the database.
 */
export async function verifyTotp(
  secret: Uint8Array<ArrayBuffer>,
  code: string,
  unixSeconds: number,
  { window = TOTP_WINDOW, ...params }: Partial<TotpParams> & { window?: number } = {},
): Promise<number | null> {
  const { period, digits, algorithm } = { ...TOTP_DEFAULTS, ...params };
  if (code.length !== digits || !/^\d+$/.test(code)) return null;
  const current = totpStep(unixSeconds, period);
  let matched: number | null = null;
  for (let step = current - window; step <= current + window; step++) {
    if (step < 0) continue;
    const expected = await hotp(secret, step, { algorithm, digits });
    if (constantTimeEqual(expected, code)) matched = step;
  }
  return matched;
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * The Key URI authenticator apps scan (Google Authenticator's `otpauth://` format):
 * `otpauth://totp/Issuer:account?secret=…&issuer=Issuer&algorithm=SHA1&digits=6&period=30`.
 * The issuer appears twice (label prefix and parameter), as the format recommends, so old
 * and new apps both show it.
 */
export function otpauthUri(
  { issuer, account, secret, params = TOTP_DEFAULTS }: {
    issuer: string;
    account: string;
    secret: Uint8Array;
    params?: TotpParams;
  },
): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const query = new URLSearchParams({
    secret: base32Encode(secret),
    issuer,
    algorithm: params.algorithm.replace("-", ""),
    digits: String(params.digits),
    period: String(params.period),
  });
  // URLSearchParams writes spaces as "+", which otpauth readers take literally.
  return `otpauth://totp/${label}?${query.toString().replaceAll("+", "%20")}`;
}
