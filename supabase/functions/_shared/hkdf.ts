/**
 * HKDF-SHA-256 (RFC 5869) over WebCrypto: `bytes` of key material from a secret, a salt and
 * an info string — what Auth.js derives its session keys with, and the TOTP secrets' box too.
 *
 * @example
 * ```ts
 * const key = await hkdf(secret, "authjs.session-token", "Auth.js Generated Encryption Key (authjs.session-token)", 64);
 * ```
 */
export async function hkdf(
  secret: string,
  salt: string,
  info: string,
  bytes: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const encoder = new TextEncoder();
  const material = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    "HKDF",
    false,
    ["deriveBits"],
  );
  return new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: encoder.encode(salt), info: encoder.encode(info) },
      material,
      bytes * 8,
    ),
  );
}
