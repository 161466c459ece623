/**
 * `npm run bench:hash`: what one password hash costs here, for the parameters new hashes get
 * and a few others, to choose them against Supabase's per-request limits (2 s CPU, 256 MB).
 * CPU time is the process's (`process.cpuUsage()`, all threads), so it holds on a busy
 * machine where wall time does not. Prints a table; asserts nothing.
 */
import process from "node:process";
import {
  hashPassword,
  PASSWORD_HASH_PARAMS,
  verifyPassword,
} from "../supabase/functions/_shared/password_hash.ts";

const RUNS = Number(Deno.args[0] ?? 7);
const CPU_LIMIT_MS = 2000;

/** CPU and wall milliseconds of one call. */
async function timed(run: () => Promise<unknown>) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run();
  const used = process.cpuUsage(cpu);
  return { cpu: (used.user + used.system) / 1000, wall: performance.now() - started };
}

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function measure(iterations: number) {
  await hashPassword("warm-up password", { iterations });
  const cpu: number[] = [];
  const wall: number[] = [];
  const rssBefore = Deno.memoryUsage().rss;
  let rssPeak = rssBefore;
  for (let i = 0; i < RUNS; i++) {
    const t = await timed(() => hashPassword(`correct horse battery staple ${i}`, { iterations }));
    cpu.push(t.cpu);
    wall.push(t.wall);
    rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
  }
  return {
    cpu: median(cpu),
    wall: median(wall),
    rssGrowthMb: (rssPeak - rssBefore) / 2 ** 20,
  };
}

console.log(
  `PBKDF2-HMAC-SHA256 via WebCrypto, median of ${RUNS} hashes (${navigator.hardwareConcurrency} CPUs, load ${
    Deno.loadavg()[0]!.toFixed(1)
  })`,
);
console.log("iterations   CPU ms   wall ms   CPU % of 2 s   RSS growth");
for (const iterations of [100_000, 310_000, PASSWORD_HASH_PARAMS.iterations, 1_000_000]) {
  const r = await measure(iterations);
  const mark = iterations === PASSWORD_HASH_PARAMS.iterations ? "  ← used" : "";
  console.log(
    [
      String(iterations).padStart(10),
      r.cpu.toFixed(0).padStart(6),
      r.wall.toFixed(0).padStart(7),
      `${(100 * r.cpu / CPU_LIMIT_MS).toFixed(1).padStart(10)} %`,
      `${r.rssGrowthMb.toFixed(1).padStart(7)} MB${mark}`,
    ].join("   "),
  );
}
// A sign-in is one verification: the same work as one hash.
const stored = await hashPassword("correct horse battery staple");
const t = await timed(() => verifyPassword("correct horse battery staple", stored));
console.log(`one sign-in verification: ${t.cpu.toFixed(0)} ms CPU (${t.wall.toFixed(0)} ms wall)`);
