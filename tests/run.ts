/**
 * `npm test`: every test in `tests/` and beside the code, against the embedded database, or
 * against the PostgreSQL server named by `DATABASE_URL` (each test file makes and drops its
 * own database there). Ends with one plain summary line: `N passed, N failed, N skipped`.
 *
 * Extra arguments go to `deno test` (e.g. `npm test -- tests/magic_link_test.ts`).
 */
const DEFAULT_PATHS = ["tests/", "supabase/functions/", "dev/", "shared/"];
const exists = (path: string) => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};
const args = Deno.args.length ? Deno.args : DEFAULT_PATHS.filter(exists);
const database = Deno.env.get("DATABASE_URL");
console.log(
  `Testing against ${
    database ? `PostgreSQL (${redact(database)})` : "the embedded PGlite database"
  }`,
);

const child = new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", "--permit-no-files", ...args],
  stdout: "piped",
  stderr: "inherit",
  env: { NO_COLOR: "1" },
}).spawn();

let tail = "";
const decoder = new TextDecoder();
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4000);
}
const { code } = await child.status;

// Deno's own summary: "ok | 12 passed (30 steps) | 0 failed | 1 ignored (4s)".
const summary = tail.match(
  /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \| (\d+) ignored)?/,
);
if (summary) {
  const [, passed, failed, ignored = "0"] = summary;
  console.log(`\n${passed} passed, ${failed} failed, ${ignored} skipped`);
} else {
  console.log("\nNo test summary: the test run did not complete");
}
Deno.exit(code === 0 && summary ? 0 : code || 1);

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.href;
  } catch {
    return "invalid DATABASE_URL";
  }
}
