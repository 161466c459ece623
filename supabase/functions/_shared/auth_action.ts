/**
 * What a function does with a request that goes to Auth.js: token mode, CSRF and body checks,
 * rate limits, passkey ceremonies, the scanner-safe magic-link page, then `Auth()` with a store
 * that notices when the database is gone and events that write the audit log — and Auth.js's
 * answer refined (its error pages and redirects in our shape). Loaded with Auth.js itself: at
 * start-up in the background for most functions, on the first request that needs it for
 * `session`, whose usual request (`GET /session`) is answered without it.
 *
 * @example
 * ```ts
 * const action = await createAuthAction("signin", FUNCTION_GROUPS.signin, { config, store, log });
 * const response = await action(req, publicUrl, "email");
 * ```
 */
import type { AuthConfig } from "@auth/core";
import { aalOf, signInMethod } from "./assurance.ts";
import { type Audit, createAudit } from "./audit.ts";
import { loadAuthRuntime } from "./auth_runtime.ts";
import { readBody } from "./body.ts";
import type { AppConfig } from "./config.ts";
import { confirmPage } from "./confirm_page.ts";
import { createCsrfPair, csrfCookieName, readCookie, verifyCsrf } from "./csrf.ts";
import { describe, HttpError, isConnectionError, UnavailableError } from "./errors.ts";
import { normalizeEmail } from "./email_address.ts";
import type { FunctionGroup, GroupSpec } from "./handler.ts";
import type { PasskeyGate } from "./passkeys.ts";
import { isHttpUrl } from "./public_url.ts";
import { clientIp, limit, RateLimitedError } from "./rate_limit.ts";
import { frontendPage, refineRedirect } from "./redirects.ts";
import {
  forBearer,
  readBearerToken,
  sessionCookieName,
  sessionFromSetCookie,
} from "./session_token.ts";
import type { Store } from "./store/mod.ts";

/** Answers a request whose URL (public) and provider id the function has already routed. */
export type AuthAction = (
  req: Request,
  url: URL,
  providerId: string | undefined,
) => Promise<Response>;

export interface AuthActionDeps {
  config: AppConfig;
  store: Store;
  log: (line: string) => void;
}

