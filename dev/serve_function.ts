/**
 * Runs one function's real entry point (`supabase/functions/<name>/index.ts`) in a process
 * of its own, listening on a given port — one isolate per function, as the edge runtime
 * runs them. Used by the benchmark to measure each function alone.
 *
 * Usage: `deno run -A dev/serve_function.ts <path to index.ts> <port>`
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
await import(new URL(entry, `file://${Deno.cwd()}/`).href);
