/**
 * The `sql` store driver: `npm:postgres` straight to the `next_auth` schema. Every Adapter
 * call is one statement (one round trip); single-use tokens are consumed with
 * `DELETE ... RETURNING`, so two concurrent uses cannot both succeed.
 *
 * @example
 * ```ts
 * const store = createSqlStore({ url: Deno.env.get("SUPABASE_DB_URL")! });
 * const found = await store.getSessionAndUser(sessionToken);
 * ```
 */
import type postgres from "postgres";
import type {
  AdapterAccount,
  AdapterAuthenticator,
  AdapterSession,
  AdapterUser,
  VerificationToken,
} from "@auth/core/adapters";
import {
  ACCOUNT_COLUMNS,
  AUTHENTICATOR_COLUMNS,
  isUuid,
  pick,
  type Row,
  toPasskeyInfo,
  USER_COLUMNS,
} from "./columns.ts";
import type { AuditEntry, SessionAndUser, SessionInfo, Store } from "./mod.ts";
import { createSqlMfaStore } from "./mfa.ts";
import { createSqlPasswordStore } from "./passwords.ts";
import { createWireClient, type WireClient, wireSettings, WireUnsupportedError } from "./wire.ts";
import { createDeadlines } from "../timers.ts";

export interface SqlStoreOptions {
  url: string;
  /** Set false behind a transaction pooler, which cannot keep prepared statements. */
  prepare?: boolean;
  /** Connections in the pool; an Edge isolate serves few requests at once. */
  max?: number;
  /** How long one call may wait for the database before it fails as unavailable. */
  timeoutMs?: number;
  /**
   * The session check's statements (look up, extend, delete a session) over the small
   * built-in client (`wire.ts`) instead of `npm:postgres`, when the URL allows it (plain TCP).
   * Default true.
   */
  lightClient?: boolean;
}

/** Account and authenticator rows leave out what is unset, as Auth.js's optional fields do. */
function compact<T>(row: Row): T {
  const out: Row = {};
  for (const [key, value] of Object.entries(row)) {
    if (value !== null) out[key] = value;
  }
  return out as T;
}

/** Whether the session's user has a confirmed second factor (`s` is the session). */
const HAS_CONFIRMED_FACTOR = `exists (select 1 from next_auth.mfa_factors f
  where f."userId" = s."userId" and f."confirmedAt" is not null)`;

// The session check's three statements, the same text for both clients: values come back
// as text (or int8 numbers from npm:postgres), timestamps as epoch milliseconds so no
// date-format or time-zone setting of the server matters, parameters are text.
const EPOCH_MS = (column: string) => `floor(extract(epoch from ${column}) * 1000)::int8`;
const SESSION_COLUMNS = `id, "sessionToken", "userId", ${EPOCH_MS("expires")}`;
const SESSIONS_AND_USERS = `
  select s.id, s."sessionToken", s."userId", ${EPOCH_MS("s.expires")},
         u.id, u.name, u.email, ${EPOCH_MS('u."emailVerified"')}, u.image,
         s.aal, s.amr::text, ${HAS_CONFIRMED_FACTOR}::text
  from next_auth.sessions s join next_auth.users u on u.id = s."userId"
  where s."sessionToken" = any(array(select jsonb_array_elements_text($1::text::jsonb)))`;
const EXTEND_SESSION = `
  update next_auth.sessions set expires = $2::text::timestamptz, "lastSeenAt" = now()
  where "sessionToken" = $1 returning ${SESSION_COLUMNS}`;
const DELETE_SESSION = `
  delete from next_auth.sessions where "sessionToken" = $1 returning ${SESSION_COLUMNS}`;

/** A row of those statements, as either client gives it. */
type SessionRow = readonly (string | number | null)[];

const epochDate = (ms: string | number | null | undefined) =>
  ms == null ? null : new Date(Number(ms));

function sessionOf(row: SessionRow): AdapterSession {
  return {
    id: row[0],
    sessionToken: row[1]!,
    userId: row[2]!,
    expires: epochDate(row[3])!,
  } as AdapterSession;
}

