/**
 * How lookups are grouped into queries. The store here is a recorder standing in for the
 * database, so the test can hold a query open and see which tokens each query asked for; the
 * real drivers' `getSessionsAndUsers` is covered by the store conformance suite, and the
 * session tests drive this batching over HTTP against the real database.
 */
import assert from "node:assert/strict";
import type { AdapterSession, AdapterUser } from "@auth/core/adapters";
import { createSessionLookup, MAX_SESSION_TOKEN_LENGTH } from "./session_lookup.ts";
import type { SessionAndUser } from "./store/mod.ts";

function recorder(known: string[]) {
  const queries: { tokens: string[]; release: () => void; fail: (e: Error) => void }[] = [];
  const store = {
    getSessionsAndUsers(tokens: readonly string[]) {
      return new Promise<Map<string, SessionAndUser>>((resolve, reject) => {
        const answer = () => {
          const found = new Map<string, SessionAndUser>();
          for (const token of tokens) {
            if (!known.includes(token)) continue;
            found.set(token, {
              session: { sessionToken: token, userId: `u-${token}` } as AdapterSession,
              user: { id: `u-${token}` } as AdapterUser,
            });
          }
          resolve(found);
        };
        queries.push({ tokens: [...tokens], release: answer, fail: reject });
      });
    },
  };
  return { store, queries };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("a quiet isolate sends each lookup at once", async () => {
  const { store, queries } = recorder(["a"]);
  const lookup = createSessionLookup(store);
  const pending = lookup("a");
  assert.deepEqual(queries.map((q) => q.tokens), [["a"]]);
  queries[0]!.release();
  assert.equal((await pending)?.user.id, "u-a");
});

Deno.test("lookups arriving while queries are out go together in the next one", async () => {
  const { store, queries } = recorder(["a", "b", "c", "d"]);
  const lookup = createSessionLookup(store, { maxInFlight: 1 });
  const first = lookup("a");
  const rest = [lookup("b"), lookup("c"), lookup("x"), lookup("c")];
  assert.equal(queries.length, 1, "the others wait while one query is out");
  queries[0]!.release();
  assert.equal((await first)?.user.id, "u-a");
  await tick();
  assert.deepEqual(queries.map((q) => q.tokens), [["a"], ["b", "c", "x"]]);
  queries[1]!.release();
  const [b, c, x, c2] = await Promise.all(rest);
  assert.equal(b?.user.id, "u-b");
  assert.equal(c?.user.id, "u-c");
  assert.equal(x, null);
  assert.deepEqual(c2, c);
  assert.notEqual(c2, c, "callers of one token get objects of their own");
});

Deno.test("a query slow to come back does not hold the next one up", async () => {
  const { store, queries } = recorder(["a", "b", "c"]);
  const lookup = createSessionLookup(store, { maxInFlight: 2, overlapAfterMs: 30 });
  const a = lookup("a");
  const b = lookup("b");
  await tick();
  assert.equal(queries.length, 1, "while the first is quick to answer, the next waits for it");
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(queries.map((q) => q.tokens), [["a"], ["b"]], "then it goes out beside it");
  const c = lookup("c");
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(queries.length, 2, "never more than maxInFlight out at once");
  queries[1]!.release();
  assert.equal((await b)?.user.id, "u-b", "the second answers before the stuck first");
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(queries[2]?.tokens, ["c"]);
  queries[0]!.release();
  queries[2]!.release();
  assert.equal((await a)?.user.id, "u-a");
  assert.equal((await c)?.user.id, "u-c");
});

Deno.test("batches are bounded and a failed query fails only its own callers", async () => {
  const { store, queries } = recorder(["a", "b", "c", "d"]);
  const lookup = createSessionLookup(store, { maxInFlight: 1, maxBatch: 2 });
  const a = lookup("a");
  const others = ["b", "c", "d"].map((t) => lookup(t));
  queries[0]!.fail(new Error("database away"));
  await assert.rejects(a, /database away/);
  await tick();
  assert.deepEqual(queries[1]!.tokens, ["b", "c"]);
  queries[1]!.fail(new Error("still away"));
  await assert.rejects(others[0]!, /still away/);
  await assert.rejects(others[1]!, /still away/);
  await tick();
  assert.deepEqual(queries[2]!.tokens, ["d"]);
  queries[2]!.release();
  assert.equal((await others[2]!)?.user.id, "u-d");
});

Deno.test("a token too long to be a session is no session, and is not sent", async () => {
  const { store, queries } = recorder([]);
  const lookup = createSessionLookup(store);
  assert.equal(await lookup("x".repeat(MAX_SESSION_TOKEN_LENGTH + 1)), null);
  assert.equal(queries.length, 0);
});
