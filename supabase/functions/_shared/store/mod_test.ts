/**
 * The lazy store `createStore` returns: the same methods as the drivers, part by part, and
 * nothing loaded or opened before the first call. (Every functional test goes through it.)
 */
import assert from "node:assert/strict";
import { createStore, lazyStore } from "./mod.ts";
import { createRestStore } from "./rest.ts";
import { createSqlStore } from "./sql.ts";

const keys = (o: object) => Object.keys(o).sort();

Deno.test("the lazy store forwards exactly the drivers' methods", async () => {
  const sql = createSqlStore({ url: "postgres://nobody@127.0.0.1:1/none" });
  const rest = createRestStore({ url: "http://127.0.0.1:1", serviceRoleKey: "unused" });
  const lazy = lazyStore(() => Promise.resolve(sql));
  for (const driver of [sql, rest]) {
    assert.deepEqual(keys(lazy), keys(driver));
    assert.deepEqual(keys(lazy.passwords), keys(driver.passwords));
    assert.deepEqual(keys(lazy.mfa), keys(driver.mfa));
  }
  await Promise.all([sql.close(), rest.close()]);
});

Deno.test("the driver is made on the first call, once; close() before it is a no-op", async () => {
  let made = 0;
  const calls: unknown[][] = [];
  const fake = {
    getUser: (...args: unknown[]) => (calls.push(args), Promise.resolve(null)),
    passwords: { findByEmail: (email: string) => Promise.resolve({ email }) },
    close: () => Promise.resolve(),
  };
  const lazy = lazyStore(() => (made++, Promise.resolve(fake as never)));
  await lazy.close();
  assert.equal(made, 0);
  await Promise.all([lazy.getUser("a"), lazy.getUser("b")]);
  assert.deepEqual(await lazy.passwords.findByEmail("x@example.com"), { email: "x@example.com" });
  assert.equal(made, 1);
  assert.deepEqual(calls, [["a"], ["b"]]);
});

Deno.test("createStore opens nothing until asked", async () => {
  const store = createStore({
    databaseUrl: "postgres://nobody@127.0.0.1:1/none",
    databasePrepare: true,
    databasePoolSize: 1,
    databaseTimeoutMs: 500,
  });
  await store.close();
});
