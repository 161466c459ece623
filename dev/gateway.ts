/**
 * A local stand-in for Supabase's function router: `/functions/v1/<name>/...` goes to the
 * function `<name>` with the prefix stripped, on an internal host, exactly as a deployed
 * function sees it.
 *
 * @example
 * ```ts
 * const gateway = createGateway({ resolve: (name) => handlers.get(name) });
 * Deno.serve({ port: 54321 }, gateway);
 * ```
 */

export type FunctionHandler = (req: Request) => Response | Promise<Response>;

export interface GatewayOptions {
  /** The handler for a function name, or undefined when there is no such function. */
  resolve(
    name: string,
  ): FunctionHandler | undefined | Promise<FunctionHandler | undefined>;
  prefix?: string;
}

/** What a deployed function sees as its host: not the public one (like `http://kong:8000`). */
export const INTERNAL_ORIGIN = "http://edge-runtime.internal";

export function createGateway(
  { resolve, prefix = "/functions/v1" }: GatewayOptions,
): (req: Request, info?: Deno.ServeHandlerInfo) => Promise<Response> {
  return async (req, info) => {
    const url = new URL(req.url);
    const match = url.pathname.startsWith(`${prefix}/`)
      ? url.pathname.slice(prefix.length + 1).split("/")[0]
      : undefined;
    const handler = match ? await resolve(match) : undefined;
    if (!match || !handler) {
      return Response.json(
        {
          error: "function_not_found",
          message: "Requested function was not found",
        },
        { status: 404 },
      );
    }
    const internal = new URL(
      url.pathname.slice(prefix.length) + url.search,
      INTERNAL_ORIGIN,
    );
    // Like Supabase's proxy: the client's address is appended to X-Forwarded-For.
    const headers = new Headers(req.headers);
    const remote = info?.remoteAddr;
    if (remote && "hostname" in remote) {
      const forwarded = headers.get("X-Forwarded-For");
      headers.set(
        "X-Forwarded-For",
        forwarded ? `${forwarded}, ${remote.hostname}` : remote.hostname,
      );
    }
    try {
      return await handler(new Request(internal, { ...forwardInit(req), headers }));
    } catch {
      // A deployed function that throws gets a generic 500 from the runtime too.
      return Response.json(
        { error: "function_crashed", message: "The function failed to answer" },
        { status: 500 },
      );
    }
  };
}

function forwardInit(req: Request): RequestInit {
  return {
    method: req.method,
    body: req.body,
    redirect: req.redirect,
    // Required by fetch's Request when the body is a stream.
    ...(req.body ? { duplex: "half" } : {}),
  } as RequestInit;
}

/** The deployable functions: folders of `supabase/functions` with an `index.ts`, not `_shared`. */
export function listFunctions(functionsDir: URL): string[] {
  const names: string[] = [];
  for (const entry of Deno.readDirSync(functionsDir)) {
    if (
      !entry.isDirectory || entry.name.startsWith("_") ||
      entry.name.startsWith(".")
    ) continue;
    try {
      Deno.statSync(new URL(`${entry.name}/index.ts`, functionsDir));
      names.push(entry.name);
    } catch {
      // not a function
    }
  }
  return names.sort();
}

/**
 * Loads a function's real entry point (`index.ts`, which calls `Deno.serve(handler)`) and
 * captures the handler instead of listening, so one process serves every function.
 */
export async function loadFunctionEntry(
  functionsDir: URL,
  name: string,
): Promise<FunctionHandler> {
  const entry = new URL(`${name}/index.ts`, functionsDir);
  const serve = Deno.serve;
  let captured: FunctionHandler | undefined;
  // deno-lint-ignore no-explicit-any
  (Deno as any).serve = (...args: unknown[]) => {
    const handler = args.find((a) => typeof a === "function") ??
      (args[0] as { handler?: FunctionHandler } | undefined)?.handler;
    captured = handler as FunctionHandler;
    return {
      finished: Promise.resolve(),
      addr: {},
      shutdown: async () => {},
      ref() {},
      unref() {},
    };
  };
  try {
    await import(entry.href);
  } finally {
    // deno-lint-ignore no-explicit-any
    (Deno as any).serve = serve;
  }
  if (!captured) {
    throw new Error(
      `Cannot load function "${name}": it never called Deno.serve`,
    );
  }
  return captured;
}
