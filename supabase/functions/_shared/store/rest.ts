/**
 * The `rest` store driver: `@supabase/supabase-js` over the project's Data API (PostgREST)
 * with the service-role key and `db: { schema: "next_auth" }` — the community adapter's
 * path, for deployments that cannot or will not open a Postgres connection. The schema must
 * be exposed in the project's API settings ("Exposed schemas"); the grants keep it readable
 * by `service_role` only.
 *
 * Every Adapter call is one HTTP request (PostgREST runs it as one statement, so
 * `useVerificationToken`'s `DELETE ... RETURNING` stays atomic); `sql` saves the HTTP hop.
 *
 * @example
 * ```ts
 * const store = createRestStore({ url: "https://<ref>.supabase.co", serviceRoleKey });
 * const user = await store.getUserByEmail("ada@example.com");
 * ```
 */
import type { PostgrestError, SupabaseClient } from "@supabase/supabase-js";
import type {
  AdapterAccount,
  AdapterAuthenticator,
  AdapterSession,
  AdapterUser,
  VerificationToken,
} from "@auth/core/adapters";
import { UnavailableError } from "../errors.ts";
import {
  ACCOUNT_COLUMNS,
  AUTHENTICATOR_COLUMNS,
  isUuid,
  type Row,
  toPasskeyInfo,
  USER_COLUMNS,
} from "./columns.ts";
import { unsupportedMfa } from "./mfa.ts";
import type { PasswordStore, SessionAndUser, Store } from "./mod.ts";

