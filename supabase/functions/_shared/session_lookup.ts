/**
 * Database-session lookups, batched while the database is busy: the first lookup goes out at
 * once (no added latency when the isolate is quiet); lookups that arrive while a query is out
 * wait for it to come back and then go out together, as one `getSessionsAndUsers` query. Under
 * load, one round trip and one statement answer many page views. A query that is slow to come
 * back (out for `overlapAfterMs`) does not hold the others up: the next goes out beside it, up
 * to `maxInFlight` at once.
 *
 * Why not always send beside the query that is out: every query costs a socket write (on this
 * project's development machine, ~20% of the function's CPU under load) and a statement's
 * overhead in Postgres; waiting for the one out made batches about twice as large, answered
 * 10–15% more requests per second and cost Postgres ~25% less CPU per answer (docs/performance.md).
 *
 * Nothing is cached: every answer comes from a query sent after the lookup was asked for, so a
 * revoked session is refused as soon as the revocation has committed. Equal tokens asked for
 * in the same batch share one row.
 *
 * @example
 * ```ts
 * const lookup = createSessionLookup(store);
 * const found = await lookup(sessionToken); // { session, user } or null
 * ```
 */
import type { SessionAndUser, Store } from "./store/mod.ts";
import { after } from "./timers.ts";

export interface SessionLookupOptions {
  /** Queries out at once (at most the pool's size is useful). Default 2. */
  maxInFlight?: number;
  /** Tokens per query. Default 200. */
  maxBatch?: number;
  /**
   * How long the newest query may be out before the next goes out beside it rather than after
   * it. Default 2 ms (a batch's round trip to a database in the same region takes less).
   */
  overlapAfterMs?: number;
}

/** Longer than any database session token this project (or Auth.js) makes. */
export const MAX_SESSION_TOKEN_LENGTH = 512;

interface Waiter {
  resolve(found: SessionAndUser | null): void;
  reject(error: unknown): void;
}

export function createSessionLookup(
  store: Pick<Store, "getSessionsAndUsers">,
  { maxInFlight = 2, maxBatch = 200, overlapAfterMs = 2 }: SessionLookupOptions = {},
): (sessionToken: string) => Promise<SessionAndUser | null> {
  let waiting = new Map<string, Waiter[]>();
  let inFlight = 0;
  /** When the newest query went out (performance.now()). */
  let lastSentAt = 0;
  let overlapCheck = false;

  /** Sends what waits, now or when the newest query has been out for `overlapAfterMs`. */
  function sendWhenDue() {
    if (waiting.size === 0 || inFlight >= maxInFlight) return;
    const out = performance.now() - lastSentAt;
    if (inFlight === 0 || out >= overlapAfterMs) return send();
    if (overlapCheck) return;
    overlapCheck = true;
    after(overlapAfterMs - out, () => {
      overlapCheck = false;
      sendWhenDue();
    });
  }

  function send() {
    const tokens: string[] = [];
    const batch = new Map<string, Waiter[]>();
    for (const [token, waiters] of waiting) {
      if (tokens.length === maxBatch) break;
      tokens.push(token);
      batch.set(token, waiters);
    }
    if (batch.size === waiting.size) waiting = new Map();
    else for (const token of tokens) waiting.delete(token);
    inFlight++;
    lastSentAt = performance.now();
    store.getSessionsAndUsers(tokens).then(
      (found) => {
        for (const [token, waiters] of batch) {
          const entry = found.get(token);
          // Each caller gets objects of its own (callbacks may change what they are given).
          for (const waiter of waiters) {
            waiter.resolve(
              entry ? { session: { ...entry.session }, user: { ...entry.user } } : null,
            );
          }
        }
      },
      (error) => {
        for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
      },
    ).finally(() => {
      inFlight--;
      sendWhenDue();
    });
  }

  return (sessionToken) =>
    new Promise((resolve, reject) => {
      // Database session tokens are short (Auth.js makes UUIDs): a cookie of kilobytes is no
      // session, and need not travel to the database in somebody else's batch.
      if (sessionToken.length > MAX_SESSION_TOKEN_LENGTH) return resolve(null);
      const waiters = waiting.get(sessionToken);
      if (waiters) waiters.push({ resolve, reject });
      else waiting.set(sessionToken, [{ resolve, reject }]);
      sendWhenDue();
    });
}
