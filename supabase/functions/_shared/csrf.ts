/**
 * Auth.js's double-submit CSRF check, done before `Auth()` so a failure is a 403 with a stable
 * code rather than a redirect to an error page. Auth.js checks again; both must agree.
 *
 * Auth.js's cookie holds `token|sha256hex(token + secret)`, where `secret` is its configured
 * secret stringified (a rotation list joins with commas), and the body must echo `token`.
 *
 * @example
 * ```ts
 * await verifyCsrf({ cookieValue, bodyToken: body.csrfToken, secret: config.secrets });
 * ```
 */
import { HttpError } from "./errors.ts";

export async function verifyCsrf(
  { cookieValue, bodyToken, secret }: {
    cookieValue: string | undefined;
    bodyToken: unknown;
    secret: string | string[];
  },
): Promise<void> {
  if (typeof bodyToken !== "string" || bodyToken === "") {
    throw new HttpError(
      403,
      "csrf_token_missing",
      "Missing CSRF token: fetch one from /csrf",
    );
  }
  const [token, hash] = (cookieValue ?? "").split("|");
  if (
    !token || !hash || hash !== await sha256Hex(`${token}${String(secret)}`)
  ) {
    throw new HttpError(
      403,
      "csrf_cookie_invalid",
      "Cannot verify CSRF token: the CSRF cookie is missing or invalid",
    );
  }
  if (!timingSafeEqual(token, bodyToken)) {
    throw new HttpError(
      403,
      "csrf_token_mismatch",
      "Cannot verify CSRF token: it does not match",
    );
  }
}

/**
 * A fresh CSRF token and the cookie value that vouches for it, in Auth.js's format. The
 * handler presents one to Auth.js for bearer requests, which carry no ambient credential and
 * so need no CSRF protection, while Auth.js still insists on a token.
 *
 * @example
 * ```ts
 * const { token, cookie } = await createCsrfPair(authConfig.secret!);
 * ```
 */
export async function createCsrfPair(
  secret: string | string[],
): Promise<{ token: string; cookie: string }> {
  const token = Array.from(
    crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return { token, cookie: `${token}|${await sha256Hex(`${token}${String(secret)}`)}` };
}

/** SHA-256 of a text, as lower-case hex. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Auth.js's CSRF cookie: `__Host-` prefixed on https. */
export function csrfCookieName(url: URL): string {
  return `${url.protocol === "https:" ? "__Host-" : ""}authjs.csrf-token`;
}

/** One cookie's value from a `Cookie` header, or undefined. */
export function readCookie(
  header: string | null,
  name: string,
): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
  }
  return undefined;
}
