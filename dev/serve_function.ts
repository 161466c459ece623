/**
 * Runs one function's real entry point (`supabase/functions/<name>/index.ts`) in a process
 * of its own, listening on a given port — one isolate per function, as the edge runtime
 * runs them. Used by the benchmark to measure each function alone.
 *
 * Usage: `deno run -A dev/serve_function.ts <path to index.ts> <port>`
 *
 * With `SERVE_FUNCTION_ISOLATE_REPORT=<file>`, it also samples every 10 ms what the Supabase
 * edge runtime counts against a function's memory limit — the isolate's used heap plus its
 * external memory (edge-runtime `MemCheck::check`), not the process's resident memory — and
 * on SIGTERM writes the peak (bytes, JSON) to that file before exiting.
 */
const [entry, port] = Deno.args;
if (!entry || !port) {
  console.error("Usage: deno run -A dev/serve_function.ts <path to index.ts> <port>");
  Deno.exit(2);
}
const serve = Deno.serve;
// deno-lint-ignore no-explicit-any
(Deno as any).serve = (...args: unknown[]) => {
  const handler = args.find((a) => typeof a === "function") as Deno.ServeHandler;
  return serve({ hostname: "127.0.0.1", port: Number(port), onListen: () => {} }, handler);
};
const report = Deno.env.get("SERVE_FUNCTION_ISOLATE_REPORT");
if (report) {
  let peak = 0;
  const sample = () => {
    const { heapUsed, external } = Deno.memoryUsage();
    peak = Math.max(peak, heapUsed + external);
    AbortSignal.timeout(10).addEventListener("abort", sample, { once: true });
  };
  sample();
  Deno.addSignalListener("SIGTERM", () => {
    sample();
    Deno.writeTextFileSync(report, JSON.stringify({ peakIsolateBytes: peak }));
    Deno.exit(0);
  });
}
await import(new URL(entry, `file://${Deno.cwd()}/`).href);