export interface RestStoreOptions {
  /** The project's API URL, e.g. `https://<ref>.supabase.co`. */
  url: string;
  /** Bypasses RLS: server-side only, never shipped to a browser. */
  serviceRoleKey: string;
  /** For tests and proxies; default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

const USER_SELECT = "id, name, email, emailVerified, image";
const SESSION_SELECT = "id, sessionToken, userId, expires";
const TOKEN_SELECT = "identifier, token, expires";
const PASSKEY_SELECT =
  "credentialID, credentialDeviceType, credentialBackedUp, transports, createdAt, lastUsedAt";

/** JSON timestamps (`2026-12-03T16:30:01.123+00:00`) back to the `Date`s Auth.js expects. */
export function parseTimestamp(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  const date = new Date(String(value));
  if (Number.isNaN(date.valueOf())) throw new Error(`Cannot read timestamp "${value}"`);
  return date;
}

/** A `next_auth.users` row as Auth.js's `AdapterUser`. */
export function parseUser(row: Row): AdapterUser {
  return {
    id: row.id as string,
    name: (row.name as string | null) ?? null,
    email: row.email as string,
    emailVerified: parseTimestamp(row.emailVerified),
    image: (row.image as string | null) ?? null,
  };
}

export function parseSession(row: Row): AdapterSession {
  return {
    id: row.id,
    sessionToken: row.sessionToken as string,
    userId: row.userId as string,
    expires: parseTimestamp(row.expires)!,
  } as AdapterSession;
}

/** A session row with its embedded user (`user:users(...)`), or null when either is missing. */
export function sessionAndUser(row: (Row & { user: Row | null }) | null): SessionAndUser | null {
  if (!row?.user) return null;
  const { user, ...session } = row;
  return { session: parseSession(session), user: parseUser(user) };
}

export function parseVerificationToken(row: Row): VerificationToken {
  return {
    identifier: row.identifier as string,
    token: row.token as string,
    expires: parseTimestamp(row.expires)!,
  };
}

/** Accounts leave out what is unset, as Auth.js's optional fields do (and the sql driver). */
export function parseAccount(row: Row): AdapterAccount {
  const out: Row = {};
  for (const [key, value] of Object.entries(row)) {
    if (value !== null) out[key] = key === "expires_at" ? Number(value) : value;
  }
  return out as AdapterAccount;
}

export function parseAuthenticator(row: Row): AdapterAuthenticator {
  return { ...row, counter: Number(row.counter) } as AdapterAuthenticator;
}

/** Only the columns the table has, `Date`s as ISO strings (what PostgREST reads). */
export function serializeRow(source: object, columns: readonly string[]): Row {
  const out: Row = {};
  for (const column of columns) {
    const value = (source as Row)[column];
    if (value === undefined) continue;
    out[column] = value instanceof Date ? value.toISOString() : value;
  }
  return out;
}

/** A PostgREST or network error as a thrown one: unreachable API → 503, else keeps its code. */
export function restError(operation: string, error: PostgrestError): Error {
  // supabase-js reports a failed fetch as an error without a Postgres code.
  if (!error.code && /fetch|network|connect/i.test(error.message)) {
    return new UnavailableError("Cannot reach the Supabase API: try again shortly", {
      cause: error,
    });
  }
  const wrapped = new Error(`Cannot ${operation}: ${error.message}`, { cause: error });
  (wrapped as Error & { code?: string }).code = error.code;
  return wrapped;
}

export function createRestStore(options: RestStoreOptions): Store {
  // supabase-js is loaded on first use: functions on the default `sql` driver never pay for
  // evaluating it at cold start (it takes tens to hundreds of milliseconds).
  let client: Promise<SupabaseClient> | undefined;
  const connect = () =>
    client ??= import("@supabase/supabase-js").then(({ createClient }) =>
      createClient(options.url, options.serviceRoleKey, {
        db: { schema: "next_auth" },
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
        global: {
          headers: { "X-Client-Info": "authjs-supabase-edge" },
          ...(options.fetch ? { fetch: options.fetch } : {}),
        },
      }) as unknown as SupabaseClient
    );
  const table = async (name: string) => (await connect()).schema("next_auth").from(name);

  /** Unwraps `{ data, error }`: the row (rows for lists); null when none matched. */
  async function run<T = Row>(
    operation: string,
    query: PromiseLike<{ data: unknown; error: PostgrestError | null }>,
  ): Promise<T | null> {
    const { data, error } = await query;
    if (error) throw restError(operation, error);
    return (data ?? null) as T | null;
  }

  /** An insert's returned row (`.single()` errors when there is none). */
  async function insert(
    operation: string,
    query: PromiseLike<{ data: unknown; error: PostgrestError | null }>,
  ): Promise<Row> {
    const row = await run(operation, query);
    if (!row) throw new Error(`Cannot ${operation}: no row returned`);
    return row;
  }

  return {
    // The password tables are not exposed through the Data API; loadConfig refuses
    // AUTH_PASSWORD with AUTH_STORE=rest, so this is never reached in a valid deployment.
    passwords: unsupportedPasswords(),
    // Likewise the second factor's tables: loadConfig refuses AUTH_MFA with AUTH_STORE=rest.
    mfa: unsupportedMfa(),
    async createUser(user) {
      const values = serializeRow(user, USER_COLUMNS);
      if (isUuid(user.id)) values.id = user.id;
      values.emailVerified ??= null;
      const row = await insert(
        "create user",
        (await table("users")).insert(values).select(USER_SELECT).single(),
      );
      return parseUser(row);
    },

    async getUser(id) {
      if (!isUuid(id)) return null;
      const row = await run(
        "get user",
        (await table("users")).select(USER_SELECT).eq("id", id).maybeSingle(),
      );
      return row ? parseUser(row) : null;
    },

    async getUserByEmail(email) {
      const row = await run(
        "get user",
        (await table("users")).select(USER_SELECT).eq("email", email).maybeSingle(),
      );
      return row ? parseUser(row) : null;
    },

    async getUserByAccount({ provider, providerAccountId }) {
      // One request: the account with its user embedded through the userId foreign key.
      const row = await run<{ user: Row | null }>(
        "get user by account",
        (await table("accounts")).select(`user:users(${USER_SELECT})`)
          .match({ provider, providerAccountId }).maybeSingle(),
      );
      return row?.user ? parseUser(row.user) : null;
    },

    async updateUser(user) {
      if (!isUuid(user.id)) throw new Error(`Cannot update user: "${user.id}" not found`);
      const values = serializeRow(user, USER_COLUMNS);
      const row = await run(
        "update user",
        Object.keys(values).length
          ? (await table("users")).update(values).eq("id", user.id).select(USER_SELECT)
            .maybeSingle()
          : (await table("users")).select(USER_SELECT).eq("id", user.id).maybeSingle(),
      );
      if (!row) throw new Error(`Cannot update user: "${user.id}" not found`);
      return parseUser(row);
    },

    async deleteUser(id) {
      if (!isUuid(id)) return null;
      // Sessions, accounts and authenticators go with the user (ON DELETE CASCADE).
      const row = await run(
        "delete user",
        (await table("users")).delete().eq("id", id).select(USER_SELECT).maybeSingle(),
      );
      return row ? parseUser(row) : null;
    },

    async linkAccount(account) {
      const row = await insert(
        "link account",
        (await table("accounts")).insert(serializeRow(account, ACCOUNT_COLUMNS)).select().single(),
      );
      return parseAccount(row);
    },

    async unlinkAccount({ provider, providerAccountId }) {
      const row = await run(
        "unlink account",
        (await table("accounts")).delete().match({ provider, providerAccountId }).select()
          .maybeSingle(),
      );
      return row ? parseAccount(row) : undefined;
    },

    async getAccount(providerAccountId, provider) {
      const row = await run(
        "get account",
        (await table("accounts")).select().match({ provider, providerAccountId }).maybeSingle(),
      );
      return row ? parseAccount(row) : null;
    },

    async createSession(session) {
      const row = await insert(
        "create session",
        (await table("sessions")).insert(
          serializeRow(session, ["sessionToken", "userId", "expires"]),
        )
          .select(SESSION_SELECT).single(),
      );
      return parseSession(row);
    },

    async getSessionAndUser(sessionToken) {
      const row = await run<Row & { user: Row | null }>(
        "get session",
        (await table("sessions")).select(`${SESSION_SELECT}, user:users(${USER_SELECT})`)
          .eq("sessionToken", sessionToken).maybeSingle(),
      );
      return sessionAndUser(row);
    },

    async getSessionsAndUsers(sessionTokens) {
      const found = new Map<string, SessionAndUser>();
      if (sessionTokens.length === 0) return found;
      const rows = await run<(Row & { user: Row | null })[]>(
        "get sessions",
        (await table("sessions")).select(`${SESSION_SELECT}, user:users(${USER_SELECT})`)
          .in("sessionToken", [...sessionTokens]),
      );
      for (const row of rows ?? []) {
        const entry = sessionAndUser(row);
        if (entry) found.set(entry.session.sessionToken, entry);
      }
      return found;
    },

    async updateSession(session) {
      const values = serializeRow(session, ["expires", "userId"]);
      const row = await run(
        "update session",
        Object.keys(values).length
          ? (await table("sessions")).update({ ...values, lastSeenAt: new Date().toISOString() })
            .eq("sessionToken", session.sessionToken)
            .select(SESSION_SELECT).maybeSingle()
          : (await table("sessions")).select(SESSION_SELECT).eq(
            "sessionToken",
            session.sessionToken,
          )
            .maybeSingle(),
      );
      return row ? parseSession(row) : null;
    },

    async deleteSession(sessionToken) {
      const row = await run(
        "delete session",
        (await table("sessions")).delete().eq("sessionToken", sessionToken).select(SESSION_SELECT)
          .maybeSingle(),
      );
      return row ? parseSession(row) : null;
    },

    async createVerificationToken(token) {
      const row = await insert(
        "create verification token",
        (await table("verification_tokens")).insert(
          serializeRow(token, ["identifier", "token", "expires"]),
        ).select(TOKEN_SELECT).single(),
      );
      return parseVerificationToken(row);
    },

    async hitRateLimit({ bucket, key, windowSec }) {
      // The same atomic upsert the sql driver runs, as a function PostgREST exposes.
      const rows = await run<{ hits: number; retry_after: number }[]>(
        "hit rate limit",
        (await connect()).schema("next_auth").rpc("hit_rate_limit", {
          p_bucket: bucket,
          p_key: key,
          p_window_sec: windowSec,
        }),
      );
      const row = rows?.[0];
      if (!row) throw new Error("Cannot count a rate-limit hit: no row returned");
      return { hits: row.hits, retryAfterSec: row.retry_after };
    },

    async appendAudit(entry) {
      await run(
        "append audit entry",
        (await table("audit_log")).insert({
          event: entry.event,
          user_id: isUuid(entry.userId) ? entry.userId : null,
          ip: entry.ip ?? null,
          user_agent: entry.userAgent?.slice(0, 512) ?? null,
          provider: entry.provider ?? null,
          detail: entry.detail ?? {},
        }),
      );
    },

    async describeSession(sessionToken, device) {
      await run(
        "describe session",
        (await table("sessions")).update({
          userAgent: device.userAgent?.slice(0, 512) ?? null,
          ip: device.ip ?? null,
        }).eq("sessionToken", sessionToken),
      );
    },

    async listSessions(userId) {
      if (!isUuid(userId)) return [];
      const rows = await run<Row[]>(
        "list sessions",
        (await table("sessions")).select("id, userAgent, ip, createdAt, lastSeenAt, expires")
          .eq("userId", userId).gt("expires", new Date().toISOString())
          .order("lastSeenAt", { ascending: false }),
      );
      return (rows ?? []).map((row) => ({
        id: row.id as string,
        userAgent: (row.userAgent as string | null) ?? null,
        ip: (row.ip as string | null) ?? null,
        createdAt: parseTimestamp(row.createdAt)!,
        lastSeenAt: parseTimestamp(row.lastSeenAt)!,
        expires: parseTimestamp(row.expires)!,
      }));
    },

    async revokeSessions(userId, which) {
      if (!isUuid(userId)) return 0;
      if ("id" in which && !isUuid(which.id)) return 0;
      const query = (await table("sessions")).delete().eq("userId", userId);
      const rows = await run<Row[]>(
        "revoke sessions",
        ("id" in which ? query.eq("id", which.id) : query.neq("id", which.exceptId)).select("id"),
      );
      return rows?.length ?? 0;
    },

    async createTokenCode(code) {
      await run(
        "create token code",
        (await table("token_codes")).insert({
          code_hash: code.codeHash,
          code_challenge: code.codeChallenge,
          redirect_origin: code.redirectOrigin,
          session: code.session,
          expires: code.expires.toISOString(),
        }),
      );
    },

    async consumeTokenCode(codeHash) {
      // One DELETE ... RETURNING: of concurrent exchanges, exactly one gets the row.
      const row = await run(
        "consume token code",
        (await table("token_codes")).delete().eq("code_hash", codeHash)
          .select("code_hash, code_challenge, redirect_origin, session, expires").maybeSingle(),
      ) as Record<string, string> | null;
      if (!row || Date.parse(row.expires!) <= Date.now()) return null;
      return {
        codeHash: row.code_hash!,
        codeChallenge: row.code_challenge!,
        redirectOrigin: row.redirect_origin!,
        session: row.session!,
        expires: new Date(row.expires!),
      };
    },

    async useVerificationToken({ identifier, token }) {
      // One DELETE ... RETURNING: of concurrent uses, exactly one gets the row.
      const row = await run(
        "use verification token",
        (await table("verification_tokens")).delete().match({ identifier, token }).select(
          TOKEN_SELECT,
        )
          .maybeSingle(),
      );
      return row ? parseVerificationToken(row) : null;
    },

    async getAuthenticator(credentialID) {
      const row = await run(
        "get authenticator",
        (await table("authenticators")).select().eq("credentialID", credentialID).maybeSingle(),
      );
      return row ? parseAuthenticator(row) : null;
    },

    async createAuthenticator(authenticator) {
      const row = await insert(
        "create authenticator",
        (await table("authenticators")).insert(serializeRow(authenticator, AUTHENTICATOR_COLUMNS))
          .select().single(),
      );
      return parseAuthenticator(row);
    },

    async listAuthenticatorsByUserId(userId) {
      if (!isUuid(userId)) return [];
      const rows = await run<Row[]>(
        "list authenticators",
        (await table("authenticators")).select().eq("userId", userId).order("credentialID"),
      );
      return (rows ?? []).map(parseAuthenticator);
    },

    async updateAuthenticatorCounter(credentialID, counter) {
      const row = await run(
        "update authenticator counter",
        (await table("authenticators"))
          .update({ counter, lastUsedAt: new Date().toISOString() })
          .eq("credentialID", credentialID)
          .select()
          .maybeSingle(),
      );
      if (!row) {
        throw new Error(`Cannot update authenticator counter: "${credentialID}" not found`);
      }
      return parseAuthenticator(row);
    },

    async createPasskey(account, authenticator) {
      // Both rows in one statement, as the sql driver writes them: a function PostgREST exposes.
      const rows = await run<Row[]>(
        "create passkey",
        (await connect()).schema("next_auth").rpc("create_passkey", {
          p_user_id: authenticator.userId,
          p_type: account.type,
          p_provider: account.provider,
          p_provider_account_id: account.providerAccountId,
          p_credential_id: authenticator.credentialID,
          p_public_key: authenticator.credentialPublicKey,
          p_counter: authenticator.counter,
          p_device_type: authenticator.credentialDeviceType,
          p_backed_up: authenticator.credentialBackedUp,
          p_transports: authenticator.transports ?? null,
        }),
      );
      const row = rows?.[0];
      if (!row) throw new Error("Cannot create passkey: no row returned");
      return parseAuthenticator(row);
    },

    async listPasskeys(userId) {
      if (!isUuid(userId)) return [];
      const rows = await run<Row[]>(
        "list passkeys",
        (await table("authenticators")).select(PASSKEY_SELECT).eq("userId", userId)
          .order("createdAt", { ascending: false }).order("credentialID"),
      );
      return (rows ?? []).map(toPasskeyInfo);
    },

    async deletePasskey(userId, credentialID) {
      if (!isUuid(userId)) return false;
      const deleted = await run<number>(
        "delete passkey",
        (await connect()).schema("next_auth").rpc("delete_passkey", {
          p_user_id: userId,
          p_credential_id: credentialID,
        }),
      );
      return (deleted ?? 0) > 0;
    },

    async close() {
      // Plain HTTP: nothing held open (Realtime is never subscribed).
      if (client) await (await client).removeAllChannels();
    },
  };
}

function unsupportedPasswords(): PasswordStore {
  const refuse = () =>
    Promise.reject(
      new Error("Cannot use password sign-in with the rest store: use AUTH_STORE=sql"),
    );
  return {
    findByEmail: refuse,
    createUserWithPassword: refuse,
    createToken: refuse,
    verifyEmail: refuse,
    resetPassword: refuse,
    updateHash: refuse,
  };
}
