/**
 * `npm run bench`: this project's `session` function against stock `Auth()`, side by side in
 * one run on this machine, loaded by the same client (autocannon, in its own process), for
 * JWT and database sessions, with a hello-world function as the ceiling. Each connection is
 * one signed-in user with a session of their own (BENCH_CONNECTIONS users, among 20,000 other
 * sessions). Also cold start (process start → first answer) and peak memory of each function
 * process: its resident memory, and its isolate's heap as the edge runtime counts it.
 *
 * Settings: BENCH_DURATION (seconds per measurement, default 10), BENCH_CONNECTIONS
 * (default 32), DATABASE_URL (a PostgreSQL server for the database strategy; the embedded
 * PGlite otherwise — which then bounds both sides alike).
 */
import { encode } from "@auth/core/jwt";
import { generateSigningKey } from "../supabase/functions/_shared/access_token.ts";
import postgres from "postgres";
import { openDatabase } from "../dev/database.ts";

const DURATION = Number(Deno.env.get("BENCH_DURATION") ?? 10);
const CONNECTIONS = Number(Deno.env.get("BENCH_CONNECTIONS") ?? 32);
const SECRET = "benchmark-secret-0123456789-abcdefghijklmnop";
const COOKIE = "authjs.session-token";
const root = new URL("../", import.meta.url);
const deno = Deno.execPath();

interface Target {
  name: string;
  entry: string;
  path: string;
  env: Record<string, string>;
}

type Headers = Record<string, string>;

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  requests: number;
}

/**
 * The V8 heap the Supabase edge runtime gives a function's isolate:
 * `heap_limits(0, memory_limit)` with the 256 MB limit of hosted functions and of
 * `supabase functions serve` (supabase/edge-runtime, crates/base/src/runtime/mod.rs), which
 * V8 splits into 1 MiB semi-spaces and a 253 MiB old generation. A plain `deno run` sizes
 * its heap from the machine's memory instead (4 GB here, semi-spaces growing to 16 MiB under
 * load): every function measured here, stock `Auth()` and hello world included, runs with the
 * edge runtime's sizes.
 */
const EDGE_RUNTIME_HEAP = "--v8-flags=--max-semi-space-size=1,--max-old-space-size=253";

/**
 * Starts a function in a process of its own. `isolateReport`: a file where the process keeps
 * the peak of what the edge runtime counts as the function's memory.
 */
