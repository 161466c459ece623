/**
 * The request handler behind every Auth.js function: one per route group, named after the
 * Auth.js action it serves.
 *
 * @example
 * ```ts
 * // supabase/functions/session/index.ts
 * Deno.serve(createHandler("session"));
 * ```
 */
import type { AuthConfig } from "@auth/core";
import { aalOf, signInMethod } from "./assurance.ts";
import { type Audit, createAudit } from "./audit.ts";
import { allowedRedirect, createAuthOptions } from "./auth_options.ts";
import type { AuthRuntime } from "./auth_runtime.ts";
import { readBody } from "./body.ts";
import { type AppConfig, type Env, loadConfig } from "./config.ts";
import { confirmPage } from "./confirm_page.ts";
import { corsPreflight } from "./cors.ts";
import { createCsrfPair, csrfCookieName, readCookie, verifyCsrf } from "./csrf.ts";
import { describe, HttpError, isConnectionError, UnavailableError } from "./errors.ts";
import { normalizeEmail } from "./email_address.ts";
import { actionSegments, toPublicUrl } from "./public_url.ts";
import { clientIp, limit, RateLimitedError } from "./rate_limit.ts";
import { frontendPage, refineRedirect } from "./redirects.ts";
import { withResponseHeaders } from "./respond.ts";
import type { PasskeyGate } from "./passkeys.ts";
import { createFastSession } from "./session_fast.ts";
import { readBearerToken, sessionCookieName } from "./session_token.ts";
import { createStore, type Store } from "./store/mod.ts";

interface GroupSpec {
  methods: readonly ("GET" | "POST")[];
  /** Whether the path carries a provider id: `/callback/<provider>`. */
  provider: "none" | "optional" | "required";
  /** POSTs that Auth.js protects with its CSRF token. */
  csrfOnPost: boolean;
  /** Accepts `Authorization: Bearer <session token>` in place of the session cookie. */
  bearer?: boolean;
}

/** The Auth.js actions, each served by the function of the same name. */
export const FUNCTION_GROUPS = {
  signin: { methods: ["GET", "POST"], provider: "optional", csrfOnPost: true },
  callback: {
    methods: ["GET", "POST"],
    provider: "required",
    csrfOnPost: false,
  },
  session: {
    methods: ["GET", "POST"],
    provider: "none",
    csrfOnPost: true,
    bearer: true,
  },
  csrf: { methods: ["GET"], provider: "none", csrfOnPost: false },
  providers: { methods: ["GET"], provider: "none", csrfOnPost: false },
  signout: {
    methods: ["GET", "POST"],
    provider: "none",
    csrfOnPost: true,
    bearer: true,
  },
  "verify-request": { methods: ["GET"], provider: "none", csrfOnPost: false },
  error: { methods: ["GET"], provider: "none", csrfOnPost: false },
  "webauthn-options": {
    methods: ["GET"],
    provider: "required",
    csrfOnPost: false,
  },
} as const satisfies Record<string, GroupSpec>;

export type FunctionGroup = keyof typeof FUNCTION_GROUPS;

export interface HandlerDeps {
  /** Validated settings; read from `env` (default: the process environment) when omitted. */
  config?: AppConfig;
  env?: Env;
  store?: Store;
  log?: (line: string) => void;
}

/**
 * Creates the handler for one function. Configuration is validated here, once: a function
 * with a missing or weak secret refuses to start with a message naming the variable.
 */
