/**
 * The local stack: what `supabase start` + `supabase functions serve` would run, without
 * Docker. The database (embedded PGlite, or `DATABASE_URL`), migrations, a mail catcher, a
 * development OpenID provider (Auth.js provider id `oidc`, "Dev OpenID"), and a gateway
 * serving every function at `/functions/v1/<name>`. `npm start` and the HTTP tests both
 * start it through this module.
 *
 * @example
 * ```ts
 * const stack = await startLocalStack({ gatewayPort: 0 });
 * await fetch(`${stack.functionsUrl}/providers`);
 * await stack.stop();
 * ```
 */
import { type AppConfig, type Env, loadConfig } from "../supabase/functions/_shared/config.ts";
import { FUNCTION_FACTORIES } from "../supabase/functions/_shared/functions.ts";
import { createStore } from "../supabase/functions/_shared/store/mod.ts";
import { generateSigningKey } from "../supabase/functions/_shared/access_token.ts";
import { type Database, openDatabase } from "./database.ts";
import {
  createGateway,
  type FunctionHandler,
  listFunctions,
  loadFunctionEntry,
} from "./gateway.ts";
import { type Frontend, startFrontend } from "./frontend.ts";
import { type MailCatcher, startMailCatcher } from "./mail_catcher.ts";
import { type OidcProvider, startOidcProvider } from "./oidc_provider.ts";
import { startTcpProxy, type TcpProxy } from "./tcp_proxy.ts";

export const FUNCTIONS_DIR = new URL("../supabase/functions/", import.meta.url);

export interface LocalStackOptions {
  /** Use this PostgreSQL server instead of the embedded database. */
  databaseUrl?: string;
  /** With `databaseUrl`: a fresh database of its own, dropped on stop (tests). */
  freshDatabase?: boolean;
  /** Embedded database folder; in memory when omitted. */
  dataDir?: string;
  dbPort?: number;
  gatewayPort?: number;
  smtpPort?: number;
  mailPort?: number;
  /**
   * The development OpenID provider, configured as the Auth.js provider `oidc` through
   * `AUTH_OIDC_ISSUER` / `_ID` / `_SECRET` / `_NAME` (which `env` may override). On by
   * default; `false` leaves it out.
   */
  oidc?: boolean;
  oidcPort?: number;

  /** Also serve the demo frontend (`examples/web`) on this port (0: any free one). */
  frontendPort?: number;
  /**
   * Serve the gateway and the frontend over https under these host names (which must
   * resolve to 127.0.0.1, e.g. with Chromium's `--host-resolver-rules`).
   */
  https?: { cert: string; key: string; functionsHost: string; frontendHost: string };
  /**
   * Over http: the host name in the functions' and the frontend's URLs (they still listen on
   * 127.0.0.1). `localhost` for passkeys: WebAuthn refuses IP addresses as relying parties.
   */
  hostname?: string;
  /** Settings for the functions, on top of those the stack provides. */
  env?: Env;
  /**
   * "entrypoints" loads each `supabase/functions/<name>/index.ts` as deployed, reading the
   * process environment (npm start). "handlers" builds each handler from `env` directly, so
   * several stacks with different settings can live in one process (tests).
   */
  load?: "entrypoints" | "handlers";
  quiet?: boolean;
  /** Where the functions' log lines go ("handlers" mode); stderr when omitted. */
  log?: (line: string) => void;
  /**
   * Put a TCP proxy between the functions and the database, so a test can cut the
   * database away and bring it back (`stack.databaseProxy`) without stopping the server.
   */
  databaseProxy?: boolean;
}

export interface LocalStack {
  /** `http://127.0.0.1:<port>/functions/v1` */
  functionsUrl: string;
  databaseUrl: string;
  database: Database;
  mail: MailCatcher;
  /** The development OpenID provider (`oidc.issuer`), unless started with `oidc: false`. */
  oidc?: OidcProvider;
  /** The demo frontend, when `frontendPort` was given. */
  frontend?: Frontend;
  config: AppConfig;
  functions: string[];
  /** With `databaseProxy`: the proxy the functions reach the database through. */
  databaseProxy?: TcpProxy;
  stop(): Promise<void>;
}