function sessionAndUserOf(row: SessionRow): SessionAndUser {
  const session = sessionOf(row) as AdapterSession & Row;
  // The second factor's facts, only where they say something (Auth.js's shape otherwise).
  if (row[9] === "aal2") session.aal = "aal2";
  if (row[10] !== null) session.amr = JSON.parse(String(row[10]));
  if (row[11] === "true") session.mfa = true;
  return {
    session,
    user: {
      id: String(row[4]),
      name: row[5] as string | null,
      email: String(row[6]),
      emailVerified: epochDate(row[7]),
      image: row[8] as string | null,
    },
  };
}

export function createSqlStore(options: SqlStoreOptions): Store {
  // The driver (and Node compatibility it pulls in) loads on first use, not at start-up:
  // a function answering JWT sessions may never need the database.
  let client: Promise<postgres.Sql> | undefined;
  const connect = () =>
    client ??= import("postgres").then(({ default: postgres }) =>
      postgres(options.url, {
        max: options.max ?? 3,
        prepare: options.prepare ?? true,
        idle_timeout: 20,
        connect_timeout: 5,
        onnotice: () => {},
        connection: { application_name: "authjs-supabase-edge" },
        // bigint columns (expires_at, counter) hold values well inside Number's range.
        types: {
          int8: {
            to: 20,
            from: [20],
            serialize: (value: number) => String(value),
            parse: (value: string) => Number(value),
          },
        },
      })
    );
  const one = <T>(rows: readonly Row[]): T | null => (rows[0] as T | undefined) ?? null;

  // The session check's statements go over the small client when it can be used: the
  // session function then never loads npm:postgres. If the server asks for something it
  // does not speak (TLS, MD5 passwords), npm:postgres takes over for good.
  let wire: WireClient | undefined = options.lightClient !== false &&
      !(wireSettings(options.url) instanceof WireUnsupportedError)
    ? createWireClient(options.url, { timeoutMs: options.timeoutMs, prepare: options.prepare })
    : undefined;
  /** Runs one of the session statements: over the light client, else over npm:postgres. */
  async function sessionQuery(text: string, params: string[]): Promise<SessionRow[]> {
    const client = wire;
    if (client) {
      try {
        return await client.query(text, params);
      } catch (error) {
        if (!(error instanceof WireUnsupportedError)) throw error;
        if (wire === client) wire = undefined;
        await client.close();
      }
    }
    const sql = await connect();
    // npm:postgres prepares tagged templates but not `unsafe` text unless asked (unprepared,
    // each call is parsed and planned again, after a round trip to describe it): asked here,
    // still subject to the pool's `prepare` (false behind a transaction pooler).
    return await sql.unsafe(text, params, { prepare: true }).values() as unknown as SessionRow[];
  }

  const store: Store = {
    async createUser(user) {
      const sql = await connect();
      const values = pick(user, USER_COLUMNS);
      if (isUuid(user.id)) values.id = user.id;
      values.emailVerified ??= null;
      const rows = await sql`
        insert into next_auth.users ${sql(values)}
        returning id, name, email, "emailVerified", image`;
      return rows[0] as unknown as AdapterUser;
    },

    async getUser(id) {
      const sql = await connect();
      if (!isUuid(id)) return null;
      return one<AdapterUser>(
        await sql`
        select id, name, email, "emailVerified", image from next_auth.users where id = ${id}`,
      );
    },

    async getUserByEmail(email) {
      const sql = await connect();
      return one<AdapterUser>(
        await sql`
        select id, name, email, "emailVerified", image from next_auth.users
        where email = ${email}`,
      );
    },

    async getUserByAccount({ provider, providerAccountId }) {
      const sql = await connect();
      return one<AdapterUser>(
        await sql`
        select u.id, u.name, u.email, u."emailVerified", u.image
        from next_auth.accounts a join next_auth.users u on u.id = a."userId"
        where a.provider = ${provider} and a."providerAccountId" = ${providerAccountId}`,
      );
    },

    async updateUser(user) {
      const sql = await connect();
      if (!isUuid(user.id)) {
        throw new Error(`Cannot update user: "${user.id}" not found`);
      }
      const values = pick(user, USER_COLUMNS);
      const rows = Object.keys(values).length
        ? await sql`
          update next_auth.users set ${sql(values)} where id = ${user.id}
          returning id, name, email, "emailVerified", image`
        : await sql`
          select id, name, email, "emailVerified", image from next_auth.users
          where id = ${user.id}`;
      const updated = one<AdapterUser>(rows);
      if (!updated) {
        throw new Error(`Cannot update user: "${user.id}" not found`);
      }
      return updated;
    },

    async deleteUser(id) {
      const sql = await connect();
      if (!isUuid(id)) return null;
      // Sessions, accounts and authenticators go with the user (ON DELETE CASCADE); pending
      // sign-in links for their address go in the same statement.
      return one<AdapterUser>(
        await sql`
        with deleted as (
          delete from next_auth.users where id = ${id}
          returning id, name, email, "emailVerified", image
        ), links as (
          delete from next_auth.verification_tokens
          where identifier = (select email from deleted)
        )
        select * from deleted`,
      );
    },

    async linkAccount(account) {
      const sql = await connect();
      const rows = await sql`
        insert into next_auth.accounts ${sql(pick(account, ACCOUNT_COLUMNS))}
        returning *`;
      return compact<AdapterAccount>(rows[0] as Row);
    },

    async unlinkAccount({ provider, providerAccountId }) {
      const sql = await connect();
      const row = one<Row>(
        await sql`
        delete from next_auth.accounts
        where provider = ${provider} and "providerAccountId" = ${providerAccountId}
        returning *`,
      );
      return row ? compact<AdapterAccount>(row) : undefined;
    },

    async getAccount(providerAccountId, provider) {
      const sql = await connect();
      const row = one<Row>(
        await sql`
        select * from next_auth.accounts
        where provider = ${provider} and "providerAccountId" = ${providerAccountId}`,
      );
      return row ? compact<AdapterAccount>(row) : null;
    },

    async createSession(session) {
      const sql = await connect();
      const rows = await sql`
        insert into next_auth.sessions ("sessionToken", "userId", expires)
        values (${session.sessionToken}, ${session.userId}, ${session.expires})
        returning id, "sessionToken", "userId", expires`;
      return rows[0] as unknown as AdapterSession;
    },

    async getSessionAndUser(sessionToken) {
      return (await store.getSessionsAndUsers([sessionToken])).get(sessionToken) ?? null;
    },

    async getSessionsAndUsers(sessionTokens) {
      const found = new Map<string, SessionAndUser>();
      if (sessionTokens.length === 0) return found;
      // The tokens travel as one JSON text: text[] parameters depend on npm:postgres knowing
      // the array type's oid, which it does not always (a single-token array was sent as a
      // bare string on PGlite).
      for (const row of await sessionQuery(SESSIONS_AND_USERS, [JSON.stringify(sessionTokens)])) {
        const entry = sessionAndUserOf(row);
        found.set(entry.session.sessionToken, entry);
      }
      return found;
    },

    async updateSession(session) {
      const values = pick(session, ["expires", "userId"]);
      if (Object.keys(values).length === 1 && values.expires instanceof Date) {
        // The session check's extension of a sliding session.
        const rows = await sessionQuery(EXTEND_SESSION, [
          session.sessionToken,
          values.expires.toISOString(),
        ]);
        return rows.map(sessionOf)[0] ?? null;
      }
      const sql = await connect();
      const rows = Object.keys(values).length
        ? await sql`
          update next_auth.sessions set ${sql(values)}, "lastSeenAt" = now()
          where "sessionToken" = ${session.sessionToken}
          returning id, "sessionToken", "userId", expires`
        : await sql`
          select id, "sessionToken", "userId", expires from next_auth.sessions
          where "sessionToken" = ${session.sessionToken}`;
      return one<AdapterSession>(rows);
    },

    async deleteSession(sessionToken) {
      return (await sessionQuery(DELETE_SESSION, [sessionToken])).map(sessionOf)[0] ?? null;
    },

    async createVerificationToken(token) {
      const sql = await connect();
      const rows = await sql`
        insert into next_auth.verification_tokens (identifier, token, expires)
        values (${token.identifier}, ${token.token}, ${token.expires})
        returning identifier, token, expires`;
      return rows[0] as unknown as VerificationToken;
    },

    async useVerificationToken({ identifier, token }) {
      const sql = await connect();
      if (typeof token !== "string") return null;
      // Auth.js passes no identifier when the link carries none; it compares afterwards.
      return one<VerificationToken>(
        typeof identifier === "string"
          ? await sql`
            delete from next_auth.verification_tokens
            where identifier = ${identifier} and token = ${token}
            returning identifier, token, expires`
          : await sql`
            delete from next_auth.verification_tokens where token = ${token}
            returning identifier, token, expires`,
      );
    },

    async getAuthenticator(credentialID) {
      const sql = await connect();
      return one<AdapterAuthenticator>(
        await sql`
        select * from next_auth.authenticators where "credentialID" = ${credentialID}`,
      );
    },

    async createAuthenticator(authenticator) {
      const sql = await connect();
      const rows = await sql`
        insert into next_auth.authenticators ${sql(pick(authenticator, AUTHENTICATOR_COLUMNS))}
        returning *`;
      return rows[0] as unknown as AdapterAuthenticator;
    },

    async listAuthenticatorsByUserId(userId) {
      const sql = await connect();
      if (!isUuid(userId)) return [];
      const rows = await sql`
        select * from next_auth.authenticators where "userId" = ${userId}
        order by "credentialID"`;
      return rows as unknown as AdapterAuthenticator[];
    },

    async updateAuthenticatorCounter(credentialID, counter) {
      const sql = await connect();
      const row = one<AdapterAuthenticator>(
        await sql`
        update next_auth.authenticators set counter = ${counter}, "lastUsedAt" = now()
        where "credentialID" = ${credentialID}
        returning *`,
      );
      if (!row) {
        throw new Error(
          `Cannot update authenticator counter: "${credentialID}" not found`,
        );
      }
      return row;
    },

    async createPasskey(account, authenticator) {
      const sql = await connect();
      const [row] = await sql`
        select * from next_auth.create_passkey(${authenticator.userId}, ${account.type},
          ${account.provider}, ${account.providerAccountId}, ${authenticator.credentialID},
          ${authenticator.credentialPublicKey}, ${authenticator.counter},
          ${authenticator.credentialDeviceType}, ${authenticator.credentialBackedUp},
          ${authenticator.transports ?? null})`;
      return row as unknown as AdapterAuthenticator;
    },

    async listPasskeys(userId) {
      if (!isUuid(userId)) return [];
      const sql = await connect();
      const rows = await sql`
        select "credentialID", "credentialDeviceType", "credentialBackedUp", transports,
               "createdAt", "lastUsedAt"
        from next_auth.authenticators where "userId" = ${userId}
        order by "createdAt" desc, "credentialID"`;
      return rows.map((row) => toPasskeyInfo(row));
    },

    async deletePasskey(userId, credentialID) {
      if (!isUuid(userId)) return false;
      const sql = await connect();
      const [row] = await sql`
        select next_auth.delete_passkey(${userId}, ${credentialID}) as deleted`;
      return (row?.deleted as number) > 0;
    },

    async hitRateLimit({ bucket, key, windowSec }) {
      const sql = await connect();
      const [row] = await sql`
        select hits, retry_after from next_auth.hit_rate_limit(${bucket}, ${key}, ${windowSec})`;
      return { hits: row!.hits as number, retryAfterSec: row!.retry_after as number };
    },

    async appendAudit(entry: AuditEntry) {
      const sql = await connect();
      await sql`
        insert into next_auth.audit_log (event, user_id, ip, user_agent, provider, detail)
        values (${entry.event}, ${isUuid(entry.userId) ? entry.userId : null},
                ${entry.ip ?? null}, ${entry.userAgent?.slice(0, 512) ?? null},
                ${entry.provider ?? null}, ${sql.json(entry.detail ?? {})})`;
    },

    passwords: createSqlPasswordStore(connect),
    mfa: createSqlMfaStore(connect),

    async createTokenCode(code) {
      const sql = await connect();
      await sql`
        insert into next_auth.token_codes
          (code_hash, code_challenge, redirect_origin, session, expires)
        values (${code.codeHash}, ${code.codeChallenge}, ${code.redirectOrigin},
          ${code.session}, ${code.expires})`;
    },

    async consumeTokenCode(codeHash) {
      const sql = await connect();
      const [row] = await sql`
        with swept as (
          delete from next_auth.token_codes where expires <= now() and code_hash <> ${codeHash}
        )
        delete from next_auth.token_codes
        where code_hash = ${codeHash}
        returning code_hash, code_challenge, redirect_origin, session, expires`;
      if (!row || (row.expires as Date).getTime() <= Date.now()) return null;
      return {
        codeHash: row.code_hash as string,
        codeChallenge: row.code_challenge as string,
        redirectOrigin: row.redirect_origin as string,
        session: row.session as string,
        expires: row.expires as Date,
      };
    },

    async describeSession(sessionToken, device) {
      const sql = await connect();
      await sql`
        update next_auth.sessions
        set "userAgent" = ${device.userAgent?.slice(0, 512) ?? null}, ip = ${device.ip ?? null}
        where "sessionToken" = ${sessionToken}`;
    },

    async listSessions(userId) {
      if (!isUuid(userId)) return [];
      const sql = await connect();
      return await sql`
        select id, "userAgent", ip, "createdAt", "lastSeenAt", expires
        from next_auth.sessions where "userId" = ${userId} and expires > now()
        order by "lastSeenAt" desc, "createdAt" desc` as unknown as SessionInfo[];
    },

    async revokeSessions(userId, which) {
      if (!isUuid(userId)) return 0;
      const sql = await connect();
      const rows = "id" in which
        ? (isUuid(which.id)
          ? await sql`delete from next_auth.sessions
              where "userId" = ${userId} and id = ${which.id} returning id`
          : [])
        : await sql`delete from next_auth.sessions
            where "userId" = ${userId} and id::text <> ${which.exceptId} returning id`;
      return rows.length;
    },

    async close() {
      closed = true;
      const pending = client;
      client = undefined;
      await wire?.close();
      if (pending) await (await pending).end({ timeout: 5 });
    },
  };

  // A connection the server drops during its handshake can leave npm:postgres waiting
  // forever, and with it every query queued on that connection. Past the timeout the call
  // fails as "database unavailable" (a 503) and the pool is replaced, so the store recovers
  // by itself once the database is back.
  let closed = false;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadlines = createDeadlines(timeoutMs);
  const guarded = {} as Record<string, unknown>;
  for (const [name, method] of Object.entries(store)) {
    guarded[name] = name === "close" || typeof method !== "function" ? method : (
      ...args: unknown[]
    ) => {
      const pool = client;
      let done = () => {};
      const timeout = new Promise<never>((_, reject) => {
        done = deadlines.add(() => {
          // The stuck pool is left to its own timeouts: ending it mid-handshake makes
          // npm:postgres reject a promise nobody can catch. The next call opens a new one.
          if (client === pool && !closed) client = undefined;
          reject(
            Object.assign(new Error(`Cannot reach the database within ${timeoutMs} ms`), {
              code: "CONNECT_TIMEOUT",
            }),
          );
        });
      });
      const call = (method as (...a: unknown[]) => Promise<unknown>).apply(store, args);
      return Promise.race([call, timeout]).finally(done);
    };
  }
  return guarded as unknown as Store;
}
