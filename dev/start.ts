/**
 * `npm start`: the whole backend on this machine, no Docker. Keeps the embedded database
 * and a generated AUTH_SECRET under `.local/` so a second start reuses them.
 *
 * Settings come from the environment and from `supabase/functions/.env` (the file
 * `supabase functions serve --env-file` reads), then the stack's own defaults.
 */
import { generateSigningKey } from "../supabase/functions/_shared/access_token.ts";
import { readEnvFile } from "./env_file.ts";
import { startLocalStack } from "./stack.ts";

const root = new URL("../", import.meta.url);
const localDir = new URL(".local/", root);
await Deno.mkdir(localDir, { recursive: true });

const env: Record<string, string> = {
  ...readEnvFile(readText(new URL("supabase/functions/.env", root))),
};
for (const [key, value] of Object.entries(Deno.env.toObject())) {
  if (key.startsWith("AUTH_") || key === "DATABASE_URL") env[key] = value;
}
env.AUTH_SECRET ??= await persistentSecret(new URL("auth-secret", localDir));
if (!env.AUTH_JWT_LEGACY_SECRET) {
  // The ES256 key of the access tokens, kept so tokens and the served JWKS survive restarts.
  env.AUTH_JWT_PRIVATE_KEY ??= await persistentSecret(
    new URL("jwt-private-key.json", localDir),
    generateSigningKey,
  );
}

// Password sign-in in the demo (Auth.js allows it with JWT sessions only).
env.AUTH_PASSWORD ??= env.AUTH_SESSION_STRATEGY === "database" ? "false" : "true";
// The TOTP second factor in the demo: changes nothing until a user adds an authenticator.
env.AUTH_MFA ??= env.AUTH_STORE === "rest" ? "false" : "true";

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
  oidc: Deno.env.get("DEV_OIDC") !== "false",
  oidcPort: port("OIDC_PORT", 54326),
  frontendPort: await freePort(port("WEB_PORT", 54323)),
  // Passkeys need a host name (WebAuthn refuses IP addresses): the demo moves to localhost.
  hostname: env.AUTH_PASSKEYS === "true" ? "localhost" : undefined,
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
  RLS tokens  ${stack.functionsUrl}/access-token   (issuer ${stack.config.accessToken.issuer})
  Demo        ${stack.frontend!.url}   (examples/web, signs in with the SDK)
  Mail        ${stack.mail.httpUrl}   (SMTP ${stack.mail.smtpUrl})
  OpenID      ${
  stack.oidc ? `${stack.oidc.issuer}   (Dev OpenID: sign in as any email)` : "off (DEV_OIDC=false)"
}
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

async function persistentSecret(
  file: URL,
  generate = () =>
    Promise.resolve(btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(33))))),
): Promise<string> {
  try {
    return (await Deno.readTextFile(file)).trim();
  } catch {
    const secret = await generate();
    await Deno.writeTextFile(file, secret + "\n", { mode: 0o600 });
    return secret;
  }
}

function readText(file: URL): string {
  try {
    return Deno.readTextFileSync(file);
  } catch {
    return "";
  }
}