/** Loads Auth.js with the full configuration, then returns the function's action handler. */
export async function createAuthAction(
  group: FunctionGroup,
  spec: GroupSpec,
  { config, store, log }: AuthActionDeps,
): Promise<AuthAction> {
  const { auth, providerTypes } = await loadAuthRuntime(config, { store, log });
  // Passkey checks load with the first passkey request (they bring the session guard).
  let passkeyGate: Promise<PasskeyGate> | undefined;
  const loadPasskeyGate = () =>
    passkeyGate ??= import("./passkeys.ts").then((m) => m.createPasskeyGate(config, store));
  const sessionCookie = sessionCookieName(config.publicUrl);
  const session = group === "session";
  const audit = createAudit(store, log);
  const rules = config.rateLimits;

  async function handle(
    req: Request,
    url: URL,
    providerId: string | undefined,
    ctx: RequestContext,
  ): Promise<Response> {
    const bearer = spec.bearer ? readBearerToken(req) : undefined;
    if (bearer !== undefined) return await handleBearer(req, url, bearer, ctx);
    if (providerId && !providerTypes.has(providerId)) {
      throw new HttpError(
        404,
        "unknown_provider",
        `Cannot find provider "${providerId}"`,
      );
    }

    if (
      group === "callback" && req.method === "GET" &&
      providerTypes.get(providerId!) === "email" && url.searchParams.has("token")
    ) {
      // Scanner-safe magic links: the GET only asks for a click; the POST signs in.
      return confirmPage(req, url, { title: "Sign in", button: "Sign in" });
    }

    const page = req.method === "GET" && !providerId && frontendPage(url, config);
    if (page) {
      // As Auth.js answers its own redirects: JSON for fetch clients that ask for it.
      return req.headers.has("X-Auth-Return-Redirect")
        ? Response.json({ url: page.href })
        : Response.redirect(page, 302);
    }

    let body: string | undefined;
    let fields: Record<string, unknown> | undefined;
    const providerType = providerId ? providerTypes.get(providerId) : undefined;
    if (req.method === "POST") {
      const parsed = await readBody(req);
      body = parsed.text;
      fields = parsed.fields;
      // Credentials and passkeys sign in from a POST body: Auth.js's CSRF token too.
      const credentials = providerType === "credentials" || providerType === "webauthn";
      if (spec.csrfOnPost || credentials) {
        await verifyCsrf({
          cookieValue: readCookie(
            req.headers.get("Cookie"),
            csrfCookieName(url),
          ),
          bodyToken: parsed.fields.csrfToken,
          secret: config.secrets,
        });
      }
    }
    await enforceLimits(group, providerType, fields, ctx);
    const passkeys = providerType === "webauthn" ? await loadPasskeyGate() : undefined;
    await passkeys?.prepare(group, req, url, fields);
    if (group === "callback" && providerType === "email" && !url.searchParams.get("token")) {
      // Auth.js calls this a configuration error (a 500 page); it is a mangled link.
      throw new HttpError(400, "invalid_link", "Cannot sign in: the link has no token");
    }

    // What Auth.js logs while answering is kept to explain its "Configuration" redirects.
    // Per request: events that know who is asking, and a store that notices when the
    // database is gone (Auth.js would otherwise answer a null session or an error page).
    const errors: unknown[] = [];
    const response = await auth(
      new Request(url, {
        method: req.method,
        headers: sanitizeCookies(req.headers, url.origin),
        body,
      }),
      {
        onError: (error) => errors.push(error),
        adapter: watchStore(
          passkeys ? passkeys.adapter(store) : store,
          ctx,
          group === "callback" && providerType === "email",
        ),
        events: auditEvents(audit, ctx),
      },
    );
    if (ctx.databaseDown) {
      await response.body?.cancel();
      throw new UnavailableError("Cannot reach the database: try again shortly");
    }
    const failure = group === "signin" || group === "callback"
      ? await authErrorOf(response, config.basePath)
      : undefined;
    if (failure) {
      await audit("signin_failed", {
        ...who(ctx),
        provider: providerId ?? null,
        detail: { error: failure, action: group },
      });
    }
    if (config.sessionStrategy === "database" && (group === "callback" || group === "signin")) {
      // Session management: remember which device a new database session belongs to.
      const created = sessionFromSetCookie(response.headers, sessionCookie);
      if (created) {
        await store.describeSession(created, { userAgent: ctx.userAgent, ip: ctx.ip })
          .catch((error) => log(`Cannot describe session: ${describe(error)}`));
        if (config.mfa) {
          // How it was signed in (amr); until written, the session counts as aal1.
          const amr = [signInMethod({ type: providerType, provider: providerId }, Date.now())];
          await store.mfa.setSessionAssurance(created, { aal: aalOf(amr), amr })
            .catch((error) => log(`Cannot record session assurance: ${describe(error)}`));
        }
      }
    }
    const answer = passkeys && group === "callback"
      ? await passkeys.settle(response, { req, failure, errors, fields })
      : response;
    if (group === "error" && response.status === 500) {
      // The page describes an earlier failure (`?error=Configuration`); this request did
      // not fail, and anyone can ask for it.
      return new Response(response.body, { status: 200, headers: response.headers });
    }
    return refineRedirect(await normalize(answer), {
      url,
      action: group,
      providerType: providerId ? providerTypes.get(providerId) : undefined,
      basePath: config.basePath,
      pages: config.pages,
      errors,
    });
  }

  /**
   * Token mode: the bearer token is presented to Auth.js as the session cookie, with a CSRF
   * pair of our own (a header cannot be sent by another site, so there is nothing to forge;
   * any ambient cookie is dropped).
   */
  async function handleBearer(
    req: Request,
    url: URL,
    bearer: string,
    ctx: RequestContext,
  ): Promise<Response> {
    const csrf = await createCsrfPair(config.secrets);
    const headers = new Headers(req.headers);
    headers.delete("Authorization");
    headers.set(
      "Cookie",
      `${sessionCookie}=${bearer}; ${csrfCookieName(url)}=${encodeURIComponent(csrf.cookie)}`,
    );
    let body: string | undefined;
    if (req.method === "POST") {
      const parsed = await readBody(req);
      if (parsed.contentType === "application/json") {
        body = JSON.stringify({ ...parsed.fields, csrfToken: csrf.token });
      } else {
        const form = new URLSearchParams(parsed.text);
        form.set("csrfToken", csrf.token);
        body = form.toString();
        headers.set("Content-Type", "application/x-www-form-urlencoded");
      }
      headers.delete("Content-Length");
    }
    const response = await auth(new Request(url, { method: req.method, headers, body }), {
      adapter: watchStore(store, ctx, false),
      events: auditEvents(audit, ctx),
    });
    if (ctx.databaseDown) {
      await response.body?.cancel();
      throw new UnavailableError("Cannot reach the database: try again shortly");
    }
    return await forBearer(await normalize(response), { session, cookieName: sessionCookie });
  }

  /** The rate limits that apply, counted before Auth.js does any work. `fields`: a POST's. */
  async function enforceLimits(
    group: FunctionGroup,
    providerType: string | undefined,
    fields: Record<string, unknown> | undefined,
    ctx: RequestContext,
  ) {
    if (group === "signin" && providerType && fields) {
      await limit(store, { bucket: "signin_ip", key: ctx.ip, rule: rules.signin_ip });
      if (providerType === "email") {
        // Checked here so a malformed address is a 400, not a redirect to an error page.
        // The address first: repeats to one address must not use up the IP's budget.
        const email = normalizeEmail(fields.email);
        await limit(store, { bucket: "email_address", key: email, rule: rules.email_address });
        await limit(store, { bucket: "email_ip", key: ctx.ip, rule: rules.email_ip });
      }
    }
    if (group === "callback" && providerType === "credentials" && fields) {
      const identifier = fields.email ?? fields.username;
      await limit(store, { bucket: "password_ip", key: ctx.ip, rule: rules.password_ip });
      await limit(store, {
        bucket: "password_identifier",
        key: typeof identifier === "string" ? identifier.trim().toLowerCase() : undefined,
        rule: rules.password_identifier,
      });
    } else if (group === "callback") {
      await limit(store, { bucket: "callback_ip", key: ctx.ip, rule: rules.callback_ip });
    }
  }

  return async (req, url, providerId) => {
    const ctx: RequestContext = {
      ip: clientIp(req, config.clientIpHeader),
      userAgent: req.headers.get("User-Agent")?.slice(0, 512),
      databaseDown: false,
    };
    try {
      return await handle(req, url, providerId, ctx);
    } catch (error) {
      if (error instanceof RateLimitedError && error.first) {
        await audit("rate_limited", {
          ...who(ctx),
          detail: { bucket: error.bucket, action: group },
        });
      }
      throw error;
    }
  };
}

