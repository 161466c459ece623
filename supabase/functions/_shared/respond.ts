/**
 * What every function does around its own logic: any thrown error becomes a JSON error
 * response, allowed origins get their CORS grant, and every answer gets the security headers.
 *
 * @example
 * ```ts
 * Deno.serve(withResponseHeaders(handle, { allowedOrigins, log }));
 * ```
 */
import { applyCors } from "./cors.ts";
import { errorResponse } from "./errors.ts";

export function withResponseHeaders(
  handle: (req: Request) => Promise<Response>,
  { allowedOrigins, log }: { allowedOrigins: Set<string>; log: (line: string) => void },
): (req: Request) => Promise<Response> {
  return async (req) => {
    let response: Response;
    try {
      response = await handle(req);
    } catch (error) {
      response = errorResponse(error, log);
    }
    if (prepared.has(response)) {
      applyCors(req, response.headers, allowedOrigins, { vary: false });
      return response;
    }
    try {
      applyCors(req, response.headers, allowedOrigins);
      setSecurityHeaders(response.headers);
      return response;
    } catch {
      // Redirects (Response.redirect) have immutable headers: copy, then add ours.
      const headers = new Headers(response.headers);
      applyCors(req, headers, allowedOrigins);
      setSecurityHeaders(headers);
      return new Response(response.body, {
        status: response.status,
        statusText: response.statusText,
        headers,
      });
    }
  };
}

/** Security headers on every response. */
const SECURITY_HEADERS: readonly [string, string][] = [
  ["X-Content-Type-Options", "nosniff"],
  // Magic-link, verification and reset URLs carry tokens: never leak them as a Referer.
  ["Referrer-Policy", "no-referrer"],
];

/**
 * `headers` plus what `withResponseHeaders` adds to every response (`Vary: Origin` and the
 * security headers), for `preparedResponse`; hot paths build this list once.
 */
export function withCommonHeaders(headers: readonly [string, string][]): [string, string][] {
  return [...headers, ["Vary", "Origin"], ...SECURITY_HEADERS];
}

/** Responses made by `preparedResponse`: they already carry the common headers. */
const prepared = new WeakSet<Response>();

/**
 * A response whose header list (`withCommonHeaders(...)`, with a `Cache-Control`) is complete,
 * for hot paths: `withResponseHeaders` then only adds the CORS grant.
 */
export function preparedResponse(
  body: BodyInit | null,
  status: number,
  headers: [string, string][],
): Response {
  // Headers added one by one: in Deno 2.9, converting a `headers` list given to the
  // constructor costs ~4 µs a response, adding them ~0.6 µs. A text body has made its own
  // Content-Type, which is replaced; the rest (Set-Cookie may repeat) are appended.
  const response = status === 200 ? new Response(body) : new Response(body, { status });
  const list = response.headers;
  for (const [name, value] of headers) {
    if (name.length === 12 && name.toLowerCase() === "content-type") list.set(name, value);
    else list.append(name, value);
  }
  prepared.add(response);
  return response;
}

function setSecurityHeaders(headers: Headers) {
  if (!headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");
  for (const [name, value] of SECURITY_HEADERS) headers.set(name, value);
}
