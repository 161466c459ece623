/**
 * Timers that do not load Node compatibility. Under Deno 2.9 the global `setTimeout` is
 * `node:timers`' (it returns a `Timeout` object): its first call loads Node's timer, error and
 * inspection internals — measured ~6 ms and ~3 MB in a fresh isolate — which the session
 * function would otherwise pay on its first database query. `AbortSignal.timeout` is the web
 * platform's own timer; Deno never lets it hold the process open.
 *
 * @example
 * ```ts
 * after(50, () => console.log("50 ms later"));
 * const deadlines = createDeadlines(10_000);
 * const done = deadlines.add(() => reject(new Error("Too slow")));
 * await work();
 * done(); // settled in time: the deadline is dropped
 * ```
 */

/** Calls `fn` once, `ms` milliseconds from now. It cannot be cancelled: `fn` checks its state. */
export function after(ms: number, fn: () => void): void {
  AbortSignal.timeout(ms).addEventListener("abort", fn, { once: true });
}

export interface Deadlines {
  /**
   * Calls `expire` once `timeoutMs` have passed, unless the returned function is called
   * first (then nothing happens).
   */
  add(expire: () => void): () => void;
}

/**
 * Deadlines of one length, for many operations at once, kept by a single timer that runs
 * only while some are pending: one check every quarter of the timeout (at most every
 * second), so an expiry fires between `timeoutMs` and 1.25 × `timeoutMs` after it was added.
 * No timer and no closure per operation outlive it.
 */
export function createDeadlines(timeoutMs: number): Deadlines {
  // All deadlines have the same length: insertion order is expiry order.
  const pending = new Map<object, { at: number; expire: () => void }>();
  const every = Math.max(1, Math.min(1000, timeoutMs / 4));
  let checking = false;

  function check() {
    const now = performance.now();
    for (const [key, entry] of pending) {
      if (entry.at > now) break;
      pending.delete(key);
      entry.expire();
    }
    checking = pending.size > 0;
    if (checking) after(every, check);
  }

  return {
    add(expire) {
      const key = {};
      pending.set(key, { at: performance.now() + timeoutMs, expire });
      if (!checking) {
        checking = true;
        after(every, check);
      }
      return () => pending.delete(key);
    },
  };
}