/** More chunks than a session ever needs (Auth.js splits at ~4 KB; a JWE is 1 to 3). */
const MAX_SESSION_CHUNKS = 16;

/**
 * Cleans the cookies Auth.js will read: drops forged session-cookie chunks beyond
 * `MAX_SESSION_CHUNKS` (or with a non-canonical index), since Auth.js answers each chunk it
 * sees with a clearing `Set-Cookie` and hundreds of junk chunks would buy a response too
 * large for clients and proxies; and drops a callback-url cookie that is not an http(s) URL,
 * which Auth.js would answer with a 500 "configuration" error on every action.
 */
function sanitizeCookies(headers: Headers, origin: string): Headers {
  const cookie = headers.get("Cookie");
  if (!cookie || !/session-token\.|callback-url/.test(cookie)) return headers;
  const kept = cookie.split(";").filter((part) => {
    const eq = part.indexOf("=");
    const name = part.slice(0, eq).trim();
    if (name.endsWith("authjs.callback-url")) {
      const raw = part.slice(eq + 1).trim();
      let value = raw;
      try {
        value = decodeURIComponent(raw);
      } catch {
        // Auth.js's cookie parser keeps undecodable values as they are
      }
      return eq !== -1 && isHttpUrl(value, origin);
    }
    const chunk = name.match(/session-token\.(.*)$/);
    return !chunk || (/^(0|[1-9]\d?)$/.test(chunk[1]!) && Number(chunk[1]) < MAX_SESSION_CHUNKS);
  });
  const bounded = new Headers(headers);
  bounded.set("Cookie", kept.join(";"));
  return bounded;
}

