/**
 * `npm start`: the whole backend on this machine, no Docker. Keeps the embedded database
 * and a generated AUTH_SECRET under `.local/` so a second start reuses them.
 *
 * Settings come from the environment and from `supabase/functions/.env` (the file
 * `supabase functions serve --env-file` reads), then the stack's own defaults.
 */
import { startLocalStack } from "./stack.ts";

const root = new URL("../", import.meta.url);
const localDir = new URL(".local/", root);
await Deno.mkdir(localDir, { recursive: true });

const env: Record<string, string> = {
  ...readEnvFile(new URL("supabase/functions/.env", root)),
};
for (const [key, value] of Object.entries(Deno.env.toObject())) {
  if (key.startsWith("AUTH_") || key === "DATABASE_URL") env[key] = value;
}
env.AUTH_SECRET ??= await persistentSecret(new URL("auth-secret", localDir));

const port = (name: string, fallback: number) => Number(Deno.env.get(name) ?? fallback);
const started = Date.now();
console.log("Starting the local stack…");
const stack = await startLocalStack({
  databaseUrl: env.DATABASE_URL,
  dataDir: new URL("db", localDir).pathname,
  dbPort: port("DB_PORT", 54322),
  gatewayPort: port("GATEWAY_PORT", 54321),
  smtpPort: port("SMTP_PORT", 54325),
  mailPort: port("MAIL_PORT", 54324),
  frontendPort: await freePort(port("WEB_PORT", 54323)),
  env,
  load: "entrypoints",
  quiet: true,
}).catch((error) => {
  console.error(`Cannot start: ${error.message}`);
  if (error.cause) console.error(String(error.cause));
  Deno.exit(1);
});

console.log(`
Auth.js on Supabase Edge is running (${Date.now() - started} ms)

  Functions   ${stack.functionsUrl}/<name>   (${stack.functions.join(", ")})
  Session     ${stack.functionsUrl}/session
  Sign in     ${stack.functionsUrl}/signin
  Demo        ${stack.frontend!.url}   (examples/web, signs in with the SDK)
  Mail        ${stack.mail.httpUrl}   (SMTP ${stack.mail.smtpUrl})
  Database    ${
  stack.database.kind === "pglite" ? "embedded PGlite, data in .local/db" : "DATABASE_URL"
} — ${redact(stack.databaseUrl)}

Press Ctrl-C to stop.`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log("\nStopping…");
  await stack.stop();
  console.log("Stopped.");
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);

/** The demo's port, or any free one when it is taken (the demo is not worth failing for). */
async function freePort(preferred: number): Promise<number> {
  try {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: preferred });
    listener.close();
    await Promise.resolve();
    return preferred;
  } catch {
    return 0;
  }
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.href;
}

async function persistentSecret(file: URL): Promise<string> {
  try {
    return (await Deno.readTextFile(file)).trim();
  } catch {
    const bytes = crypto.getRandomValues(new Uint8Array(33));
    const secret = btoa(String.fromCharCode(...bytes));
    await Deno.writeTextFile(file, secret + "\n", { mode: 0o600 });
    return secret;
  }
}

function readEnvFile(file: URL): Record<string, string> {
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = line.match(
      /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/,
    );
    if (!m) continue;
    let value = m[2]!;
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    out[m[1]!] = value;
  }
  return out;
}
