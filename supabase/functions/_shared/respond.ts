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

/** What `withResponseHeaders` adds to every response (besides a CORS grant). */
const COMMON_HEADERS: [string, string][] = [
  ["Vary", "Origin"],
  ["X-Content-Type-Options", "nosniff"],
  ["Referrer-Policy", "no-referrer"],
];

/** Responses made by `preparedResponse`: they already carry `COMMON_HEADERS`. */
const prepared = new WeakSet<Response>();

/**
 * A response built with the common headers in one go, for hot paths: `withResponseHeaders`
 * then only adds the CORS grant. `headers` must include a `Cache-Control`.
 */
export function preparedResponse(
  body: BodyInit | null,
  status: number,
  headers: [string, string][],
): Response {
  const response = new Response(body, { status, headers: [...headers, ...COMMON_HEADERS] });
  prepared.add(response);
  return response;
}

function setSecurityHeaders(headers: Headers) {
  if (!headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");
  headers.set("X-Content-Type-Options", "nosniff");
  // Magic-link, verification and reset URLs carry tokens: never leak them as a Referer.
  headers.set("Referrer-Policy", "no-referrer");
}
