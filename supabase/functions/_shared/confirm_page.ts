/**
 * The answer to a GET on an emailed link (magic link, address verification, password reset):
 * it consumes nothing. Mail scanners that prefetch links get a page; the person clicks its
 * button, which POSTs the same URL, and only that POST uses the token. Fetch clients asking
 * for JSON get where to POST instead.
 *
 * @example
 * ```ts
 * if (req.method === "GET") return confirmPage(req, url, { title: "Sign in", button: "Sign in" });
 * ```
 */
import { escapeHtml } from "./emails.ts";

export interface ConfirmPageOptions {
  title: string;
  button: string;
  /** Extra form fields (name → label), e.g. a new password; all required. */
  fields?: Record<string, { label: string; type: "password" | "text" }>;
}

export function confirmPage(req: Request, url: URL, options: ConfirmPageOptions): Response {
  if (wantsJson(req)) {
    return Response.json({
      confirm: { method: "POST", url: url.href, fields: Object.keys(options.fields ?? {}) },
    });
  }
  const inputs = Object.entries(options.fields ?? {}).map(([name, field]) =>
    `<label>${escapeHtml(field.label)} <input name="${
      escapeHtml(name)
    }" type="${field.type}" required${
      field.type === "password" ? ' autocomplete="new-password" minlength="8"' : ""
    }></label>`
  ).join("\n");
  const html = `<!doctype html><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(options.title)}</title>
<style>body{font:16px system-ui;max-width:28rem;margin:4rem auto;padding:0 1rem}label,button{display:block;margin:1rem 0}input{width:100%;font:inherit}button{font:inherit;padding:.5rem 1rem}</style>
<h1>${escapeHtml(options.title)}</h1>
<form method="post" action="${escapeHtml(url.href)}">
${inputs}
<button type="submit">${escapeHtml(options.button)}</button>
</form>`;
  return new Response(html, {
    headers: { "Content-Type": "text/html; charset=utf-8" },
  });
}

/**
 * The answer to a confirming POST: JSON for fetch clients, a short page for the browser form
 * the confirm page posted (with a link onwards, e.g. to the sign-in page).
 */
export function resultPage(
  req: Request,
  body: { status: string; message: string },
  next: { href: string; label: string },
): Response {
  if (wantsJson(req) || !isFormPost(req)) return Response.json(body);
  const html = `<!doctype html><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(body.message)}</title>
<style>body{font:16px system-ui;max-width:28rem;margin:4rem auto;padding:0 1rem}</style>
<h1>${escapeHtml(body.message)}</h1>
<p><a href="${escapeHtml(next.href)}">${escapeHtml(next.label)}</a></p>`;
  return new Response(html, { headers: { "Content-Type": "text/html; charset=utf-8" } });
}

function isFormPost(req: Request): boolean {
  return (req.headers.get("Content-Type") ?? "").startsWith("application/x-www-form-urlencoded");
}

/** Fetch clients: `Accept: application/json` or Auth.js's `X-Auth-Return-Redirect`. */
export function wantsJson(req: Request): boolean {
  return (req.headers.get("Accept") ?? "").includes("application/json") ||
    req.headers.has("X-Auth-Return-Redirect");
}
