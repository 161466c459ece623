/**
 * Email addresses as sign-in identifiers: normalised the way Auth.js's email provider does
 * (NFKC, trimmed, lower case), and refused with a 400 when they are not plausibly one
 * mailbox, so they can key rate limits and never reach an SMTP server as something else.
 *
 * @example
 * ```ts
 * normalizeEmail(" Ada@Example.COM "); // "ada@example.com"
 * normalizeEmail("a@b@c");              // throws HttpError 400 invalid_email
 * ```
 */
import { HttpError } from "./errors.ts";

/** The normalised address, or null when `value` is not plausibly one mailbox. */
export function parseEmail(value: unknown): string | null {
  const email = typeof value === "string" ? value.normalize("NFKC").trim().toLowerCase() : "";
  return MAILBOX.test(email) && email.length <= 254 ? email : null;
}

// One local part and one domain, each without quotes, commas, semicolons, colons,
// brackets, spaces or control characters (they confuse address parsers).
const MAILBOX = /^[^\s\p{Cc}@",;:<>()[\]\\]{1,64}@[^\s\p{Cc}@",;:<>()[\]\\]{1,253}$/u;

export function normalizeEmail(value: unknown): string {
  const email = parseEmail(value);
  if (email === null) {
    throw new HttpError(
      400,
      "invalid_email",
      "Cannot send a sign-in link: the email address is missing or malformed",
    );
  }
  return email;
}
