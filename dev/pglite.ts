/**
 * Embedded PostgreSQL for the local stack and the tests: PGlite (Postgres compiled to
 * WebAssembly) served over the Postgres wire protocol, so every client — `npm:postgres`, the
 * Supabase CLI, `psql` — talks to it as to a real server.
 *
 * @example
 * ```ts
 * const pg = await startEmbeddedPostgres({ dataDir: ".local/db", port: 54322 });
 * console.log(pg.url); // postgres://postgres@127.0.0.1:54322/postgres
 * await pg.stop();
 * ```
 */
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export interface EmbeddedPostgres {
  /** Connection string; PGlite speaks no TLS, so clients must not ask for it. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Folder that keeps the data between runs; in memory when omitted. */
  dataDir?: string;
  /** 0 picks a free port. */
  port?: number;
}

export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  const db = await PGlite.create(options.dataDir);
  // PGlite runs one query at a time; the socket server queues statements from many
  // connections and keeps a transaction's statements together. Its default of one
  // connection makes a pooled client hang on the second one, so allow a real pool.
  const server = new PGLiteSocketServer({
    db,
    host: "127.0.0.1",
    port: options.port ?? 0,
    maxConnections: 100,
  });
  await server.start();
  const port = Number(server.getServerConn().split(":").pop());
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await db.close();
    },
  };
}
