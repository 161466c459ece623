/**
 * The database for the local stack and the tests: a PostgreSQL server named by
 * `DATABASE_URL`, or the embedded PGlite when none is given. Migrations are applied with the
 * Supabase CLI either way.
 *
 * @example
 * ```ts
 * const db = await openDatabase({ fresh: true }); // a new, migrated, throw-away database
 * db.url; await db.close();
 * ```
 */
import postgres from "postgres";
import { migrate } from "./migrate.ts";
import { startEmbeddedPostgres } from "./pglite.ts";

export interface Database {
  url: string;
  /** "pglite" or "postgres": which kind of server answers. */
  kind: "pglite" | "postgres";
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A server to use instead of the embedded one. */
  serverUrl?: string;
  /** For the embedded database: keep data in this folder (in memory when omitted). */
  dataDir?: string;
  port?: number;
  /**
   * On a server: create a database of its own (dropped on close), so test runs never share
   * rows. Without it, `serverUrl` is used as given.
   */
  fresh?: boolean;
  quiet?: boolean;
}

export async function openDatabase(
  options: DatabaseOptions = {},
): Promise<Database> {
  if (!options.serverUrl) {
    const pg = await startEmbeddedPostgres({
      dataDir: options.dataDir,
      port: options.port,
    });
    try {
      await migrate(pg.url, { quiet: options.quiet });
    } catch (error) {
      await pg.stop();
      throw error;
    }
    return { url: pg.url, kind: "pglite", close: () => pg.stop() };
  }
  if (!options.fresh) {
    await migrate(options.serverUrl, { quiet: options.quiet });
    return { url: options.serverUrl, kind: "postgres", close: async () => {} };
  }
  const name = `authjs_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = postgres(options.serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(options.serverUrl);
  url.pathname = `/${name}`;
  const drop = async () => {
    const sql = postgres(options.serverUrl!, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(`drop database if exists ${name} with (force)`);
    } finally {
      await sql.end();
    }
  };
  try {
    await migrate(url.href, { quiet: options.quiet });
  } catch (error) {
    await drop();
    throw error;
  }
  return { url: url.href, kind: "postgres", close: drop };
}
