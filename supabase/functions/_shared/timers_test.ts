/** The timers that avoid Node compatibility: they fire, once, on time, and can be dropped. */
import assert from "node:assert/strict";
import { after, createDeadlines } from "./timers.ts";

const sleep = (ms: number) => new Promise((resolve) => after(ms, () => resolve(undefined)));

Deno.test("after() calls back once, no sooner than asked", async () => {
  const start = performance.now();
  let calls = 0;
  await new Promise<void>((resolve) =>
    after(30, () => {
      calls++;
      resolve();
    })
  );
  assert.ok(performance.now() - start >= 29, "not early");
  await sleep(40);
  assert.equal(calls, 1);
});

Deno.test("deadlines expire between the timeout and 1.25x it; settled ones never do", async () => {
  const deadlines = createDeadlines(80);
  const start = performance.now();
  const expired: string[] = [];
  const at: number[] = [];
  const expire = (name: string) => () => {
    expired.push(name);
    at.push(performance.now() - start);
  };
  deadlines.add(expire("first"));
  const settle = deadlines.add(expire("settled"));
  await sleep(20);
  deadlines.add(expire("second"));
  settle();
  await sleep(200);
  assert.deepEqual(expired, ["first", "second"], "in order, each once, the settled one never");
  assert.ok(at[0]! >= 79 && at[0]! < 80 * 1.25 + 40, `first after ${at[0]} ms`);
  assert.ok(at[1]! >= 99, `second after ${at[1]} ms`);

  // Idle, then used again: the single timer starts again.
  let late = false;
  deadlines.add(() => (late = true));
  await sleep(150);
  assert.ok(late, "a deadline added after an idle spell still expires");
});
