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
import type { AuthAction } from "./auth_action.ts";
import { allowedRedirect, createAuthOptions } from "./auth_options.ts";
import { type AppConfig, type Env, loadConfig } from "./config.ts";
import { corsPreflight } from "./cors.ts";
import { describe, HttpError, isConnectionError } from "./errors.ts";
import { actionSegments, isHttpUrl, toPublicUrl } from "./public_url.ts";
import { withResponseHeaders } from "./respond.ts";
import { createFastSession } from "./session_fast.ts";
import { forBearer, readBearerToken, sessionCookieName } from "./session_token.ts";
import { createStore, type Store } from "./store/mod.ts";

export interface GroupSpec {
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
 * with a missing or weak secret refuses to start with a message naming the variable. The
 * `session` function leaves the sign-in settings (providers, email, pages, …) to the first
 * request that needs Auth.js (`loadConfig`'s `deferFeatures`): its usual request never does.
 */
export function createHandler(
  group: FunctionGroup,
  deps: HandlerDeps = {},
): (req: Request) => Promise<Response> {
  const spec: GroupSpec = FUNCTION_GROUPS[group];
  const config = deps.config ??
    loadConfig(deps.env ?? Deno.env.toObject(), { deferFeatures: group === "session" });
  const store = deps.store ?? createStore(config);
  const log = deps.log ?? ((line: string) => console.error(line));
  const fastSession = group === "session" && config.fastSession
    ? createFastSession({ config, options: createAuthOptions(config), store, log })
    : undefined;
  // Auth.js, the providers and what talks to them (auth_action.ts) take a while to load:
  // start now in the background, except for the session function, whose usual request (GET
  // on the fast path) never needs them.
  let action: Promise<AuthAction> | undefined;
  const loadAction = () =>
    action ??= import("./auth_action.ts").then((m) =>
      m.createAuthAction(group, spec, { config, store, log })
    );
  if (!fastSession) loadAction().catch((error) => log(`Cannot load Auth.js: ${error}`));
  const bearerAnswer = {
    session: group === "session",
    cookieName: sessionCookieName(config.publicUrl),
  };
  survivePoolRejections(log);

  // The request every page view makes — `GET /session`, no query string — arrives with the
  // same URL string over and over: once one has been routed below, its string is remembered
  // (at most 32) and later requests skip the URL parsing and routing, which would give the
  // same answer for the same string.
  const sessionUrls = new Set<string>();

  async function fast(req: Request): Promise<Response | undefined> {
    const bearer = spec.bearer ? readBearerToken(req) : undefined;
    const answer = await fastSession!(req);
    if (!answer) return undefined;
    return bearer === undefined ? answer : await forBearer(answer, bearerAnswer);
  }

  async function handle(req: Request): Promise<Response> {
    if (fastSession && req.method === "GET" && sessionUrls.has(req.url)) {
      const answer = await fast(req);
      if (answer) return answer;
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
    // No query, no callbackUrl: the first `searchParams` of an isolate costs ~0.2 ms.
    const callbackUrl = url.search ? url.searchParams.get("callbackUrl") : null;
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
    if (fastSession && req.method === "GET" && !providerId) {
      if (!url.search && sessionUrls.size < 32) sessionUrls.add(req.url);
      const answer = await fast(req);
      if (answer) return answer;
    }
    return await (await loadAction())(req, url, providerId);
  }

  return withResponseHeaders(handle, { allowedOrigins: config.allowedOrigins, log });
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
