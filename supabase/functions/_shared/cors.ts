/**
 * Credentialed CORS for an allow-list of frontend origins. Auth.js itself answers OPTIONS
 * with 400, so preflight is answered here; every other origin gets no grant at all.
 *
 * @example
 * ```ts
 * const preflight = corsPreflight(req, allowed); // Response for OPTIONS
 * applyCors(req, response.headers, allowed);     // on every other response
 * ```
 */
import { HttpError } from "./errors.ts";

const ALLOWED_HEADERS =
  "authorization, content-type, x-auth-return-redirect, x-client-info, apikey";
const ALLOWED_METHODS = "GET, POST, OPTIONS";

/** Answers a preflight: 204 with the grant for an allowed origin, 403 otherwise. */
export function corsPreflight(
  req: Request,
  allowedOrigins: Set<string>,
): Response {
  const origin = req.headers.get("Origin");
  if (!origin || !allowedOrigins.has(origin)) {
    throw new HttpError(
      403,
      "origin_not_allowed",
      origin
        ? `Cannot allow origin "${origin}": not in AUTH_ALLOWED_ORIGINS`
        : "Missing Origin header",
      { headers: { Vary: "Origin" } },
    );
  }
  const headers = new Headers({
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Allow-Credentials": "true",
    "Access-Control-Allow-Methods": ALLOWED_METHODS,
    "Access-Control-Allow-Headers": ALLOWED_HEADERS,
    "Access-Control-Max-Age": "600",
    Vary: "Origin",
  });
  return new Response(null, { status: 204, headers });
}

/** Adds the CORS grant to a response when, and only when, the request's origin is allowed. */
export function applyCors(
  req: Request,
  headers: Headers,
  allowedOrigins: Set<string>,
  { vary = true }: { vary?: boolean } = {},
): void {
  if (vary) headers.append("Vary", "Origin");
  const origin = req.headers.get("Origin");
  if (!origin || !allowedOrigins.has(origin)) return;
  headers.set("Access-Control-Allow-Origin", origin);
  headers.set("Access-Control-Allow-Credentials", "true");
  headers.set("Access-Control-Expose-Headers", "content-type");
}