function spawnFunction(target: Target, port: number, isolateReport?: string) {
  return new Deno.Command(deno, {
    args: ["run", "-A", EDGE_RUNTIME_HEAP, "dev/serve_function.ts", target.entry, String(port)],
    cwd: root,
    env: {
      ...target.env,
      NO_COLOR: "1",
      ...(isolateReport ? { SERVE_FUNCTION_ISOLATE_REPORT: isolateReport } : {}),
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/**
 * Milliseconds from now (call it as the function's process starts) until `url` answers: with a
 * 2xx, or with any status below 500 when `anyAnswer` (a function asked a plain GET it does not
 * serve still answers, e.g. 404 or 405). The first request goes out as soon as the function
 * says it is listening (dev/serve_function.ts), as a waiting request reaches a function the
 * edge runtime has just started: polling every few ms would add up to a poll's wait to every
 * start, hello world's included, and flatter the ratio between them.
 */
async function untilAnswered(
  child: Deno.ChildProcess,
  url: string,
  headers: HeadersInit,
  { timeoutMs = 30_000, anyAnswer = false } = {},
) {
  const start = performance.now();
  const reader = child.stdout.getReader();
  await reader.read(); // "listening", or the end of a process that stopped
  reader.releaseLock();
  for (;;) {
    try {
      const response = await fetch(url, { headers });
      await response.body?.cancel();
      if (response.ok || (anyAnswer && response.status < 500)) return performance.now() - start;
    } catch {
      // not listening yet
    }
    if (performance.now() - start > timeoutMs) throw new Error(`No answer from ${url}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function peakMemoryMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? 0);
  return kb / 1024;
}

/**
 * Loads `url` from a separate Node process (bench/load.mjs, autocannon): CONNECTIONS
 * connections, connection i sending `headerSets[i % headerSets.length]`.
 */
async function load(url: string, headerSets: Headers[], seconds: number): Promise<Load> {
  const args = ["bench/load.mjs", url, String(CONNECTIONS), String(seconds)];
  args.push(JSON.stringify(headerSets));
  const out = await new Deno.Command("node", { args, cwd: root, stdout: "piped", stderr: "null" })
    .output();
  const result = JSON.parse(new TextDecoder().decode(out.stdout));
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
  };
}

/** A port nothing listens on right now (the OS picks it). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function stop(child: Deno.ChildProcess) {
  try {
    child.kill("SIGTERM");
  } catch {
    // already exited
  }
}
/**
 * Stops a function and waits for it; with its isolate report, returns the peak it wrote in MB
 * (NaN without a report, or when it wrote none).
 */
async function stopFunction(child: Deno.ChildProcess, report?: string): Promise<number> {
  stop(child);
  await child.status;
  await child.stdout.cancel();
  if (!report) return NaN;
  try {
    return JSON.parse(Deno.readTextFileSync(report)).peakIsolateBytes / 1048576;
  } catch {
    return NaN;
  } finally {
    for (const file of [report, `${report}.part`]) {
      try {
        Deno.removeSync(file);
      } catch {
        // not there (a `.part` is renamed away as soon as it is written)
      }
    }
  }
}

async function measure(target: Target, headerSets: Headers[]) {
  const port = freePort();
  const report = Deno.makeTempFileSync({ prefix: "bench-isolate-" });
  const child = spawnFunction(target, port, report);
  const url = `http://127.0.0.1:${port}${target.path}`;
  let measured;
  let isolateMb = NaN;
  try {
    const coldMs = await untilAnswered(child, url, headerSets[0]!);
    // Check the answers are real sessions, each connection's its own, before timing them.
    if (target.path.endsWith("/session")) {
      for (const [i, headers] of headerSets.entries()) {
        const text = await (await fetch(url, { headers })).text();
        if (!text.includes(`bench${i}@example.com`)) {
          throw new Error(`${target.name} did not return session ${i}: ${text.slice(0, 200)}`);
        }
      }
    }
    await load(url, headerSets, 2); // warm-up
    const cpuBefore = cpuSeconds(child.pid);
    const result = await load(url, headerSets, DURATION);
    // CPU time per answer barely depends on what else the machine is doing, unlike req/s.
    const cpuUs = (cpuSeconds(child.pid) - cpuBefore) * 1e6 / result.requests;
    measured = { ...result, coldMs, cpuUs, memoryMb: peakMemoryMb(child.pid) };
  } finally {
    isolateMb = await stopFunction(child, report);
  }
  return { ...measured, isolateMb };
}

/**
 * Median time from process start to the first answer, of `runs` starts of each target,
 * taken in turns (hello, session, hello, …) so a busy moment of the machine hits both alike.
 */
async function coldStarts(targets: Target[], headers: Record<string, string>, runs = 15) {
  const times: number[][] = targets.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [t, target] of targets.entries()) {
      const port = freePort();
      const child = spawnFunction(target, port);
      try {
        times[t]!.push(
          await untilAnswered(child, `http://127.0.0.1:${port}${target.path}`, headers),
        );
      } finally {
        await stopFunction(child);
      }
    }
  }
  return times.map((list) => list.sort((a, b) => a - b)[Math.floor(runs / 2)]!);
}

const fmt = (n: number, digits = 0) => n.toFixed(digits).padStart(9);

console.log(`Benchmark: ${CONNECTIONS} connections, ${DURATION} s per run, ${Deno.build.target}`);
const database = await openDatabase({
  serverUrl: Deno.env.get("DATABASE_URL") || undefined,
  fresh: true,
  quiet: true,
});
console.log(`Database: ${database.kind === "pglite" ? "embedded PGlite" : "PostgreSQL"}`);
const sql = postgres(database.url, { max: 1, onnotice: () => {} });
try {
  // One user and session per connection (each connection is one browser), among many
  // other sessions so the lookups go through a real index.
  const users = await sql`insert into next_auth.users (email, name)
    select 'bench' || (g - 1) || '@example.com', 'Bench ' || (g - 1)
    from generate_series(1, ${CONNECTIONS}) g returning id, email, name`;
  await sql`insert into next_auth.sessions ("sessionToken", "userId", expires)
    select 'filler-' || g, ${users[0]!.id}, now() + interval '30 days'
    from generate_series(1, 20000) g`;
  const sessionTokens: string[] = [];
  const jwes: string[] = [];
  for (const user of users) {
    const sessionToken = crypto.randomUUID();
    await sql`insert into next_auth.sessions ("sessionToken", "userId", expires)
      values (${sessionToken}, ${user.id}, now() + interval '30 days')`;
    sessionTokens.push(sessionToken);
    jwes.push(
      await encode({
        token: { sub: user.id, email: user.email, name: user.name },
        secret: SECRET,
        salt: COOKIE,
      }),
    );
  }
  await sql`analyze next_auth.sessions`;
  const cookies = (tokens: string[]) => tokens.map((t) => ({ Cookie: `${COOKIE}=${t}` }));

  const baseEnv = {
    AUTH_SECRET: SECRET,
    AUTH_URL: "http://127.0.0.1:54321/functions/v1",
    DATABASE_URL: database.url,
  };
  const hello: Target = {
    name: "hello world",
    entry: "bench/functions/hello/index.ts",
    path: "/hello",
    env: {},
  };
  const rows: { label: string; r: Awaited<ReturnType<typeof measure>> }[] = [];
  const ratios: string[] = [];

  const h = await measure(hello, [{}]);
  rows.push({ label: "hello world (ceiling)", r: h });

  for (const strategy of ["jwt", "database"] as const) {
    const env = { ...baseEnv, AUTH_SESSION_STRATEGY: strategy };
    const cookie = cookies(strategy === "jwt" ? jwes : sessionTokens);
    const stock = await measure({
      name: `stock ${strategy}`,
      entry: "bench/functions/stock-session/index.ts",
      path: "/functions/v1/session",
      env,
    }, cookie);
    const ours = await measure({
      name: `session ${strategy}`,
      entry: "supabase/functions/session/index.ts",
      path: "/session",
      env,
    }, cookie);
    rows.push({ label: `stock Auth() GET /session, ${strategy}`, r: stock });
    rows.push({ label: `session function, ${strategy}`, r: ours });
    if (strategy === "database") {
      // Stock Auth() with this project's light Postgres client under its adapter as well.
      const lent = await measure({
        name: "stock database, light client",
        entry: "bench/functions/stock-session/index.ts",
        path: "/functions/v1/session",
        env: { ...env, BENCH_STOCK_LIGHT_CLIENT: "true" },
      }, cookie);
      rows.push({ label: "stock Auth(), database, light client", r: lent });
      ratios.push(
        `database vs stock Auth() given the light client too: throughput ${
          (ours.rps / lent.rps).toFixed(1)
        }x, CPU per answer ${(lent.cpuUs / ours.cpuUs).toFixed(1)}x less`,
      );
    }
    if (strategy === "jwt") {
      // Every request decrypts: what a token the isolate has not seen yet costs.
      const uncached = await measure({
        name: "session jwt uncached",
        entry: "supabase/functions/session/index.ts",
        path: "/session",
        env: { ...env, AUTH_SESSION_CACHE_SIZE: "0" },
      }, cookie);
      rows.push({ label: "session function, jwt, no token cache", r: uncached });
      ratios.push(
        `jwt without the token cache: throughput ${
          (uncached.rps / stock.rps).toFixed(1)
        }x stock, ` +
          `CPU per answer ${(stock.cpuUs / uncached.cpuUs).toFixed(1)}x less`,
      );
    }
    ratios.push(
      `${strategy}: throughput ${(ours.rps / stock.rps).toFixed(1)}x stock, ` +
        `p99 ${(ours.p99 / stock.p99).toFixed(2)}x stock (${ours.p99} vs ${stock.p99} ms), ` +
        `CPU per answer ${(stock.cpuUs / ours.cpuUs).toFixed(1)}x less`,
    );
  }

  const env = { ...baseEnv, AUTH_SESSION_STRATEGY: "jwt" };
  // The first answer to a signed-in user's request (hello ignores the cookie).
  const signedIn = cookies(jwes)[0]!;
  const [coldHello = NaN, coldSession = NaN] = await coldStarts([
    hello,
    { name: "session", entry: "supabase/functions/session/index.ts", path: "/session", env },
  ], signedIn);

  // Every function's cold start and memory right after its first answer (a plain GET on its
  // path; the answer may be a 4xx where the function needs more than that).
  const functionsDir = new URL("supabase/functions/", root);
  const names = [...Deno.readDirSync(functionsDir)]
    .filter((e) => e.isDirectory && !e.name.startsWith("_")).map((e) => e.name).sort();
  // What `npm start` turns on, so each function starts with its features (access-token and
  // oidc refuse to start without a signing key).
  const functionEnv = {
    ...env,
    AUTH_JWT_PRIVATE_KEY: await generateSigningKey(),
    AUTH_PASSWORD: "true",
    AUTH_MFA: "true",
    AUTH_EMAIL_SERVER: "smtp://127.0.0.1:2525",
    AUTH_EMAIL_FROM: "Bench <bench@example.com>",
  };
  const everyFunction: {
    name: string;
    coldMs: number;
    helloMs: number;
    memoryMb: number;
    isolateMb: number;
  }[] = [];
  for (const name of names) {
    const cold: number[] = [];
    const helloCold: number[] = [];
    let memoryMb = 0;
    let isolateMb = 0;
    // Five timed starts, each right after a hello world's (so the ratio compares starts made at
    // the same moments, as above), then one more that samples the isolate (sampling is not free
    // at start).
    for (let i = 0; i < 6; i++) {
      if (i < 5) helloCold.push((await coldStarts([hello], signedIn, 1))[0]!);
      const port = freePort();
      const report = i === 5 ? Deno.makeTempFileSync({ prefix: "bench-isolate-" }) : undefined;
      const child = spawnFunction(
        {
          name,
          entry: `supabase/functions/${name}/index.ts`,
          path: `/${name}`,
          env: functionEnv,
        },
        port,
        report,
      );
      try {
        let answered = false;
        const exited = child.status.then(async () => {
          if (answered) return NaN;
          const why = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
          throw new Error(`${name} did not start: ${why.split("\n").find((l) => l.trim())}`);
        });
        const ms = await Promise.race([
          untilAnswered(child, `http://127.0.0.1:${port}/${name}`, signedIn, { anyAnswer: true }),
          exited,
        ]);
        if (!report) cold.push(ms);
        answered = true;
        memoryMb = Math.max(memoryMb, peakMemoryMb(child.pid));
      } finally {
        // The report run waits for a few samples after the answer (10 ms apart at start).
        if (report) await new Promise((resolve) => setTimeout(resolve, 50));
        const peak = await stopFunction(child, report);
        if (report) isolateMb = peak;
      }
    }
    const median = (list: number[]) => list.sort((a, b) => a - b)[2]!;
    everyFunction.push({
      name,
      coldMs: median(cold),
      helloMs: median(helloCold),
      memoryMb,
      isolateMb,
    });
  }

  console.log(
    `\n${"".padEnd(38)}${"req/s".padStart(9)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}` +
      `${"CPU µs".padStart(9)}${"errors".padStart(9)}${"non-2xx".padStart(9)}` +
      `${"peak MB".padStart(9)}${"isolate".padStart(9)}`,
  );
  for (const { label, r } of rows) {
    console.log(
      `${label.padEnd(38)}${fmt(r.rps)}${fmt(r.p50)}${fmt(r.p99)}${fmt(r.cpuUs)}${fmt(r.errors)}${
        fmt(r.non2xx)
      }${fmt(r.memoryMb, 1)}${fmt(r.isolateMb, 1)}`,
    );
  }
  console.log(
    "(peak MB: the function process's resident memory, Deno's own ~45 MB included; isolate:\n" +
      " peak used heap + external memory, sampled — what the edge runtime counts\n" +
      " against a function's memory limit)",
  );
  console.log("\nRatios (session function vs stock Auth(), same run):");
  for (const line of ratios) console.log(`  ${line}`);
  console.log(
    `\nCold start (process start to the first answer to a signed-in request, median of 15): hello ${
      coldHello.toFixed(0)
    } ms, session ${coldSession.toFixed(0)} ms (${(coldSession / coldHello).toFixed(2)}x hello)`,
  );
  console.log(
    "\nEvery function: cold start (median of 5, each after a hello world's start), peak process" +
      " memory and peak isolate memory after its first answer",
  );
  for (const f of everyFunction) {
    console.log(
      `  ${f.name.padEnd(20)}${fmt(f.coldMs)} ms${fmt(f.coldMs / f.helloMs, 2)}x hello${
        fmt(f.memoryMb, 1)
      } MB${fmt(f.isolateMb, 1)} MB isolate`,
    );
  }
} finally {
  await sql.end();
  await database.close();
}
