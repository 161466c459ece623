/**
 * The session check's statements are prepared once per connection and then only executed,
 * on both of the store's clients (the light client and npm:postgres): counted on the wire, in
 * what the store sends through a TCP proxy to the real database. Unprepared, each lookup is
 * parsed and planned again (and npm:postgres first asks the server to describe it, a round
 * trip more): measured at three times the database's CPU per answer.
 */
import assert from "node:assert/strict";
import { openDatabase } from "../dev/database.ts";
import { startTcpProxy } from "../dev/tcp_proxy.ts";
import { createSqlStore } from "../supabase/functions/_shared/store/sql.ts";
import { SERVER_URL } from "./support/env.ts";

/** Reads the frontend messages of each connection, counting Parse ('P') messages by query. */
function parseCounter() {
  const pending = new Map<number, Uint8Array>();
  const started = new Set<number>();
  const queries: string[] = [];
  const decoder = new TextDecoder();
  return {
    queries,
    observe(chunk: Uint8Array, connection: number) {
      const before = pending.get(connection) ?? new Uint8Array();
      let data = new Uint8Array(before.length + chunk.length);
      data.set(before);
      data.set(chunk, before.length);
      for (;;) {
        const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
        if (!started.has(connection)) {
          // Untyped: an SSLRequest, then the startup message.
          if (data.length < 8) break;
          const length = view.getInt32(0);
          if (data.length < length) break;
          if (view.getInt32(4) !== 80877103) started.add(connection);
          data = data.subarray(length);
          continue;
        }
        if (data.length < 5) break;
        const length = view.getInt32(1);
        if (data.length < 1 + length) break;
        if (data[0] === 0x50) {
          // Parse: statement name, then the query text, each NUL-terminated.
          const body = data.subarray(5, 1 + length);
          const nameEnd = body.indexOf(0);
          queries.push(decoder.decode(body.subarray(nameEnd + 1, body.indexOf(0, nameEnd + 1))));
        }
        data = data.subarray(1 + length);
      }
      pending.set(connection, data);
    },
  };
}

for (const lightClient of [true, false]) {
  const client = lightClient ? "the light client" : "npm:postgres";
  Deno.test(`session statements are parsed once per connection (${client})`, async () => {
    const database = await openDatabase({ serverUrl: SERVER_URL, fresh: true, quiet: true });
    const target = new URL(database.url);
    const counter = parseCounter();
    const proxy = await startTcpProxy({
      targetHost: target.hostname,
      targetPort: Number(target.port || 5432),
      observe: counter.observe,
    });
    const via = new URL(database.url);
    via.port = String(proxy.port);
    const store = createSqlStore({ url: via.href, lightClient, max: 1 });
    try {
      const user = await store.createUser({
        id: crypto.randomUUID(),
        email: "prepared@example.com",
        emailVerified: null,
      });
      const expires = new Date(Date.now() + 3_600_000);
      await store.createSession({ sessionToken: "prepared-token", userId: user.id, expires });
      for (let i = 0; i < 5; i++) {
        const found = await store.getSessionAndUser("prepared-token");
        assert.equal(found?.user.id, user.id);
        await store.updateSession({ sessionToken: "prepared-token", expires });
      }
      assert.equal(await store.getSessionAndUser("no-such-token"), null);
      const lookups = counter.queries.filter((q) => q.includes("jsonb_array_elements_text"));
      assert.equal(lookups.length, 1, `the lookup was parsed ${lookups.length} times for 6 calls`);
      const extends_ = counter.queries.filter((q) => /^\s*update next_auth\.sessions/.test(q));
      assert.equal(extends_.length, 1, `the extension was parsed ${extends_.length} times for 5`);
    } finally {
      await store.close();
      await proxy.stop();
      await database.close();
    }
  });
}
