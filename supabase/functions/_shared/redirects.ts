/**
 * Post-processing of the redirects Auth.js answers with (a `Location` header, or `{ url }`
 * as JSON for fetch clients sending `X-Auth-Return-Redirect`):
 *
 * - Auth.js prefixes its error redirects with the request's origin, so `pages.signIn` and
 *   `pages.error` cannot be URLs of another origin there (`Response.redirect` throws on
 *   `https://fn.example.comhttps://app.example.com/login`). Such pages are kept from Auth.js
 *   (`pagesForAuthJs`); its redirects to its own `/signin` and `/error` pages, and GETs of
 *   them (`frontendPage`), go to the frontend's instead, query included. `AUTH_PAGES_*`
 *   are validated against `AUTH_ALLOWED_ORIGINS` at start.
 * - Auth.js reports every OAuth failure that is not the provider's own answer as
 *   `error=Configuration` ("There is a problem with the server configuration"), which is
 *   wrong for a forged state or an unreachable provider. Those become Auth.js's own
 *   `OAuthSignin` / `OAuthCallbackError` on the sign-in page (where the user can retry),
 *   with a stable `code`: `oauth_state_invalid`, `oauth_check_failed`,
 *   `provider_unreachable`, `provider_error`. A provider's own error (`?error=access_denied`
 *   on the callback) is passed on as `code` too.
 *
 * @example
 * ```ts
 * const response = await refineRedirect(await Auth(request, authConfig), { ... });
 * ```
 */
import type { PagesConfig } from "./config.ts";
import { isConnectionError } from "./errors.ts";

export interface RedirectContext {
  /** The public URL of the request Auth.js answered. */
  url: URL;
  /** The Auth.js action (`signin`, `callback`, …). */
  action: string;
  /** The provider's type when the path names one: `oauth`, `oidc`, `email`, … */
  providerType?: string;
  basePath: string;
  pages: PagesConfig;
  /** Errors Auth.js logged while answering this request. */
  errors: unknown[];
}

export async function refineRedirect(
  response: Response,
  context: RedirectContext,
): Promise<Response> {
  const json = response.status === 200 &&
    (response.headers.get("Content-Type") ?? "").includes("application/json") &&
    (context.action === "signin" || context.action === "callback" ||
      context.action === "signout");
  let target: string | null;
  let body: Record<string, unknown> | undefined;
  if (response.status >= 300 && response.status < 400) {
    target = response.headers.get("Location");
  } else if (json) {
    body = await response.clone().json().catch(() => undefined);
    target = typeof body?.url === "string" ? body.url : null;
  } else {
    return response;
  }
  if (!target) return response;

  let refined = explainOAuthFailure(target, context) ?? target;
  refined = toFrontendPage(new URL(refined, context.url), context)?.href ?? refined;
  if (refined === target) return response;

  const headers = new Headers(response.headers);
  if (body) {
    headers.delete("Content-Length");
    return new Response(JSON.stringify({ ...body, url: refined }), {
      status: response.status,
      headers,
    });
  }
  headers.set("Location", refined);
  await response.body?.cancel();
  return new Response(null, { status: response.status, headers });
}

/** `pages` as Auth.js can use them: `signIn` / `error` only when they are paths. */
export function pagesForAuthJs(pages: PagesConfig): PagesConfig {
  const { signIn, error, ...rest } = pages;
  return {
    ...rest,
    ...(signIn?.startsWith("/") ? { signIn } : {}),
    ...(error?.startsWith("/") ? { error } : {}),
  };
}

/**
 * The frontend's page for a GET of this function's own `/signin` or `/error` page, when
 * `AUTH_PAGES_SIGNIN` / `AUTH_PAGES_ERROR` is a URL; undefined otherwise.
 */
export function frontendPage(
  url: URL,
  context: Pick<RedirectContext, "basePath" | "pages">,
): URL | undefined {
  return toFrontendPage(url, context);
}

function toFrontendPage(
  url: URL,
  { basePath, pages }: Pick<RedirectContext, "basePath" | "pages">,
): URL | undefined {
  const page = url.pathname === `${basePath}/signin`
    ? pages.signIn
    : url.pathname === `${basePath}/error`
    ? pages.error
    : undefined;
  if (!page || page.startsWith("/")) return undefined;
  const target = new URL(page);
  url.searchParams.forEach((value, key) => target.searchParams.set(key, value));
  return target;
}

function explainOAuthFailure(target: string, context: RedirectContext): string | undefined {
  if (context.providerType !== "oauth" && context.providerType !== "oidc") return undefined;
  if (context.action !== "signin" && context.action !== "callback") return undefined;
  const url = new URL(target, context.url);
  const error = url.searchParams.get("error");
  if (error === "OAuthCallbackError" && !url.searchParams.has("code")) {
    // The provider answered with an error of its own, e.g. the user pressed "Deny".
    const providerError = context.url.searchParams.get("error");
    if (!providerError || !/^[a-z_]{1,64}$/.test(providerError)) return undefined;
    url.searchParams.set("code", providerError);
    return url.href;
  }
  if (error !== "Configuration") return undefined;
  const code = classify(context.errors);
  if (!code) return undefined;
  const signIn = new URL(context.pages.signIn ?? `${context.basePath}/signin`, context.url);
  signIn.searchParams.set(
    "error",
    context.action === "signin" ? "OAuthSignin" : "OAuthCallbackError",
  );
  signIn.searchParams.set("code", code);
  return signIn.href;
}

/** A stable code for the first OAuth failure among `errors` we can name. */
function classify(errors: unknown[]): string | undefined {
  for (const error of errors) {
    const chain = causes(error);
    // The OAuth 1.0a bridge's errors name their own code (oauth1/client.ts).
    const own = chain.find((e) => (e as Error).name === "OAuth1Error") as { code?: unknown };
    if (typeof own?.code === "string") return own.code;
    const message = (e: unknown) => String((e as Error).message ?? "");
    // Auth.js's own InvalidCheck, or oauth4webapi's "unexpected state" wrapped by Auth.js.
    if (chain.some((e) => /\bstate\b/i.test(message(e)))) return "oauth_state_invalid";
    if (chain.some((e) => (e as { type?: unknown }).type === "InvalidCheck")) {
      return "oauth_check_failed";
    }
    if (
      chain.some((e) =>
        isConnectionError(e) ||
        /fetch failed|error sending request|connection refused|ECONNREFUSED/i.test(message(e))
      )
    ) return "provider_unreachable";
    if (chain.some((e) => /OAuth|CallbackRoute/.test((e as { type?: string }).type ?? ""))) {
      return "provider_error";
    }
  }
  return undefined;
}

/** An error and what caused it; Auth.js wraps causes as `{ err, ...details }`. */
export function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e && typeof e === "object" && chain.length < 6;) {
    chain.push(e);
    const cause = (e as { cause?: unknown }).cause;
    e = cause && typeof cause === "object" && "err" in cause
      ? (cause as { err: unknown }).err
      : cause;
  }
  return chain;
}
