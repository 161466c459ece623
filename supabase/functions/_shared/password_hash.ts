/**
 * Password hashing with PBKDF2-HMAC-SHA256 from WebCrypto (native code in Deno and in
 * Supabase's Edge Runtime; no WebAssembly, no `node:crypto`). Each stored hash carries its
 * algorithm and parameters, `$pbkdf2-sha256$i=<iterations>$<salt>$<hash>` (PHC string format),
 * so the cost can be raised later: a sign-in with an older hash rehashes it.
 *
 * Cost, measured with `npm run bench:hash` (see README): 600,000 iterations (OWASP's 2023
 * figure for PBKDF2-SHA256) take about 120 ms of CPU and no measurable memory, well inside
 * Supabase's 2 s CPU / 256 MB per request.
 *
 * @example
 * ```ts
 * const stored = await hashPassword("correct horse battery staple");
 * const { ok, rehash } = await verifyPassword("correct horse battery staple", stored);
 * ```
 */
import { fromBase64, toBase64 } from "./base64.ts";

/** PHC strings carry base64 without padding. */
const PHC = { omitPadding: true };

export interface Pbkdf2Params {
  iterations: number;
}

/** The parameters new hashes get. */
export const PASSWORD_HASH_PARAMS: Pbkdf2Params = { iterations: 600_000 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;
const PREFIX = "$pbkdf2-sha256$";
/** Refuse stored parameters that would blow the CPU budget (a corrupted or hostile row). */
const MAX_ITERATIONS = 5_000_000;

export async function hashPassword(
  password: string,
  params: Pbkdf2Params = PASSWORD_HASH_PARAMS,
): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, params.iterations);
  return `${PREFIX}i=${params.iterations}$${toBase64(salt, PHC)}$${toBase64(hash, PHC)}`;
}

/**
 * Checks a password against a stored hash in constant time. With `stored` null (no such
 * account) it does the same work and answers `ok: false`, so timing tells nothing.
 * `rehash` is true when the hash uses weaker parameters than new hashes get.
 */
export async function verifyPassword(
  password: string,
  stored: string | null,
): Promise<{ ok: boolean; rehash: boolean }> {
  const parsed = stored ? parseHash(stored) : null;
  if (!parsed) {
    await derive(password, new Uint8Array(SALT_BYTES), PASSWORD_HASH_PARAMS.iterations);
    return { ok: false, rehash: false };
  }
  const actual = await derive(password, parsed.salt, parsed.iterations);
  const ok = timingSafeEqual(actual, parsed.hash);
  return { ok, rehash: ok && parsed.iterations < PASSWORD_HASH_PARAMS.iterations };
}

function parseHash(
  stored: string,
): { iterations: number; salt: Uint8Array; hash: Uint8Array } | null {
  if (!stored.startsWith(PREFIX)) return null;
  const [params, salt, hash] = stored.slice(PREFIX.length).split("$");
  const iterations = Number(params?.match(/^i=(\d+)$/)?.[1]);
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    return null;
  }
  try {
    const saltBytes = fromBase64(salt ?? "");
    const hashBytes = fromBase64(hash ?? "");
    if (hashBytes.length !== HASH_BYTES || saltBytes.length === 0) return null;
    return { iterations, salt: saltBytes, hash: hashBytes };
  } catch {
    return null;
  }
}

async function derive(
  password: string,
  salt: Uint8Array,
  iterations: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(password.normalize("NFKC")),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as Uint8Array<ArrayBuffer>, iterations },
    key,
    HASH_BYTES * 8,
  );
  return new Uint8Array(bits);
}

/** Compares every byte whatever the first difference, so timing does not leak a prefix. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
