/**
 * Rebuilds a function's request with its public URL. Supabase strips `/functions/v1` before a
 * function sees the request (`/session`, on an internal host), while Auth.js builds every URL
 * it emits (OAuth `redirect_uri`, email links, redirects) from `request.url` and `basePath`.
 *
 * @example
 * ```ts
 * const pub = toPublicUrl(new URL("http://kong:8000/session?x=1"), new URL("https://abc.supabase.co/functions/v1"));
 * pub.href; // "https://abc.supabase.co/functions/v1/session?x=1"
 * ```
 */
export function toPublicUrl(internal: URL, publicUrl: URL): URL {
  const base = publicUrl.pathname.replace(/\/+$/, "");
  // A request may already carry the base path (a proxy that does not strip it).
  const path = base &&
      (internal.pathname === base || internal.pathname.startsWith(`${base}/`))
    ? internal.pathname
    : `${base}${internal.pathname}`;
  // One parse of the whole string: the URL setters cost ~0.1 ms more on an isolate's first
  // request. The origin comes first, so a path such as `//evil.example` stays a path.
  return new URL(`${publicUrl.origin}${path}${internal.search}`);
}

/**
 * The path segments after the base path: `["callback", "email"]` for
 * `/functions/v1/callback/email`.
 */
export function actionSegments(url: URL, basePath: string): string[] {
  const rest = url.pathname.slice(basePath.length);
  return rest.split("/").filter((s) => s !== "").map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
}

/** What Auth.js accepts as a callback URL: http(s), absolute or a path on `origin`. */
export function isHttpUrl(value: string, origin: string): boolean {
  try {
    const url = new URL(value, value.startsWith("/") ? origin : undefined);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
