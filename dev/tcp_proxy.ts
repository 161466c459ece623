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
 * proxy.restore();  // and back
 * await proxy.stop();
 * ```
 */

export interface TcpProxy {
  port: number;
  /** Resets every open connection and refuses new ones until `restore()`. */
  cut(): void;
  restore(): void;
  /** How many times `cut()` took the line down. */
  readonly faults: number;
  /** Connections accepted so far (including those refused while cut). */
  readonly connections: number;
  stop(): Promise<void>;
}

export function startTcpProxy(
  { targetHost, targetPort, port = 0 }: {
    targetHost: string;
    targetPort: number;
    port?: number;
  },
): Promise<TcpProxy> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const open = new Set<Deno.Conn>();
  let down = false;
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

  async function pump(from: Deno.Conn, to: Deno.Conn) {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
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
    connections++;
    if (down) return close(client);
    open.add(client);
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect({ hostname: targetHost, port: targetPort });
    } catch {
      return close(client);
    }
    if (down || !open.has(client)) {
      close(upstream);
      return close(client);
    }
    open.add(upstream);
    await Promise.all([pump(client, upstream), pump(upstream, client)]);
  }

  const accepting = (async () => {
    for await (const conn of listener) void serve(conn);
  })().catch(() => {});

  return Promise.resolve({
    port: (listener.addr as Deno.NetAddr).port,
    cut() {
      down = true;
      faults++;
      for (const conn of [...open]) close(conn);
    },
    restore() {
      down = false;
    },
    get faults() {
      return faults;
    },
    get connections() {
      return connections;
    },
    async stop() {
      down = true;
      try {
        listener.close();
      } catch {
        // already closed
      }
      for (const conn of [...open]) close(conn);
      await accepting;
    },
  });
}
