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

function setSecurityHeaders(headers: Headers) {
  if (!headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");
  headers.set("X-Content-Type-Options", "nosniff");
  // Magic-link, verification and reset URLs carry tokens: never leak them as a Referer.
  headers.set("Referrer-Policy", "no-referrer");
}
