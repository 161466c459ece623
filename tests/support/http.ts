/**
 * A tiny cookie-keeping HTTP client for driving the functions the way a browser does,
 * without following redirects (tests assert on them).
 *
 * @example
 * ```ts
 * const client = new Client();
 * const { csrfToken } = await (await client.get(`${url}/csrf`)).json();
 * ```
 */
export class Client {
  readonly cookies = new Map<string, string>();

  constructor(readonly defaultHeaders: HeadersInit = {}) {}

  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(this.defaultHeaders);
    new Headers(init.headers).forEach((value, key) => headers.set(key, value));
    if (this.cookies.size && !headers.has("Cookie")) {
      headers.set(
        "Cookie",
        [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "),
      );
    }
    const response = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) =>
        /^\s*max-age=0\s*$/i.test(a) ||
        (/^\s*expires=/i.test(a) && Date.parse(a.split("=")[1]!) < Date.now())
      );
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  get(url: string | URL, headers: HeadersInit = {}): Promise<Response> {
    return this.fetch(url, { headers });
  }

  /** POSTs a URL-encoded form, as Auth.js's pages and `signIn()` do. */
  postForm(
    url: string | URL,
    fields: Record<string, string>,
    headers: HeadersInit = {},
  ) {
    return this.fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        ...headers,
      },
      body: new URLSearchParams(fields),
    });
  }

  async csrfToken(functionsUrl: string): Promise<string> {
    const response = await this.get(`${functionsUrl}/csrf`);
    const { csrfToken } = await response.json();
    return csrfToken;
  }
}
