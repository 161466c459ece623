/**
 * A TCP proxy that can cut the line: the fault tests put it between the functions and the
 * database (PGlite or PostgreSQL alike) and take the database "away" — open connections
 * reset, new ones refused — then bring it back, without stopping any server.
 *
 * @example
 * ```ts
 * const proxy = await startTcpProxy({ targetHost: "127.0.0.1", targetPort: 5432 });
 * // connect to 127.0.0.1:${proxy.port} ...
 * proxy.cut();      // the database is gone
 * await proxy.restore();  // and back
 * await proxy.stop();
 * ```
 *
 * `observe` sees what clients send (a copy of each chunk, with the connection's number), for
 * tests that check what goes over the wire.
 */

export interface TcpProxy {
  port: number;
  /** Resets every open connection and stops listening (connections refused) until `restore()`. */
  cut(): void;
  /** Listens again (resolves once it does). */
  restore(): Promise<void>;
  /** How many times `cut()` took the line down. */
  readonly faults: number;
  /** Connections accepted so far (including those refused while cut). */
  readonly connections: number;
  stop(): Promise<void>;
}

export function startTcpProxy(
  { targetHost, targetPort, port = 0, observe }: {
    targetHost: string;
    targetPort: number;
    port?: number;
    observe?: (chunk: Uint8Array, connection: number) => void;
  },
): Promise<TcpProxy> {
  const open = new Set<Deno.Conn>();
  let listener: Deno.Listener | undefined;
  let faults = 0;
  let connections = 0;

  const close = (conn: Deno.Conn) => {
    open.delete(conn);
    try {
      conn.close();
    } catch {
      // already closed
    }
  };

  async function pump(from: Deno.Conn, to: Deno.Conn, seen?: (chunk: Uint8Array) => void) {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        seen?.(buffer.slice(0, n));
        for (let offset = 0; offset < n;) {
          offset += await to.write(buffer.subarray(offset, n));
        }
      }
    } catch {
      // one side went away: end both
    } finally {
      close(from);
      close(to);
    }
  }

  async function serve(client: Deno.Conn) {
    const number = ++connections;
    open.add(client);
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect({ hostname: targetHost, port: targetPort });
    } catch {
      return close(client);
    }
    if (!open.has(client)) return close(upstream);
    open.add(upstream);
    const seen = observe && ((chunk: Uint8Array) => observe(chunk, number));
    await Promise.all([pump(client, upstream, seen), pump(upstream, client)]);
  }

  // While cut, nothing listens: clients get "connection refused", as from a stopped server.
  function listen(at: number) {
    const current = Deno.listen({ hostname: "127.0.0.1", port: at });
    listener = current;
    (async () => {
      for await (const conn of current) void serve(conn);
    })().catch(() => {});
    return (current.addr as Deno.NetAddr).port;
  }

  function unlisten() {
    try {
      listener?.close();
    } catch {
      // already closed
    }
    listener = undefined;
  }

  const boundPort = listen(port);
  return Promise.resolve({
    port: boundPort,
    cut() {
      if (!listener) return;
      faults++;
      unlisten();
      for (const conn of [...open]) close(conn);
    },
    async restore() {
      // A closed listener's socket is released once its pending accept has been cancelled, a
      // turn or two of the event loop later: until then the port reads as in use.
      for (let attempt = 0; !listener; attempt++) {
        try {
          listen(boundPort);
        } catch (error) {
          if (!(error instanceof Deno.errors.AddrInUse) || attempt >= 100) throw error;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    },
    get faults() {
      return faults;
    },
    get connections() {
      return connections;
    },
    stop() {
      unlisten();
      for (const conn of [...open]) close(conn);
      return Promise.resolve();
    },
  });
}
