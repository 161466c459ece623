/**
 * What the password flow accepts: addresses as Auth.js's email provider normalizes them, and
 * passwords long enough to resist guessing (NIST SP 800-63B: at least 8 characters, no
 * composition rules, refuse the commonest ones) and short enough to bound the hashing work.
 *
 * @example
 * ```ts
 * normalizeEmail(" Ada@Example.com "); // "ada@example.com"
 * passwordProblem("password123", "ada@example.com"); // "it is too common"
 * ```
 */

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;

/** Normalised as the email sign-in does (one rule for every flow); null when not an address. */
export { parseEmail as normalizeEmail } from "./email_address.ts";

const COMMON = new Set([
  "password",
  "password1",
  "password123",
  "12345678",
  "123456789",
  "1234567890",
  "qwertyuiop",
  "qwerty123",
  "iloveyou",
  "11111111",
  "abc12345",
  "letmein1",
  "welcome1",
  "passw0rd",
]);

/** Why a password is refused, or null when it is acceptable. */
export function passwordProblem(password: string, email: string): string | null {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) {
    return `it is shorter than ${MIN_PASSWORD_LENGTH} characters`;
  }
  if (length > MAX_PASSWORD_LENGTH) {
    return `it is longer than ${MAX_PASSWORD_LENGTH} characters`;
  }
  const lower = password.toLowerCase();
  if (COMMON.has(lower) || new Set(password).size < 3) return "it is too common";
  if (lower === email || lower === email.split("@")[0]) return "it is your email address";
  return null;
}
