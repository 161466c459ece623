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
import type {
  AdapterAccount,
  AdapterAuthenticator,
  AdapterSession,
  AdapterUser,
  VerificationToken,
} from "@auth/core/adapters";
import type { AppConfig } from "../config.ts";

import type { MfaStore } from "./mfa.ts";
import type { PasswordStore } from "./passwords.ts";

export type { PasswordStore, PasswordUser } from "./passwords.ts";
export type { MfaFactor, MfaStatus, MfaStore } from "./mfa.ts";

/** A database session joined with its user. */
export interface SessionAndUser {
  session: AdapterSession;
  user: AdapterUser;
}

/**
 * The full Auth.js `Adapter`, every method present and returning a Promise (Auth.js allows
 * plain values and optional methods; a store here never does), plus lifecycle.
 */
export interface Store {
  createUser(user: AdapterUser): Promise<AdapterUser>;
  getUser(id: string): Promise<AdapterUser | null>;
  getUserByEmail(email: string): Promise<AdapterUser | null>;
  getUserByAccount(
    key: Pick<AdapterAccount, "provider" | "providerAccountId">,
  ): Promise<AdapterUser | null>;
  updateUser(
    user: Partial<AdapterUser> & Pick<AdapterUser, "id">,
  ): Promise<AdapterUser>;
  /** Also removes the user's sessions, accounts, authenticators and pending sign-in links. */
  deleteUser(userId: string): Promise<AdapterUser | null>;
  linkAccount(account: AdapterAccount): Promise<AdapterAccount>;
  unlinkAccount(
    key: Pick<AdapterAccount, "provider" | "providerAccountId">,
  ): Promise<AdapterAccount | undefined>;
  getAccount(
    providerAccountId: string,
    provider: string,
  ): Promise<AdapterAccount | null>;
  createSession(session: AdapterSession): Promise<AdapterSession>;
  /**
   * One round trip: the session joined with its user. The `sql` driver adds to the session
   * what the second factor needs, only where set: `aal: "aal2"`, `amr`, and `mfa: true` when
   * the user has a confirmed factor (see `assurance.ts`).
   */
  getSessionAndUser(sessionToken: string): Promise<SessionAndUser | null>;
  /**
   * Many sessions in one round trip (the fast session path batches concurrent lookups):
   * the found ones, keyed by session token, as `getSessionAndUser` gives each; unknown tokens
   * are simply absent.
   */
  getSessionsAndUsers(sessionTokens: readonly string[]): Promise<Map<string, SessionAndUser>>;
  updateSession(
    session: Partial<AdapterSession> & Pick<AdapterSession, "sessionToken">,
  ): Promise<AdapterSession | null>;
  deleteSession(sessionToken: string): Promise<AdapterSession | null>;
  createVerificationToken(token: VerificationToken): Promise<VerificationToken>;
  /** Atomic: of concurrent uses of one token, exactly one gets it. */
  useVerificationToken(
    key: { identifier: string; token: string },
  ): Promise<VerificationToken | null>;
  getAuthenticator(credentialID: string): Promise<AdapterAuthenticator | null>;
  createAuthenticator(
    authenticator: AdapterAuthenticator,
  ): Promise<AdapterAuthenticator>;
  listAuthenticatorsByUserId(userId: string): Promise<AdapterAuthenticator[]>;
  updateAuthenticatorCounter(
    credentialID: string,
    newCounter: number,
  ): Promise<AdapterAuthenticator>;
  /**
   * Passkeys: the account row and the authenticator of a new passkey, written together
   * (Auth.js writes them one after the other; a failure between would leave half a passkey).
   */
  createPasskey(
    account: AdapterAccount,
    authenticator: AdapterAuthenticator,
  ): Promise<AdapterAuthenticator>;
  /** A user's passkeys as they may see them (never the public key), newest first. */
  listPasskeys(userId: string): Promise<PasskeyInfo[]>;
  /**
   * Removes one of the user's passkeys and its account row together. Only that user's rows
   * can match; false when they have no such passkey.
   */
  deletePasskey(userId: string, credentialID: string): Promise<boolean>;
  /** The password flow's hashes and tokens (beside Auth.js's tables, same connection). */
  passwords: PasswordStore;
  /** The second factor's factors, recovery codes and database-session assurance. */
  mfa: MfaStore;