export function createHandler(
  group: FunctionGroup,
  deps: HandlerDeps = {},
): (req: Request) => Promise<Response> {
  const spec: GroupSpec = FUNCTION_GROUPS[group];
  const config = deps.config ?? loadConfig(deps.env ?? Deno.env.toObject());
  const store = deps.store ?? createStore(config);
  const log = deps.log ?? ((line: string) => console.error(line));
  const fastSession = group === "session" && config.fastSession
    ? createFastSession({ config, options: createAuthOptions(config), store, log })
    : undefined;
  // Auth.js and the providers take a while to load: start now in the background, except for
  // the session function, whose usual request (GET on the fast path) never needs them.
  let runtime: Promise<AuthRuntime> | undefined;
  const loadRuntime = () =>
    runtime ??= import("./auth_runtime.ts").then((m) => m.loadAuthRuntime(config, { store, log }));
  // Passkey checks load with the first passkey request (they bring the session guard).
  let passkeyGate: Promise<PasskeyGate> | undefined;
  const loadPasskeyGate = () =>
    passkeyGate ??= import("./passkeys.ts").then((m) => m.createPasskeyGate(config, store));
  if (!fastSession) loadRuntime().catch((error) => log(`Cannot load Auth.js: ${error}`));
  const sessionCookie = sessionCookieName(config.publicUrl);
  const audit = createAudit(store, log);
  survivePoolRejections(log);

  // The request every page view makes — `GET /session`, no query string — arrives with the
  // same URL string over and over: once one has been routed below, its string is remembered
  // (at most 32) and later requests skip the URL parsing and routing, which would give the
  // same answer for the same string.
  const sessionUrls = new Set<string>();

  async function handle(req: Request, ctx: RequestContext): Promise<Response> {
    if (fastSession && req.method === "GET" && sessionUrls.has(req.url)) {
      const bearer = spec.bearer ? readBearerToken(req) : undefined;
      const answer = await fastSession(req);
      if (answer) return bearer === undefined ? answer : await forBearer(answer);
    }
    const url = toPublicUrl(new URL(req.url), config.publicUrl);
    const [action, providerId, ...extra] = actionSegments(url, config.basePath);
    if (
      action !== group || extra.length > 0 ||
      (providerId && spec.provider === "none")
    ) {
      throw new HttpError(
        404,
        "unknown_action",
        `Cannot handle path "${url.pathname}"`,
      );
    }
    if (req.method === "OPTIONS") {
      return corsPreflight(req, config.allowedOrigins);
    }
    if (!(spec.methods as readonly string[]).includes(req.method)) {
      throw new HttpError(
        405,
        "method_not_allowed",
        `Cannot ${req.method} /${group}: use ${spec.methods.join(" or ")}`,
        { headers: { Allow: [...spec.methods, "OPTIONS"].join(", ") } },
      );
    }
    if (spec.provider === "required" && !providerId) {
      throw new HttpError(
        404,
        "unknown_provider",
        `Missing provider: use /${group}/<provider>`,
      );
    }
    const callbackUrl = url.searchParams.get("callbackUrl");
    if (callbackUrl) {
      if (!isHttpUrl(callbackUrl, url.origin)) {
        // Auth.js answers this with a 500 "configuration" error.
        throw new HttpError(
          400,
          "invalid_callback_url",
          "Cannot use callbackUrl: it must be an http(s) URL or a path",
        );
      }
      // Auth.js echoes the query's callbackUrl into its pages before any check: only ever
      // let it see an allowed one.
      url.searchParams.set(
        "callbackUrl",
        allowedRedirect(callbackUrl, url.origin, config.allowedOrigins),
      );
    }
    const bearer = spec.bearer ? readBearerToken(req) : undefined;
    if (fastSession && req.method === "GET" && !providerId) {
      if (!url.search && sessionUrls.size < 32) sessionUrls.add(req.url);
      const answer = await fastSession(req);
      if (answer) return bearer === undefined ? answer : await forBearer(answer);
    }
    const { auth, providerTypes } = await loadRuntime();
    if (bearer !== undefined) return await handleBearer(req, url, bearer, auth, ctx);
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
    auth: AuthRuntime["auth"],
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
    return await forBearer(await normalize(response));
  }

  /**
   * No cookie reaches a bearer client: a renewed session token comes back in the session
   * JSON as `sessionToken`, and a cleared one simply is not returned.
   */
  async function forBearer(response: Response): Promise<Response> {
    const renewed = sessionFromSetCookie(response.headers, sessionCookie);
    const out = new Headers(response.headers);
    out.delete("Set-Cookie");
    if (group === "session" && response.status === 200) {
      const session = await response.json();
      if (session && renewed) session.sessionToken = renewed;
      out.delete("Content-Length");
      return Response.json(session, { status: 200, headers: out });
    }
    return new Response(response.body, { status: response.status, headers: out });
  }

  const rules = config.rateLimits;

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

  return withResponseHeaders(async (req) => {
    const ctx: RequestContext = {
      ip: clientIp(req, config.clientIpHeader),
      userAgent: req.headers.get("User-Agent")?.slice(0, 512),
      databaseDown: false,
    };
    try {
      return await handle(req, ctx);
    } catch (error) {
      if (error instanceof RateLimitedError && error.first) {
        await audit("rate_limited", {
          ...who(ctx),
          detail: { bucket: error.bucket, action: group },
        });
      }
      throw error;
    }
  }, { allowedOrigins: config.allowedOrigins, log });
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

/** What Auth.js accepts as a callback URL: http(s), absolute or a path on `origin`. */
function isHttpUrl(value: string, origin: string): boolean {
  try {
    const url = new URL(value, value.startsWith("/") ? origin : undefined);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

let survivingPoolRejections = false;

/**
 * When the database drops connections, `npm:postgres` (under Deno's Node compatibility) can
 * reject a connect promise that nobody holds; unhandled, that would end the whole isolate
 * and every request in it. Connection errors are logged instead; the request that needed the
 * database has already answered 503. Anything else still ends the isolate.
 */
function survivePoolRejections(log: (line: string) => void) {
  if (survivingPoolRejections) return;
  survivingPoolRejections = true;
  globalThis.addEventListener("unhandledrejection", (event) => {
    if (!isConnectionError(event.reason)) return;
    event.preventDefault();
    log(`Database connection lost: ${describe(event.reason)}`);
  });
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

/**
 * The session token a response sets, joined from its chunks (`name.0`, `name.1`, …);
 * undefined when it sets none or only clears it.
 */
export function sessionFromSetCookie(headers: Headers, name: string): string | undefined {
  const whole = new Map<string, string>();
  for (const line of headers.getSetCookie()) {
    const pair = line.split(";")[0]!;
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (/;\s*max-age=0\b/i.test(line) || value === "") continue;
    if (key === name || key.startsWith(`${name}.`)) whole.set(key, value);
  }
  if (whole.has(name)) return whole.get(name);
  const chunks: string[] = [];
  for (let i = 0; whole.has(`${name}.${i}`); i++) chunks.push(whole.get(`${name}.${i}`)!);
  return chunks.length ? chunks.join("") : undefined;
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
