/**
 * The local stack: what `supabase start` + `supabase functions serve` would run, without
 * Docker. The database (embedded PGlite, or `DATABASE_URL`), migrations, a mail catcher, and
 * a gateway serving every function at `/functions/v1/<name>`. `npm start` and the HTTP tests
 * both start it through this module.
 *
 * @example
 * ```ts
 * const stack = await startLocalStack({ gatewayPort: 0 });
 * await fetch(`${stack.functionsUrl}/providers`);
 * await stack.stop();
 * ```
 */
import { type AppConfig, type Env, loadConfig } from "../supabase/functions/_shared/config.ts";
import {
  createHandler,
  FUNCTION_GROUPS,
  type FunctionGroup,
} from "../supabase/functions/_shared/handler.ts";
import { createStore } from "../supabase/functions/_shared/store/mod.ts";
import { type Database, openDatabase } from "./database.ts";
import {
  createGateway,
  type FunctionHandler,
  listFunctions,
  loadFunctionEntry,
} from "./gateway.ts";
import { type MailCatcher, startMailCatcher } from "./mail_catcher.ts";
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
    const gateway = Deno.serve(
      {
        hostname: "127.0.0.1",
        port: options.gatewayPort ?? 54321,
        onListen: () => {},
      },
      createGateway({ resolve: (name) => handlerFor(name) }),
    );
    cleanups.push(() => gateway.shutdown());
    const functionsUrl = `http://127.0.0.1:${gateway.addr.port}/functions/v1`;

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
      AUTH_EMAIL_SERVER: mail.smtpUrl,
      AUTH_EMAIL_FROM: "Auth.js on Supabase Edge <auth@localhost>",
      ...options.env,
      DATABASE_URL: functionsDatabaseUrl,
    };
    const config = loadConfig(env);
    const functions = listFunctions(FUNCTIONS_DIR);
    const handlers = new Map<string, FunctionHandler>();
    if (options.load === "handlers") {
      for (const name of functions) {
        if (name in FUNCTION_GROUPS) {
          handlers.set(
            name,
            createHandler(name as FunctionGroup, { config, log: options.log }),
          );
        }
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