  /** Token mode: keeps a one-time code (by its hash) until it is exchanged or expires. */
  createTokenCode(code: TokenCode): Promise<void>;
  /**
   * Atomic: removes and returns the unexpired code with this hash; of concurrent exchanges
   * exactly one gets it. Expired codes are swept on the way.
   */
  consumeTokenCode(codeHash: string): Promise<TokenCode | null>;
  /**
   * Counts one hit against a rate-limit rule in one atomic statement: the window starts at
   * the key's first hit and lasts `windowSec`; `hits` includes this one.
   */
  hitRateLimit(
    hit: { bucket: string; key: string; windowSec: number },
  ): Promise<{ hits: number; retryAfterSec: number }>;
  /** Appends one event to `next_auth.audit_log`. */
  appendAudit(entry: AuditEntry): Promise<void>;
  /** Session management: records the device a new database session was created from. */
  describeSession(sessionToken: string, device: SessionDevice): Promise<void>;
  /** A user's live database sessions, most recently seen first. */
  listSessions(userId: string): Promise<SessionInfo[]>;
  /**
   * Deletes a user's sessions: the one with `id`, or every one but `exceptId`. Only that
   * user's rows can match; returns how many went.
   */
  revokeSessions(userId: string, which: { id: string } | { exceptId: string }): Promise<number>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

export interface SessionDevice {
  userAgent?: string | null;
  ip?: string | null;
}

/** A session as its owner may see it: never its token. */
export interface SessionInfo extends SessionDevice {
  id: string;
  createdAt: Date;
  /** When the session was last extended (at most Auth.js's `updateAge` apart while in use). */
  lastSeenAt: Date;
  expires: Date;
}

/** A passkey as its owner may see it: never its public key. */
export interface PasskeyInfo {
  /** As Auth.js stores it (standard base64). */
  credentialID: string;
  /** `singleDevice` or `multiDevice` (synced, e.g. through a password manager). */
  deviceType: string;
  backedUp: boolean;
  transports: string[];
  createdAt: Date;
  /** The last sign-in with it; null until the first. */
  lastUsedAt: Date | null;
}

/** A token-mode code as stored: never the code itself, only its hash. */
export interface TokenCode {
  codeHash: string;
  /** The PKCE S256 challenge the exchange must answer. */
  codeChallenge: string;
  /** The origin (or `scheme:` for native apps) the code was sent to. */
  redirectOrigin: string;
  /** The session the code stands for, encrypted. */
  session: string;
  expires: Date;
}

/** One row of `next_auth.audit_log`, as the functions write it (never tokens or secrets). */
export interface AuditEntry {
  event: string;
  userId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  provider?: string | null;
  detail?: Record<string, string | number | boolean | null>;
}

const stores = new Map<string, Store>();

/**
 * The store for a configuration: `AUTH_STORE=sql` (default) or `rest`. One per database
 * URL (or API URL) per isolate: the local gateway runs every function in one process, and
 * each function would otherwise open its own pool.
 */
export function createStore(
  config:
    & Pick<
      AppConfig,
      "databaseUrl" | "databasePrepare" | "databasePoolSize"
    >
    & Partial<
      Pick<AppConfig, "storeDriver" | "rest" | "databaseTimeoutMs" | "databaseLightClient">
    >,
): Store {
  const rest = config.storeDriver === "rest" ? config.rest : undefined;
  const key = rest
    ? `rest|${rest.url}`
    : `${config.databaseUrl}|${config.databasePrepare}|${config.databasePoolSize}|${config.databaseTimeoutMs}|${config.databaseLightClient}`;
  let store = stores.get(key);
  if (!store) {
    // The driver's modules (~80 KB of code) load on the store's first call, not at start-up:
    // a function answering JWT sessions may never need them.
    const created = lazyStore(() =>
      rest
        ? import("./rest.ts").then((m) => m.createRestStore(rest))
        : import("./sql.ts").then((m) =>
          m.createSqlStore({
            url: config.databaseUrl,
            prepare: config.databasePrepare,
            max: config.databasePoolSize,
            timeoutMs: config.databaseTimeoutMs,
            lightClient: config.databaseLightClient,
          })
        )
    );
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

type Parts = "passwords" | "mfa";
type Methods<T> = {
  [K in keyof T]: T[K] extends (...args: never[]) => unknown ? K : never;
}[keyof T];

/** Every method of a store, part by part: what `lazyStore` forwards. */
export const STORE_METHODS = {
  store: [
    "createUser",
    "getUser",
    "getUserByEmail",
    "getUserByAccount",
    "updateUser",
    "deleteUser",
    "linkAccount",
    "unlinkAccount",
    "getAccount",
    "createSession",
    "getSessionAndUser",
    "getSessionsAndUsers",
    "updateSession",
    "deleteSession",
    "createVerificationToken",
    "useVerificationToken",
    "getAuthenticator",
    "createAuthenticator",
    "listAuthenticatorsByUserId",
    "updateAuthenticatorCounter",
    "createPasskey",
    "listPasskeys",
    "deletePasskey",
    "createTokenCode",
    "consumeTokenCode",
    "hitRateLimit",
    "appendAudit",
    "describeSession",
    "listSessions",
    "revokeSessions",
  ],
  passwords: [
    "findByEmail",
    "createUserWithPassword",
    "createToken",
    "verifyEmail",
    "resetPassword",
    "updateHash",
  ],
  mfa: [
    "isEnrolled",
    "status",
    "getFactor",
    "startEnrollment",
    "confirmEnrollment",
    "useStep",
    "resealSecret",
    "useRecoveryCode",
    "replaceRecoveryCodes",
    "removeFactor",
    "setSessionAssurance",
  ],
} as const satisfies {
  store: readonly Exclude<Methods<Store>, "close">[];
  passwords: readonly Methods<PasswordStore>[];
  mfa: readonly Methods<MfaStore>[];
};

// A method added to an interface and not to the lists above fails type checking here.
type Unlisted =
  | Exclude<Methods<Omit<Store, Parts | "close">>, (typeof STORE_METHODS.store)[number]>
  | Exclude<Methods<PasswordStore>, (typeof STORE_METHODS.passwords)[number]>
  | Exclude<Methods<MfaStore>, (typeof STORE_METHODS.mfa)[number]>;
const everyMethodListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyMethodListed;

/**
 * A store whose driver is made on its first call: each method waits for it, then calls the
 * driver's. `close()` before any call has nothing to close.
 */
export function lazyStore(load: () => Promise<Store>): Store {
  let driver: Promise<Store> | undefined;
  const forward = (part: (store: Store) => object, names: readonly string[]) =>
    Object.fromEntries(names.map((name) => [name, async (...args: unknown[]) => {
      const target = part(await (driver ??= load())) as Record<
        string,
        (...a: unknown[]) => unknown
      >;
      return await target[name]!.apply(target, args);
    }]));
  return {
    ...forward((store) => store, STORE_METHODS.store),
    passwords: forward((store) => store.passwords, STORE_METHODS.passwords),
    mfa: forward((store) => store.mfa, STORE_METHODS.mfa),
    async close() {
      if (driver) await (await driver).close();
    },
  } as unknown as Store;
}
