/**
 * OAuth 1.0a request signing (RFC 5849 §3): the signature base string, HMAC-SHA1 and
 * PLAINTEXT signatures, and the `Authorization: OAuth …` header. WebCrypto only.
 *
 * @example
 * ```ts
 * const { authorization } = await signRequest({
 *   method: "POST",
 *   url: new URL("https://api.x.com/oauth/request_token"),
 *   consumerKey: "key",
 *   consumerSecret: "secret",
 *   oauth: { oauth_callback: "https://example.com/cb" },
 * });
 * await fetch("https://api.x.com/oauth/request_token", {
 *   method: "POST",
 *   headers: { Authorization: authorization },
 * });
 * ```
 */
import { toBase64 } from "../base64.ts";
import type { SignatureMethod } from "./config.ts";

/** A request parameter, decoded; names may repeat (RFC 5849 §3.4.1.3). */
export type Param = readonly [name: string, value: string];

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const encoder = new TextEncoder();

/**
 * RFC 5849 §3.6: UTF-8, then every byte outside ALPHA / DIGIT / `-._~` as `%XX` (uppercase).
 * Unlike `encodeURIComponent`, it also encodes `!*'()`.
 */
export function percentEncode(value: string): string {
  let out = "";
  for (const char of value) {
    if (UNRESERVED.test(char)) {
      out += char;
      continue;
    }
    for (const byte of encoder.encode(char)) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return out;
}

/**
 * RFC 5849 §3.4.1.2: scheme and host in lowercase, the port only when it is not the
 * scheme's default, the path as sent; no query or fragment.
 */
export function baseStringUri(url: URL): string {
  // URL already lowercases scheme and host and drops a default port.
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * RFC 5849 §3.4.1.3.2: each name and value encoded, sorted by name then value (byte order
 * of the encoded strings, which are ASCII), joined as `name=value` with `&`.
 */
export function normalizeParameters(params: readonly Param[]): string {
  return params
    .map(([name, value]) => [percentEncode(name), percentEncode(value)] as const)
    .sort(([an, av], [bn, bv]) => an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0)
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

/**
 * RFC 5849 §3.4.1.3.1: the parameters a signature covers — the query, the protocol
 * parameters (without `oauth_signature` and `realm`), and a form-encoded body.
 */
export function collectParameters(
  url: URL,
  oauth: readonly Param[],
  form?: string,
): Param[] {
  const params: Param[] = [...new URLSearchParams(url.search)];
  for (const [name, value] of oauth) {
    if (name !== "oauth_signature" && name !== "realm") params.push([name, value]);
  }
  if (form) params.push(...new URLSearchParams(form));
  return params;
}

/** RFC 5849 §3.4.1.1: `METHOD&encoded base string URI&encoded normalized parameters`. */
export function signatureBaseString(method: string, url: URL, params: readonly Param[]): string {
  return [
    percentEncode(method.toUpperCase()),
    percentEncode(baseStringUri(url)),
    percentEncode(normalizeParameters(params)),
  ].join("&");
}

/**
 * The `oauth_signature` value: HMAC-SHA1 over the base string (§3.4.2), or PLAINTEXT
 * (§3.4.4, the key itself). The key is `encode(consumer secret)&encode(token secret)`.
 */
export async function createSignature(
  method: SignatureMethod,
  baseString: string,
  consumerSecret: string,
  tokenSecret = "",
): Promise<string> {
  const key = `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`;
  if (method === "PLAINTEXT") return key;
  const hmacKey = await crypto.subtle.importKey(
    "raw",
    encoder.encode(key),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const digest = new Uint8Array(
    await crypto.subtle.sign("HMAC", hmacKey, encoder.encode(baseString)),
  );
  return toBase64(digest);
}

/**
 * RFC 5849 §3.5.1: `OAuth name="value", …` with names and values percent-encoded; `realm`
 * first when given (it is not signed).
 */
export function authorizationHeader(params: readonly Param[], realm?: string): string {
  const parts = realm === undefined ? [] : [`realm="${realm.replace(/["\\]/g, "")}"`];
  for (const [name, value] of params) {
    parts.push(`${percentEncode(name)}="${percentEncode(value)}"`);
  }
  return `OAuth ${parts.join(", ")}`;
}

/** A nonce of 128 random bits in unreserved characters. */
export function createNonce(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

export interface SignRequestOptions {
  method: string;
  /** The request URL, query included (its parameters are signed). */
  url: URL;
  /** A form-encoded body (`application/x-www-form-urlencoded`), whose parameters are signed. */
  form?: string;
  consumerKey: string;
  consumerSecret: string;
  /** The temporary or token credentials, once the flow has them. */
  token?: string;
  tokenSecret?: string;
  /** Further protocol parameters: `oauth_callback`, `oauth_verifier`. */
  oauth?: Record<string, string>;
  signatureMethod?: SignatureMethod;
  /** Seconds since the epoch; default now. */
  timestamp?: number;
  nonce?: string;
}

/**
 * Signs a request: the protocol parameters (§3.1) with their `oauth_signature`, and the
 * `Authorization` header carrying them (§3.5.1, the preferred transmission).
 */
export async function signRequest(
  options: SignRequestOptions,
): Promise<{ params: Param[]; authorization: string; baseString: string }> {
  const signatureMethod = options.signatureMethod ?? "HMAC-SHA1";
  const oauth: Param[] = [
    ["oauth_consumer_key", options.consumerKey],
    ["oauth_signature_method", signatureMethod],
    ["oauth_timestamp", String(options.timestamp ?? Math.floor(Date.now() / 1000))],
    ["oauth_nonce", options.nonce ?? createNonce()],
    ["oauth_version", "1.0"],
  ];
  if (options.token !== undefined) oauth.push(["oauth_token", options.token]);
  for (const [name, value] of Object.entries(options.oauth ?? {})) oauth.push([name, value]);
  const baseString = signatureBaseString(
    options.method,
    options.url,
    collectParameters(options.url, oauth, options.form),
  );
  const signature = await createSignature(
    signatureMethod,
    baseString,
    options.consumerSecret,
    options.tokenSecret,
  );
  const params: Param[] = [...oauth, ["oauth_signature", signature]];
  return { params, authorization: authorizationHeader(params), baseString };
}
