/**
 * `npm run deploy`: puts this backend into a Supabase project with the real CLI — checks the
 * login and the link, pushes the migrations, sets the secrets from a file, deploys every
 * function without Supabase JWT verification, and prints what is left to do by hand.
 *
 * ```sh
 * npm run deploy -- --project-ref <ref> [--env-file supabase/functions/.env.production]
 * npm run deploy -- --dry-run            # validate the secrets file, print the commands
 * npm run deploy -- --generate-key       # a fresh AUTH_JWT_PRIVATE_KEY line for the file
 * ```
 *
 * The secrets file is validated with the functions' own `loadConfig` before anything is
 * changed, so a missing or weak secret stops the deployment, not the deployed functions.
 */
import { parseArgs } from "node:util";
import { fileURLToPath as fromFileUrl } from "node:url";
import {
  createAccessTokenSigner,
  generateSigningKey,
} from "../supabase/functions/_shared/access_token.ts";
import { loadConfig } from "../supabase/functions/_shared/config.ts";
import { listFunctions } from "./gateway.ts";
import { FUNCTIONS_DIR } from "./stack.ts";
import { readEnvFile } from "./env_file.ts";

const root = new URL("../", import.meta.url);
const projectDir = fromFileUrl(root);
const cli = fromFileUrl(new URL("node_modules/.bin/supabase", root));
const DEFAULT_ENV_FILE = "supabase/functions/.env.production";
const REF = /^[a-z]{20}$/;

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    "project-ref": { type: "string" },
    "env-file": { type: "string", default: DEFAULT_ENV_FILE },
    "dry-run": { type: "boolean", default: false },
    "skip-migrations": { type: "boolean", default: false },
    "skip-secrets": { type: "boolean", default: false },
    "generate-key": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (args.help) {
  console.log(
    `Usage: npm run deploy -- [--project-ref <ref>] [--env-file ${DEFAULT_ENV_FILE}] [--dry-run]
                          [--skip-migrations] [--skip-secrets] [--generate-key]`,
  );
  Deno.exit(0);
}
if (args["generate-key"]) {
  console.log(`AUTH_JWT_PRIVATE_KEY='${await generateSigningKey()}'`);
  Deno.exit(0);
}

const dryRun = args["dry-run"];
const fail = (message: string): never => {
  console.error(`Cannot deploy: ${message}`);
  Deno.exit(1);
};

// Which project: --project-ref, else the one `supabase link` remembered.
let ref = args["project-ref"];
let linked = false;
if (!ref) {
  try {
    ref = Deno.readTextFileSync(new URL("supabase/.temp/project-ref", root)).trim();
    linked = true;
  } catch {
    if (!dryRun) fail("no project: pass --project-ref <ref> or run `npx supabase link` first");
  }
}
if (ref && !REF.test(ref)) fail(`"${ref}" is not a project ref (20 lowercase letters)`);
const projectUrl = `https://${ref ?? "<project-ref>"}.supabase.co`;

// The secrets, checked as the deployed functions will read them (Supabase adds its own).
const envFile = new URL(args["env-file"]!, `file://${Deno.cwd()}/`);
let secrets: Record<string, string> = {};
let hs256 = false;
if (!args["skip-secrets"]) {
  try {
    secrets = readEnvFile(Deno.readTextFileSync(envFile));
  } catch {
    fail(
      `cannot read the secrets file "${
        args["env-file"]
      }" (copy supabase/functions/.env.production.example)`,
    );
  }
  const reserved = Object.keys(secrets).filter((name) => name.startsWith("SUPABASE_"));
  if (reserved.length) {
    fail(
      `${
        reserved.join(", ")
      }: Supabase provides SUPABASE_* itself and refuses to set them (use AUTH_JWT_LEGACY_SECRET for the JWT secret)`,
    );
  }
  try {
    const config = loadConfig({
      SUPABASE_URL: projectUrl.replace("<project-ref>", "project-ref"),
      SUPABASE_DB_URL: "postgres://postgres@db.project-ref.supabase.co:5432/postgres",
      SUPABASE_SERVICE_ROLE_KEY: "provided-by-supabase",
      ...secrets,
    });
    const signer = createAccessTokenSigner(config.accessToken);
    hs256 = signer.alg === "HS256";
    if (hs256) {
      console.warn(
        "Note: no AUTH_JWT_PRIVATE_KEY, access tokens are signed HS256 with AUTH_JWT_LEGACY_SECRET (no OIDC issuer to register)",
      );
    }
  } catch (error) {
    fail((error as Error).message.replace(/^Cannot start: /, ""));
  }
}

const refArgs = ref && !linked ? ["--project-ref", ref] : [];
const steps: { why: string; args: string[]; quiet?: boolean }[] = [
  { why: "check the login", args: ["projects", "list", "-o", "json"], quiet: true },
  ...(ref && !linked ? [{ why: "link the project", args: ["link", "--project-ref", ref] }] : []),
  ...(args["skip-migrations"] ? [] : [{
    why: "create the next_auth schema (roles.sql is a no-op on a hosted project)",
    args: ["db", "push", "--linked", "--include-roles", "--yes"],
  }]),
  ...(args["skip-secrets"] ? [] : [{
    why: `set ${Object.keys(secrets).length} secrets: ${Object.keys(secrets).sort().join(", ")}`,
    args: ["secrets", "set", "--env-file", fromFileUrl(envFile), ...refArgs],
  }]),
  {
    why: `deploy ${listFunctions(FUNCTIONS_DIR).join(", ")}`,
    args: ["functions", "deploy", "--no-verify-jwt", "--use-api", "--yes", ...refArgs],
  },
];

for (const step of steps) {
  console.log(`\n# ${step.why}\n$ supabase ${step.args.join(" ")}`);
  if (dryRun) continue;
  const { success, code } = await new Deno.Command(cli, {
    args: step.args,
    cwd: projectDir,
    stdin: "inherit",
    stdout: step.quiet ? "null" : "inherit",
    stderr: "inherit",
  }).output();
  if (!success) {
    fail(
      step.args[0] === "projects"
        ? "not logged in: run `npx supabase login` (or set SUPABASE_ACCESS_TOKEN)"
        : `supabase ${step.args.slice(0, 2).join(" ")} exited ${code}`,
    );
  }
}

const functionsUrl = secrets.AUTH_URL?.replace(/\/+$/, "") ?? `${projectUrl}/functions/v1`;
const nextSteps = [
  hs256
    ? "Access tokens are HS256 with the legacy JWT secret: Supabase accepts them as its own."
    : `Let Supabase trust the access tokens: Dashboard → Authentication → Third-Party Auth →
     Add provider → Custom OIDC, issuer ${secrets.AUTH_JWT_ISSUER ?? `${functionsUrl}/oidc`}
     (discovery: ${functionsUrl}/oidc/.well-known/openid-configuration)`,
  `Frontends: list their origins in AUTH_ALLOWED_ORIGINS; give supabase-js an accessToken
     function that returns access_token from ${functionsUrl}/access-token
     (fetched with credentials: "include", or the session as a Bearer token)`,
  "AUTH_STORE=rest only: Dashboard → Project Settings → Data API → Exposed schemas → add next_auth",
  `First-party cookies (Safari, Firefox block third-party ones): a custom domain for the
     project (\`npx supabase domains create --custom-hostname auth.example.com\`), then
     AUTH_URL=https://auth.example.com/functions/v1 and run this again`,
];
console.log(`
${dryRun ? "Dry run: nothing was changed." : "Deployed."} Next steps:

${nextSteps.map((text, i) => `  ${i + 1}. ${text}`).join("\n")}`);
