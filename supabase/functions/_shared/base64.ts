/**
 * Base64 and base64url for bytes. Where the runtime has them (Deno 2.5+), the native
 * `Uint8Array.prototype.toBase64` and `Uint8Array.fromBase64`: exact, fast, and — unlike
 * `btoa`/`atob` — they do not load Deno's base64 module, about 1 ms of a cold start. An older
 * runtime gets the same answers through `btoa`/`atob`.
 *
 * @example
 * ```ts
 * toBase64Url(new Uint8Array([251, 255])); // "-_8"
 * fromBase64Url("-_8"); // Uint8Array [251, 255]
 * toBase64(new Uint8Array([251, 255])); // "+/8="
 * ```
 */

interface NativeBase64 {
  toBase64?: (
    this: Uint8Array,
    options?: { alphabet?: "base64" | "base64url"; omitPadding?: boolean },
  ) => string;
}
interface NativeFromBase64 {
  fromBase64?: (
    text: string,
    options?: { alphabet?: "base64" | "base64url" },
  ) => Uint8Array<ArrayBuffer>;
}
const nativeTo = (Uint8Array.prototype as NativeBase64).toBase64;
const nativeFrom = (Uint8Array as unknown as NativeFromBase64).fromBase64;

/** Standard base64 (`+/`), padded unless `omitPadding`. */
export function toBase64(bytes: Uint8Array, { omitPadding = false } = {}): string {
  return nativeTo
    ? nativeTo.call(bytes, { omitPadding })
    : portableBase64.toBase64(bytes, { omitPadding });
}

/** Base64url (`-_`), unpadded: as JOSE, WebAuthn and URLs use it. */
export function toBase64Url(bytes: Uint8Array): string {
  return nativeTo
    ? nativeTo.call(bytes, { alphabet: "base64url", omitPadding: true })
    : portableBase64.toBase64Url(bytes);
}

/** Standard base64, padding optional. Throws a `SyntaxError` on anything else. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new SyntaxError("Cannot read base64");
  return nativeFrom ? nativeFrom(text) : portableBase64.fromBase64(text);
}

/** Unpadded base64url, strictly: a `=`, `+`, `/` or space is a `SyntaxError`. */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new SyntaxError("Cannot read base64url");
  return nativeFrom
    ? nativeFrom(text, { alphabet: "base64url" })
    : portableBase64.fromBase64Url(text);
}

/** The same, through `btoa`/`atob`, for runtimes without the native methods (and tests). */
export const portableBase64 = {
  toBase64(bytes: Uint8Array, { omitPadding = false } = {}): string {
    const text = btoa(binaryString(bytes));
    return omitPadding ? text.replace(/=+$/, "") : text;
  },
  toBase64Url(bytes: Uint8Array): string {
    return btoa(binaryString(bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
  /** Input already checked by `fromBase64`. */
  fromBase64(text: string): Uint8Array<ArrayBuffer> {
    const padded = text.replace(/=+$/, "");
    return fromBinaryString(atob(padded + "=".repeat((4 - (padded.length % 4)) % 4)));
  },
  /** Input already checked by `fromBase64Url`. */
  fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
    return fromBinaryString(atob(text.replace(/-/g, "+").replace(/_/g, "/")));
  },
};

function binaryString(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return binary;
}

function fromBinaryString(binary: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