export async function startLocalStack(
  options: LocalStackOptions = {},
): Promise<LocalStack> {
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.error(`Cannot stop cleanly: ${(error as Error).message}`);
      }
    }
    cleanups.length = 0;
  };
  try {
    const database = await openDatabase({
      serverUrl: options.databaseUrl,
      fresh: options.freshDatabase,
      dataDir: options.dataDir,
      port: options.dbPort,
      quiet: options.quiet,
    });
    cleanups.push(() => database.close());

    const mail = await startMailCatcher({
      smtpPort: options.smtpPort,
      httpPort: options.mailPort,
    });
    cleanups.push(() => mail.stop());

    // The gateway must listen before the public URL is known when its port is 0.
    let handlerFor: (name: string) => FunctionHandler | undefined = () => undefined;
    const tls = options.https ? { cert: options.https.cert, key: options.https.key } : {};
    const gateway = Deno.serve(
      {
        hostname: "127.0.0.1",
        port: options.gatewayPort ?? 54321,
        onListen: () => {},
        ...tls,
      },
      createGateway({ resolve: (name) => handlerFor(name) }),
    );
    cleanups.push(() => gateway.shutdown());
    const functionsUrl = options.https
      ? `https://${options.https.functionsHost}:${gateway.addr.port}/functions/v1`
      : `http://${options.hostname ?? "127.0.0.1"}:${gateway.addr.port}/functions/v1`;

    let frontend: Frontend | undefined;
    const origins = options.env?.AUTH_ALLOWED_ORIGINS;
    let allowedOrigins = origins;
    if (options.frontendPort !== undefined) {
      frontend = await startFrontend({
        port: options.frontendPort,
        hostname: options.https?.frontendHost ?? options.hostname,
        tls: options.https ? tls as { cert: string; key: string } : undefined,
        functionsUrl: () => functionsUrl,
      });
      cleanups.push(() => frontend!.stop());
      allowedOrigins = [origins, frontend.url].filter(Boolean).join(",");
    }

    let oidc: OidcProvider | undefined;
    const oidcEnv: Env = {};
    if (options.oidc !== false) {
      oidc = await startOidcProvider({
        port: options.oidcPort ?? 0,
        redirectUris: [`${functionsUrl}/callback/oidc`],
      });
      cleanups.push(() => oidc!.stop());
      oidcEnv.AUTH_OIDC_ISSUER = oidc.issuer;
      oidcEnv.AUTH_OIDC_ID = oidc.clientId;
      oidcEnv.AUTH_OIDC_SECRET = oidc.clientSecret;
      oidcEnv.AUTH_OIDC_NAME = "Dev OpenID";
    }

    let functionsDatabaseUrl = database.url;
    let databaseProxy: TcpProxy | undefined;
    if (options.databaseProxy) {
      const target = new URL(database.url);
      databaseProxy = await startTcpProxy({
        targetHost: target.hostname,
        targetPort: Number(target.port || 5432),
      });
      cleanups.push(() => databaseProxy!.stop());
      target.port = String(databaseProxy.port);
      functionsDatabaseUrl = target.href;
    }

    const env: Env = {
      AUTH_URL: functionsUrl,
      ...(allowedOrigins ? { AUTH_ALLOWED_ORIGINS: allowedOrigins } : {}),
      AUTH_EMAIL_SERVER: mail.smtpUrl,
      AUTH_EMAIL_FROM: "Auth.js on Supabase Edge <auth@localhost>",
      ...oidcEnv,
      ...options.env,
      ...(allowedOrigins ? { AUTH_ALLOWED_ORIGINS: allowedOrigins } : {}),
      DATABASE_URL: functionsDatabaseUrl,
    };
    // Access tokens need a key: an ephemeral one unless given (npm start keeps one in .local/).
    if (!env.AUTH_JWT_PRIVATE_KEY && !env.AUTH_JWT_LEGACY_SECRET) {
      env.AUTH_JWT_PRIVATE_KEY = await generateSigningKey();
    }
    const config = loadConfig(env);
    const functions = listFunctions(FUNCTIONS_DIR);
    const handlers = new Map<string, FunctionHandler>();
    if (options.load === "handlers") {
      for (const name of functions) {
        const factory = FUNCTION_FACTORIES[name];
        if (factory) handlers.set(name, factory({ config, log: options.log }));
      }
    } else {
      for (const [key, value] of Object.entries(env)) {
        if (value !== undefined) Deno.env.set(key, value);
      }
      for (const name of functions) {
        handlers.set(name, await loadFunctionEntry(FUNCTIONS_DIR, name));
      }
    }
    handlerFor = (name) => handlers.get(name);
    cleanups.push(() => createStore(config).close());

    return {
      functionsUrl,
      databaseUrl: database.url,
      database,
      mail,
      oidc,
      frontend,
      config,
      functions,
      databaseProxy,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
