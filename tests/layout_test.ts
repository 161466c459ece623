/**
 * The deployable shape: every Auth.js action has a tiny function entry, each is configured
 * for `supabase functions deploy`, nothing imports from outside `supabase/functions`, and
 * the import map pins the same versions as package.json.
 */
import assert from "node:assert/strict";
import { listFunctions, loadFunctionEntry } from "../dev/gateway.ts";
import { FUNCTIONS_DIR } from "../dev/stack.ts";
import { FUNCTION_FACTORIES } from "../supabase/functions/_shared/functions.ts";
import { FUNCTION_GROUPS } from "../supabase/functions/_shared/handler.ts";
import { TEST_SECRET } from "./support/env.ts";

const root = new URL("../", import.meta.url);
const read = (path: string) => Deno.readTextFileSync(new URL(path, root));

Deno.test("every Auth.js action has a function whose entry is one handler", () => {
  const functions = listFunctions(FUNCTIONS_DIR);
  for (const group of Object.keys(FUNCTION_GROUPS)) {
    assert.ok(functions.includes(group), `supabase/functions/${group}`);
    const source = read(`supabase/functions/${group}/index.ts`);
    assert.match(
      source,
      new RegExp(`Deno\\.serve\\(createHandler\\("${group}"\\)\\);`),
    );
    assert.ok(
      source.trim().split("\n").length <= 5,
      `${group}/index.ts stays tiny`,
    );
  }
});

Deno.test("every function has the handler factory the local gateway builds it from", () => {
  for (const name of listFunctions(FUNCTIONS_DIR)) {
    assert.ok(FUNCTION_FACTORIES[name], `FUNCTION_FACTORIES.${name} in _shared/functions.ts`);
    const code = read(`supabase/functions/${name}/index.ts`).split("\n")
      .filter((line) => line.trim() !== "" && !line.trim().startsWith("//"));
    assert.ok(code.length <= 5, `${name}/index.ts stays tiny`);
  }
});

Deno.test("config.toml deploys each function without JWT verification and with the shared import map", () => {
  const toml = read("supabase/config.toml");
  for (const name of listFunctions(FUNCTIONS_DIR)) {
    const section = toml.split(`[functions.${name}]`)[1]?.split("\n[")[0];
    assert.ok(section, `[functions.${name}] exists`);
    assert.match(section, /verify_jwt = false/);
    assert.match(section, /import_map = "\.\/functions\/import_map\.json"/);
  }
});

Deno.test("function code imports nothing from outside supabase/functions", () => {
  const dir = new URL("supabase/functions/", root);
  const walk = (url: URL): string[] =>
    [...Deno.readDirSync(url)].flatMap((e) =>
      e.isDirectory
        ? walk(new URL(`${e.name}/`, url))
        : e.name.endsWith(".ts")
        ? [new URL(e.name, url).href]
        : []
    );
  for (const file of walk(dir)) {
    if (file.endsWith("_test.ts")) continue;
    const source = Deno.readTextFileSync(new URL(file));
    for (
      const [, specifier] of source.matchAll(
        /(?:from|import)\s*\(?\s*"([^"]+)"/g,
      )
    ) {
      if (!specifier!.startsWith(".")) continue;
      const target = new URL(specifier!, file).href;
      assert.ok(target.startsWith(dir.href), `${file} imports ${specifier}`);
    }
  }
});

Deno.test("the import map pins exactly the versions package.json installs", () => {
  const { imports } = JSON.parse(read("supabase/functions/import_map.json"));
  const pkg = JSON.parse(read("package.json"));
  const deps = { ...pkg.dependencies, ...pkg.devDependencies };
  for (const target of Object.values(imports) as string[]) {
    const m = target.match(/^npm:(@?[^@]+)@([^/]+)/);
    assert.ok(m, `${target} is an npm: specifier with a version`);
    assert.equal(deps[m[1]!], m[2], `${m[1]} version`);
  }
});

Deno.test("a function's real entry point serves requests (as `supabase functions serve` would)", async () => {
  const env = {
    AUTH_SECRET: TEST_SECRET,
    AUTH_URL: "https://abc.supabase.co/functions/v1",
    DATABASE_URL: "postgres://postgres@127.0.0.1:1/unused",
  };
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  try {
    const handler = await loadFunctionEntry(FUNCTIONS_DIR, "csrf");
    const response = await handler(new Request("http://kong:8000/csrf"));
    assert.equal(response.status, 200);
    assert.match((await response.json()).csrfToken, /^[0-9a-f]{64}$/);
    const cookie = response.headers.get("Set-Cookie") ?? "";
    assert.match(
      cookie,
      /__Host-authjs\.csrf-token=/,
      "https public URL → secure cookies",
    );
  } finally {
    for (const k of Object.keys(env)) Deno.env.delete(k);
  }
});

Deno.test("the session function starts without loading or resolving any npm package", async () => {
  // `deno info` lists what a module imports, statically or not; type-only imports carry no
  // `code`. What loads at start is the static graph; a dynamic import of a bare npm
  // specifier in it is resolved at start too (measured ~0.45 ms of a cold start), so npm
  // code is reached only through relative dynamic imports (e.g. `session_jose.ts`).
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "supabase/functions/session/index.ts"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  interface Dependency {
    specifier: string;
    code?: { specifier: string };
    isDynamic?: boolean;
  }
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: { specifier: string; dependencies?: Dependency[] }[];
  };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const isNpm = (specifier: string) =>
    specifier.startsWith("npm:") || specifier.includes("/node_modules/");
  const loaded = new Set<string>();
  const visit = (specifier: string) => {
    if (loaded.has(specifier)) return;
    loaded.add(specifier);
    for (const dependency of modules.get(specifier)?.dependencies ?? []) {
      const target = dependency.code?.specifier;
      if (!target) continue;
      assert.ok(
        !isNpm(target),
        `${specifier} imports ${dependency.specifier}${dependency.isDynamic ? " (dynamic)" : ""}`,
      );
      if (!dependency.isDynamic) visit(target);
    }
  };
  visit(info.roots[0]!);
  assert.ok(loaded.size >= 10, `the session function's static graph (${loaded.size} modules)`);
});
