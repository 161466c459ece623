/**
 * Database-session lookups, batched while the database is busy: the first lookup goes out at
 * once (no added latency when the isolate is quiet); lookups that arrive while `maxInFlight`
 * queries are already out wait for the next free slot and then go out together, as one
 * `getSessionsAndUsers` query. Under load, one round trip and one statement answer many page
 * views; a waiting lookup never waits for more than the query ahead of it.
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

export interface SessionLookupOptions {
  /** Queries out at once (at most the pool's size is useful). Default 2. */
  maxInFlight?: number;
  /** Tokens per query. Default 200. */
  maxBatch?: number;
}

/** Longer than any database session token this project (or Auth.js) makes. */
export const MAX_SESSION_TOKEN_LENGTH = 512;

interface Waiter {
  resolve(found: SessionAndUser | null): void;
  reject(error: unknown): void;
}

export function createSessionLookup(
  store: Pick<Store, "getSessionsAndUsers">,
  { maxInFlight = 2, maxBatch = 200 }: SessionLookupOptions = {},
): (sessionToken: string) => Promise<SessionAndUser | null> {
  let waiting = new Map<string, Waiter[]>();
  let inFlight = 0;

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
      if (waiting.size > 0) send();
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
      if (inFlight < maxInFlight) send();
    });
}
