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
import { Auth } from "@auth/core";
import type { AuthConfig } from "@auth/core";
import { createAuthConfig } from "./auth_config.ts";
import { readBody } from "./body.ts";
import { type AppConfig, type Env, loadConfig } from "./config.ts";
import { applyCors, corsPreflight } from "./cors.ts";
import { createCsrfPair, readCookie, verifyCsrf } from "./csrf.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { actionSegments, toPublicUrl } from "./public_url.ts";
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
  const authConfig = createAuthConfig(config, { store, log });
  const providerTypes = providerIndex(authConfig);
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
    if (providerId && !providerTypes.has(providerId)) {
      throw new HttpError(
        404,
        "unknown_provider",
        `Cannot find provider "${providerId}"`,
      );
    }

    const bearer = spec.bearer ? readBearerToken(req) : undefined;
    if (bearer !== undefined) {
      return await handleBearer(req, url, bearer);
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
          secret: authConfig.secret!,
        });
      }
    }

    const response = await Auth(
      new Request(url, { method: req.method, headers: req.headers, body }),
      authConfig,
    );
    return normalize(response);
  }

  /**
   * Token mode: the bearer token is presented to Auth.js as the session cookie, with a CSRF
   * pair of our own (a header cannot be sent by another site, so there is nothing to forge;
   * any ambient cookie is dropped). No cookie reaches the client: a renewed session token
   * comes back in the JSON body as `sessionToken`, and a cleared one simply is not returned.
   */
  async function handleBearer(req: Request, url: URL, bearer: string): Promise<Response> {
    const csrf = await createCsrfPair(authConfig.secret!);
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
    const response = await normalize(
      await Auth(new Request(url, { method: req.method, headers, body }), authConfig),
    );
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

  return serveWith(handle, config, log);
}

/**
 * Wraps a function's handler: errors become JSON answers, and every response gets the CORS
 * grant (allowed origins only) and the security headers.
 */
export function serveWith(
  handle: (req: Request) => Promise<Response>,
  config: AppConfig,
  log: (line: string) => void,
): (req: Request) => Promise<Response> {
  return async (req) => {
    let response: Response;
    try {
      response = await handle(req);
    } catch (error) {
      response = errorResponse(error, log);
    }
    // Redirect responses have immutable headers: copy before adding ours.
    const headers = new Headers(response.headers);
    applyCors(req, headers, config.allowedOrigins);
    setSecurityHeaders(headers);
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };
}

/**
 * Provider id → type, as Auth.js will resolve them: a provider's user options (such as
 * `id: "email"` given to Nodemailer) override its defaults.
 */
export function providerIndex(authConfig: AuthConfig): Map<string, string> {
  const index = new Map<string, string>();
  for (const entry of authConfig.providers) {
    const provider = (typeof entry === "function" ? entry() : entry) as {
      id: string;
      type: string;
      options?: { id?: string; type?: string };
    };
    index.set(
      provider.options?.id ?? provider.id,
      provider.options?.type ?? provider.type,
    );
  }
  return index;
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

/** Auth.js's CSRF cookie: `__Host-` prefixed on https. */
export function csrfCookieName(url: URL): string {
  return `${url.protocol === "https:" ? "__Host-" : ""}authjs.csrf-token`;
}

function setSecurityHeaders(headers: Headers) {
  if (!headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");
  headers.set("X-Content-Type-Options", "nosniff");
  // Magic-link and callback URLs carry tokens: never leak them as a Referer.
  headers.set("Referrer-Policy", "no-referrer");
}

export type { AuthConfig };
