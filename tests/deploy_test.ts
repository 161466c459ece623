/**
 * Deployment: `npm run deploy -- --dry-run` checks the secrets file with the functions' own
 * validation and prints the CLI commands without running them; the Supabase CLI (2.117)
 * parses `supabase/config.toml`; the README and the secrets template name every variable
 * the functions read.
 */
import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { generateSigningKey } from "../supabase/functions/_shared/access_token.ts";
import { TEST_SECRET } from "./support/env.ts";

const root = new URL("../", import.meta.url);
const read = (path: string) => Deno.readTextFileSync(new URL(path, root));

async function deploy(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fromFileUrl(new URL("dev/deploy.ts", root)), ...args],
    cwd: fromFileUrl(root),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

async function withEnvFile(text: string, fn: (path: string) => Promise<void>) {
  const path = await Deno.makeTempFile({ suffix: ".env" });
  try {
    await Deno.writeTextFile(path, text);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("deploy --dry-run validates the secrets and prints every step, never a secret's value", async () => {
  const key = await generateSigningKey();
  const env = `AUTH_SECRET="${TEST_SECRET}"\nAUTH_JWT_PRIVATE_KEY='${key}'\n` +
    "AUTH_ALLOWED_ORIGINS=https://app.example.com\n";
  await withEnvFile(env, async (path) => {
    const { code, stdout } = await deploy(
      "--dry-run",
      "--project-ref",
      "abcdefghijklmnopqrst",
      "--env-file",
      path,
    );
    assert.equal(code, 0);
    const commands = stdout.split("\n").filter((l) => l.startsWith("$ "));
    assert.deepEqual(commands, [
      "$ supabase projects list -o json",
      "$ supabase link --project-ref abcdefghijklmnopqrst",
      "$ supabase db push --linked --include-roles --yes",
      `$ supabase secrets set --env-file ${path} --project-ref abcdefghijklmnopqrst`,
      "$ supabase functions deploy --no-verify-jwt --use-api --yes --project-ref abcdefghijklmnopqrst",
    ]);
    assert.match(stdout, /set 3 secrets: AUTH_ALLOWED_ORIGINS, AUTH_JWT_PRIVATE_KEY, AUTH_SECRET/);
    assert.match(stdout, /deploy access-token, account, callback, .*oidc.*webauthn-options/);
    assert.match(
      stdout,
      /issuer https:\/\/abcdefghijklmnopqrst\.supabase\.co\/functions\/v1\/oidc/,
    );
    assert.ok(!stdout.includes(TEST_SECRET), "no secret value printed");
    assert.ok(!stdout.includes(JSON.parse(key).d), "no key printed");
  });
});

Deno.test("deploy refuses a secrets file the functions would refuse, before changing anything", async () => {
  const cases: [string, RegExp][] = [
    ["AUTH_ALLOWED_ORIGINS=https://app.example.com\n", /AUTH_SECRET is missing/],
    [`AUTH_SECRET=${TEST_SECRET}\n`, /AUTH_JWT_PRIVATE_KEY is missing/],
    [
      `AUTH_SECRET=${TEST_SECRET}\nAUTH_JWT_LEGACY_SECRET=x\n`,
      /AUTH_JWT_LEGACY_SECRET is too short/,
    ],
    [
      `AUTH_SECRET=${TEST_SECRET}\nSUPABASE_JWT_SECRET=${TEST_SECRET}\n`,
      /SUPABASE_JWT_SECRET: Supabase provides SUPABASE_\* itself/,
    ],
  ];
  for (const [env, message] of cases) {
    await withEnvFile(env, async (path) => {
      const { code, stdout, stderr } = await deploy(
        "--dry-run",
        "--project-ref",
        "abcdefghijklmnopqrst",
        "--env-file",
        path,
      );
      assert.equal(code, 1);
      assert.match(stderr, message);
      assert.ok(!stdout.includes("$ supabase"), "no step printed or run");
    });
  }
});

Deno.test("the Supabase CLI parses supabase/config.toml (and would reject a broken one)", async () => {
  const cli = fromFileUrl(new URL("node_modules/.bin/supabase", root));
  // `supabase status` reads the configuration before anything else (then needs Docker).
  const status = async (workdir: string) => {
    const out = await new Deno.Command(cli, {
      args: ["status", "--workdir", workdir],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      env: { SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
    }).output();
    return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  };
  assert.doesNotMatch(await status(fromFileUrl(root)), /failed to read config/);

  const broken = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${broken}/supabase`);
    await Deno.writeTextFile(
      `${broken}/supabase/config.toml`,
      read("supabase/config.toml").replace(/verify_jwt = false/, 'verify_jwt = "no"'),
    );
    assert.match(await status(broken), /failed to read config/);
  } finally {
    await Deno.remove(broken, { recursive: true });
  }
});

Deno.test("the README's deployment section and the secrets template name every variable", () => {
  const names = new Set(
    [...read("supabase/functions/_shared/config.ts").matchAll(/env\.([A-Z][A-Z0-9_]+)/g)]
      .map((m) => m[1]!),
  );
  names.add("AUTH_SECRET_1");
  assert.ok(names.has("AUTH_JWT_PRIVATE_KEY") && names.has("AUTH_STORE"));
  const readme = read("README.md");
  const deployment = readme.split("## Deploy to a Supabase project")[1]?.split("\n## ")[0] ?? "";
  const template = read("supabase/functions/.env.production.example");
  for (const name of names) {
    assert.ok(deployment.includes(name), `README deployment section lists ${name}`);
    if (!name.startsWith("SUPABASE_") && name !== "DATABASE_URL") {
      assert.ok(template.includes(name), `.env.production.example lists ${name}`);
    }
  }
});
