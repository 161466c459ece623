/**
 * Applies `supabase/roles.sql` and `supabase/migrations/` to a database with the real
 * Supabase CLI (`supabase db push --db-url ... --include-roles`), which needs no Docker and
 * records each version in `supabase_migrations.schema_migrations` as it does on a hosted
 * project.
 *
 * Run directly: `npm run migrate -- postgres://postgres@127.0.0.1:5432/mydb`
 * (or with `DATABASE_URL` set).
 */
import { fileURLToPath as fromFileUrl } from "node:url";

const projectDir = fromFileUrl(new URL("..", import.meta.url));
const cli = fromFileUrl(
  new URL("../node_modules/.bin/supabase", import.meta.url),
);

/** The URL with `sslmode=disable` unless it names a mode: local servers speak no TLS. */
export function withSslMode(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has("sslmode")) u.searchParams.set("sslmode", "disable");
  return u.toString();
}

/**
 * Pushes pending migrations; resolves when the CLI succeeds, rejects with its output when
 * it fails.
 *
 * @example
 * ```ts
 * await migrate("postgres://postgres@127.0.0.1:5432/app");
 * ```
 */
export async function migrate(
  databaseUrl: string,
  options: { quiet?: boolean } = {},
): Promise<void> {
  const out = await new Deno.Command(cli, {
    args: [
      "db",
      "push",
      "--db-url",
      withSslMode(databaseUrl),
      "--include-roles",
      "--yes",
    ],
    cwd: projectDir,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new Error(
      `Cannot apply migrations: supabase db push exited ${out.code}`,
      {
        cause: text.trim(),
      },
    );
  }
  if (!options.quiet) console.log(text.trim());
}

if (import.meta.main) {
  const url = Deno.args[0] ?? Deno.env.get("DATABASE_URL");
  if (!url) {
    console.error(
      "Usage: npm run migrate -- <postgres url>  (or set DATABASE_URL)",
    );
    Deno.exit(2);
  }
  try {
    await migrate(url);
  } catch (error) {
    console.error((error as Error).message);
    console.error((error as Error).cause);
    Deno.exit(1);
  }
}
