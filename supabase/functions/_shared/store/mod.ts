/**
 * The store: everything Auth.js persists, as one interface with one implementation per
 * driver. `sql` (default) talks to Postgres directly; further drivers implement the same
 * interface and pass the same conformance suite (`tests/store_conformance_test.ts`).
 *
 * @example
 * ```ts
 * const store = createStore(config);
 * const user = await store.getUserByEmail("ada@example.com");
 * ```
 */
import type { Adapter } from "@auth/core/adapters";
import type { AppConfig } from "../config.ts";
import { createSqlStore } from "./sql.ts";

type AdapterMethods = Required<
  Pick<
    Adapter,
    | "createUser"
    | "getUser"
    | "getUserByEmail"
    | "getUserByAccount"
    | "updateUser"
    | "deleteUser"
    | "linkAccount"
    | "unlinkAccount"
    | "getAccount"
    | "createSession"
    | "getSessionAndUser"
    | "updateSession"
    | "deleteSession"
    | "createVerificationToken"
    | "useVerificationToken"
    | "getAuthenticator"
    | "createAuthenticator"
    | "listAuthenticatorsByUserId"
    | "updateAuthenticatorCounter"
  >
>;

/** The full Auth.js `Adapter`, every method present, plus lifecycle. */
export interface Store extends AdapterMethods {
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

const stores = new Map<string, Store>();

/**
 * The store for a configuration. One per database URL per isolate: the local gateway runs
 * every function in one process, and each function would otherwise open its own pool.
 */
export function createStore(
  config: Pick<AppConfig, "databaseUrl" | "databasePrepare" | "databasePoolSize">,
): Store {
  const key = `${config.databaseUrl}|${config.databasePrepare}|${config.databasePoolSize}`;
  let store = stores.get(key);
  if (!store) {
    const created = createSqlStore({
      url: config.databaseUrl,
      prepare: config.databasePrepare,
      max: config.databasePoolSize,
    });
    store = {
      ...created,
      close() {
        stores.delete(key);
        return created.close();
      },
    };
    stores.set(key, store);
  }
  return store;
}
