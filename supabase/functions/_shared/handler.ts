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
import { createAuthOptions } from "./auth_options.ts";
import type { AuthRuntime } from "./auth_runtime.ts";
import { readBody } from "./body.ts";
import { type AppConfig, type Env, loadConfig } from "./config.ts";
import { confirmPage } from "./confirm_page.ts";
import { corsPreflight } from "./cors.ts";
import { createCsrfPair, csrfCookieName, readCookie, verifyCsrf } from "./csrf.ts";
import { HttpError } from "./errors.ts";
import { actionSegments, toPublicUrl } from "./public_url.ts";
import { frontendPage, refineRedirect } from "./redirects.ts";
import { withResponseHeaders } from "./respond.ts";
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
    runtime ??= import("./auth_runtime.ts").then((m) =>
      m.createAuthRuntime(config, { store, log })
    );
  if (!fastSession) loadRuntime().catch((error) => log(`Cannot load Auth.js: ${error}`));
  const sessionCookie = sessionCookieName(config.publicUrl);

  async function handle(req: Request): Promise<Response> {
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
    const bearer = spec.bearer ? readBearerToken(req) : undefined;
    if (fastSession && req.method === "GET" && !providerId) {
      const answer = await fastSession(req);
      if (answer) return bearer === undefined ? answer : await forBearer(answer);
    }
    const { auth, providerTypes } = await loadRuntime();
    if (bearer !== undefined) return await handleBearer(req, url, bearer, auth);
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
    if (req.method === "POST") {
      const parsed = await readBody(req);
      body = parsed.text;
      const credentials = providerId !== undefined &&
        providerTypes.get(providerId) === "credentials";
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

    // What Auth.js logs while answering is kept to explain its "Configuration" redirects.
    const errors: unknown[] = [];
    const response = await auth(
      new Request(url, { method: req.method, headers: req.headers, body }),
      (error) => errors.push(error),
    );
    return refineRedirect(await normalize(response), {
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
    return await forBearer(
      await normalize(await auth(new Request(url, { method: req.method, headers, body }))),
    );
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

  return withResponseHeaders(handle, { allowedOrigins: config.allowedOrigins, log });
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
