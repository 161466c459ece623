/**
 * Runs one function's real entry point (`supabase/functions/<name>/index.ts`) in a process
 * of its own, listening on a given port — one isolate per function, as the edge runtime
 * runs them. Used by the benchmark to measure each function alone (it starts this with the
 * V8 heap sizes the edge runtime gives a function: `EDGE_RUNTIME_HEAP` in bench/run.ts).
 *
 * Usage: `deno run -A dev/serve_function.ts <path to index.ts> <port>` (prints `listening`
 * once the port is open)
 *
 * With `SERVE_FUNCTION_ISOLATE_REPORT=<file>`, it also samples what the Supabase edge runtime
 * counts against a function's memory limit — the isolate's used heap plus its
 * external memory (edge-runtime `MemCheck::check`), not the process's resident memory — and
 * keeps the peak (bytes, JSON) in that file. Samples are 10 ms apart for the first second, then
 * 100 ms: a peak between two is missed, so under load the figure is a close lower bound (the
 * heap's saw-tooth is sampled hundreds of times).
 */
const [entry, port] = Deno.args;
if (!entry || !port) {
  console.error("Usage: deno run -A dev/serve_function.ts <path to index.ts> <port>");
  Deno.exit(2);
}
const serve = Deno.serve;
const LISTENING = new Uint8Array([...("listening\n")].map((c) => c.charCodeAt(0)));
// deno-lint-ignore no-explicit-any
(Deno as any).serve = (...args: unknown[]) => {
  const handler = args.find((a) => typeof a === "function") as Deno.ServeHandler;
  // "listening" on stdout: the bench sends its first request the moment the port is open,
  // rather than polling for it (a poll's wait would be counted as start-up time).
  const onListen = () => Deno.stdout.writeSync(LISTENING);
  return serve({ hostname: "127.0.0.1", port: Number(port), onListen }, handler);
};
const report = Deno.env.get("SERVE_FUNCTION_ISOLATE_REPORT");
if (report) {
  // Imported only here: a start without a report loads nothing beyond the function itself.
  const { after } = await import("../supabase/functions/_shared/timers.ts");
  // The peak so far is written whenever it grows (after the first second, at most every 250
  // ms), so the file holds it when the process is stopped, without a signal handler.
  let peak = 0;
  let written = 0;
  let writtenAt = 0;
  const sample = () => {
    const { heapUsed, external } = Deno.memoryUsage();
    peak = Math.max(peak, heapUsed + external);
    const now = performance.now();
    if (peak > written && (now < 1000 || now - writtenAt >= 250)) {
      // Written whole, then renamed: a process stopped mid-write leaves the last peak readable.
      Deno.writeTextFileSync(`${report}.part`, JSON.stringify({ peakIsolateBytes: peak }));
      Deno.renameSync(`${report}.part`, report);
      written = peak;
      writtenAt = now;
    }
    // Every 10 ms while the function starts, then every 100 ms: a 10 ms timer's own garbage
    // grows the young generation under load (measured: +4 MB of resident memory).
    const period = performance.now() < 1000 ? 10 : 100;
    after(period, sample);
  };
  sample();
}
await import(new URL(entry, `file://${Deno.cwd()}/`).href);
