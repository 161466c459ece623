/**
 * Reads a POST body the way Auth.js will (JSON or URL-encoded form), rejecting what it would
 * silently misread: other content types, malformed JSON, non-object bodies, oversized bodies.
 *
 * @example
 * ```ts
 * const { fields, text } = await readBody(req);
 * fields.csrfToken; // string | undefined
 * ```
 */
import { HttpError } from "./errors.ts";

/** Generous for a sign-in form, far below the Edge memory limit. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface ParsedBody {
  /** Top-level fields; values are strings for forms, any JSON value for JSON. */
  fields: Record<string, unknown>;
  /** The raw text, to hand on to Auth.js unchanged. */
  text: string;
  contentType: string;
}

export async function readBody(req: Request): Promise<ParsedBody> {
  const contentType = (req.headers.get("Content-Type") ?? "").split(";")[0]!
    .trim().toLowerCase();
  const declared = Number(req.headers.get("Content-Length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const text = await readLimited(req);
  if (contentType === "application/x-www-form-urlencoded") {
    return {
      fields: Object.fromEntries(new URLSearchParams(text)),
      text,
      contentType,
    };
  }
  if (contentType === "application/json") {
    let value: unknown;
    try {
      value = text === "" ? {} : JSON.parse(text);
    } catch {
      throw new HttpError(
        400,
        "malformed_body",
        "Cannot parse body: invalid JSON",
      );
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new HttpError(
        400,
        "malformed_body",
        "Cannot parse body: expected a JSON object",
      );
    }
    return { fields: value as Record<string, unknown>, text, contentType };
  }
  if (contentType === "" && text === "") {
    return { fields: {}, text, contentType };
  }
  throw new HttpError(
    415,
    "unsupported_content_type",
    "Cannot read body: send application/x-www-form-urlencoded or application/json",
  );
}

async function readLimited(req: Request): Promise<string> {
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(
      400,
      "malformed_body",
      "Cannot read body: not valid UTF-8",
    );
  }
}

function tooLarge() {
  return new HttpError(
    413,
    "body_too_large",
    `Cannot read body: larger than ${MAX_BODY_BYTES} bytes`,
  );
}