/** What one request carries through the handler. */
interface RequestContext {
  ip: string | undefined;
  userAgent: string | undefined;
  /** Set when a store call failed because the database could not be reached. */
  databaseDown: boolean;
  /** Set when a concurrent sign-in had created the user first. */
  userExisted?: boolean;
}

function who(ctx: RequestContext) {
  return { ip: ctx.ip ?? null, userAgent: ctx.userAgent ?? null };
}

/**
 * The store, noting in `ctx` when a call fails for want of a database. On an email callback
 * it also settles a race: two links for one new address followed at once both find no user
 * and both create one; the loser's unique violation becomes the winner's user, which is what
 * it would have found a moment later (the address is verified by the link either way).
 */
function watchStore(store: Store, ctx: RequestContext, emailCallback: boolean): Store {
  const watched = {} as Record<string, unknown>;
  for (const [name, value] of Object.entries(store)) {
    watched[name] = typeof value !== "function" ? value : async (...args: unknown[]) => {
      try {
        return await value.apply(store, args);
      } catch (error) {
        if (isConnectionError(error)) ctx.databaseDown = true;
        const email = (args[0] as { email?: unknown } | undefined)?.email;
        if (
          emailCallback && name === "createUser" && typeof email === "string" &&
          (error as { code?: unknown }).code === "23505"
        ) {
          const existing = await store.getUserByEmail(email);
          if (existing) {
            ctx.userExisted = true;
            return existing;
          }
        }
        throw error;
      }
    };
  }
  return watched as unknown as Store;
}

/** Auth.js events, written to the audit log with the request's IP and user agent. */
function auditEvents(audit: Audit, ctx: RequestContext): AuthConfig["events"] {
  return {
    async signIn({ user, account, isNewUser }) {
      await audit("signin", {
        ...who(ctx),
        userId: user.id ?? null,
        provider: account?.provider ?? null,
        detail: { type: account?.type ?? null, newUser: Boolean(isNewUser && !ctx.userExisted) },
      });
    },
    async signOut(message) {
      const userId = "session" in message
        ? message.session?.userId
        : (message.token?.sub as string | undefined);
      await audit("signout", { ...who(ctx), userId: userId ?? null });
    },
    async createUser({ user }) {
      if (ctx.userExisted) return;
      await audit("user_created", { ...who(ctx), userId: user.id ?? null });
    },
    async linkAccount({ user, account }) {
      await audit("account_linked", {
        ...who(ctx),
        userId: user.id ?? null,
        provider: account.provider,
        detail: { type: account.type },
      });
    },
  };
}

/**
 * The error Auth.js redirects to after a failed sign-in (`/error?error=Verification`,
 * `/signin?error=CredentialsSignin`), from `Location` or the JSON `{ url }` answer.
 */
async function authErrorOf(
  response: Response,
  basePath: string,
): Promise<string | undefined> {
  let location = response.headers.get("Location");
  if (
    !location && response.status === 200 &&
    response.headers.get("Content-Type")?.includes("json")
  ) {
    try {
      location = (await response.clone().json())?.url ?? null;
    } catch {
      return undefined;
    }
  }
  if (!location) return undefined;
  try {
    const url = new URL(location);
    const error = url.searchParams.get("error");
    const page = url.pathname.slice(basePath.length);
    return error && (page === "/error" || page === "/signin") ? error.slice(0, 64) : undefined;
  } catch {
    return undefined;
  }
}

/** Auth.js's own error answers, in our JSON error shape. */
export async function normalize(response: Response): Promise<Response> {
  if (response.status === 500) {
    // Auth.js answers a configuration problem with a generic message; details are in the log.
    await response.body?.cancel();
    throw new HttpError(
      500,
      "server_misconfigured",
      "The server's Auth.js configuration is invalid",
    );
  }
  if (
    response.status === 400 &&
    response.headers.get("Content-Type")?.includes("json")
  ) {
    const text = await response.text();
    throw new HttpError(
      400,
      "bad_request",
      `Cannot handle request: ${text.slice(0, 200)}`,
    );
  }
  return response;
}
