/**
 * Serves the demo frontend (`examples/web`) on an origin of its own, with the client SDK
 * bundled from `shared/client.ts` at start (nothing generated is committed) and
 * `/config.json` telling the page where the functions are.
 *
 * @example
 * ```ts
 * const web = await startFrontend({ port: 54323, functionsUrl: () => stack.functionsUrl });
 * console.log(web.url);
 * ```
 */
const ROOT = new URL("../examples/web/", import.meta.url);
const SDK = new URL("../shared/client.ts", import.meta.url);

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

export interface FrontendOptions {
  port?: number;
  /** The host name in the printed URL (it listens on 127.0.0.1). */
  hostname?: string;
  /** Serve over https with this certificate (PEM). */
  tls?: { cert: string; key: string };
  /** Read on each request: the stack knows its URL only after its gateway listens. */
  functionsUrl: () => string;
}

export interface Frontend {
  url: string;
  stop(): Promise<void>;
}

/** Bundles the SDK into one ESM file a `<script type="module">` imports. */
export async function bundleSdk(): Promise<string> {
  const out = await Deno.makeTempFile({ suffix: ".js" });
  try {
    const { success, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "browser", "-o", out, SDK.pathname],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) {
      throw new Error(`Cannot bundle the SDK: ${new TextDecoder().decode(stderr)}`);
    }
    return await Deno.readTextFile(out);
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}

export async function startFrontend(options: FrontendOptions): Promise<Frontend> {
  const sdk = await bundleSdk();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    onListen: () => {},
    ...options.tls,
  }, async (req) => {
    const path = new URL(req.url).pathname;
    const headers = { "Cache-Control": "no-store" };
    if (path === "/sdk.js") {
      return new Response(sdk, { headers: { ...headers, "Content-Type": TYPES[".js"]! } });
    }
    if (path === "/config.json") {
      return Response.json({ functionsUrl: options.functionsUrl() }, { headers });
    }
    const file = path === "/" ? "index.html" : path.slice(1);
    if (!/^[a-z0-9_-]+\.(html|js|css)$/.test(file)) {
      return new Response("Not found", { status: 404 });
    }
    try {
      const body = await Deno.readFile(new URL(file, ROOT));
      const type = TYPES[file.slice(file.lastIndexOf("."))]!;
      return new Response(body, { headers: { ...headers, "Content-Type": type } });
    } catch {
      return new Response("Not found", { status: 404 });
    }
  });
  const scheme = options.tls ? "https" : "http";
  return {
    url: `${scheme}://${options.hostname ?? "127.0.0.1"}:${server.addr.port}`,
    stop: () => server.shutdown(),
  };
}
