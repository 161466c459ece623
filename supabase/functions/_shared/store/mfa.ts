/**
 * What the second factor keeps beside Auth.js's tables: one TOTP factor per user
 * (`next_auth.mfa_factors`, the secret sealed), single-use recovery codes
 * (`next_auth.mfa_recovery_codes`, hashed), and the assurance of database sessions
 * (`next_auth.sessions.aal` / `amr`). Every check-and-consume is one atomic statement (or one
 * transaction): of concurrent uses of one code, exactly one wins.
 *
 * @example
 * ```ts
 * const factor = await store.mfa.getFactor(userId);
 * const fresh = await store.mfa.useStep(userId, factor!.id, step); // false: replayed
 * ```
 */
import type postgres from "postgres";
import type { Aal, AmrEntry } from "../assurance.ts";
import { isUuid } from "./columns.ts";

export interface MfaFactor {
  id: string;
  userId: string;
  /** The sealed secret (`mfa_secrets.ts`), never the secret itself. */
  secret: string;
  confirmedAt: Date | null;
  /** The newest TOTP step a code was accepted for. */
  lastUsedStep: number | null;
  createdAt: Date;
}

export interface MfaStatus {
  factor: Pick<MfaFactor, "confirmedAt" | "createdAt"> | null;
  recoveryCodesLeft: number;
}

export interface MfaStore {
  /** Whether the user has a confirmed factor: one indexed lookup, made at sign-in. */
  isEnrolled(userId: string): Promise<boolean>;
  /** The factor (pending or confirmed) and how many recovery codes are left, in one query. */
  status(userId: string): Promise<MfaStatus>;
  getFactor(userId: string): Promise<MfaFactor | null>;
  /**
   * Starts enrolment with a sealed secret, replacing a pending (unconfirmed) one. False, and
   * nothing written, when the user already has a confirmed factor.
   */
  startEnrollment(userId: string, sealedSecret: string): Promise<boolean>;
  /**
   * Confirms the pending factor `factorId` with the step its first code matched and stores
   * the recovery codes' hashes (replacing any), in one transaction. False, and nothing
   * written, when that factor is no longer the pending one.
   */
  confirmEnrollment(
    userId: string,
    factorId: string,
    step: number,
    codeHashes: string[],
  ): Promise<boolean>;
  /**
   * Records `step` as used, only when it is later than the last used one (one UPDATE):
   * false means the code was already used (or the factor changed meanwhile).
   */
  useStep(userId: string, factorId: string, step: number): Promise<boolean>;
  /** Replaces a factor's sealed secret (re-sealed with the newest key). */
  resealSecret(factorId: string, sealedSecret: string): Promise<void>;
  /** Consumes a recovery code (one DELETE): the codes left, or null when there was no such code. */
  useRecoveryCode(userId: string, codeHash: string): Promise<number | null>;
  /** Replaces the user's recovery codes, only while they have a confirmed factor. */
  replaceRecoveryCodes(userId: string, codeHashes: string[]): Promise<boolean>;
  /** Removes the factor and the recovery codes; false when there was none. */
  removeFactor(userId: string): Promise<boolean>;
  /** Database sessions: sets how the session was authenticated; false when it is gone. */
  setSessionAssurance(
    sessionToken: string,
    assurance: { aal: Aal; amr: AmrEntry[] },
  ): Promise<boolean>;
}

/** Inside a transaction: the user's recovery codes become exactly `codeHashes`. */
async function replaceCodes(tx: postgres.TransactionSql, userId: string, codeHashes: string[]) {
  await tx`delete from next_auth.mfa_recovery_codes where "userId" = ${userId}`;
  await tx`
    insert into next_auth.mfa_recovery_codes ${
    tx(codeHashes.map((codeHash) => ({ userId, codeHash })), "userId", "codeHash")
  }`;
}

/** `connect` gives the (lazily opened) connection pool. */
export function createSqlMfaStore(connect: () => Promise<postgres.Sql>): MfaStore {
  return {
    async isEnrolled(userId) {
      if (!isUuid(userId)) return false;
      const sql = await connect();
      const [row] = await sql`
        select exists (
          select 1 from next_auth.mfa_factors
          where "userId" = ${userId} and "confirmedAt" is not null
        ) as enrolled`;
      return row?.enrolled === true;
    },

    async status(userId) {
      if (!isUuid(userId)) return { factor: null, recoveryCodesLeft: 0 };
      const sql = await connect();
      const [row] = await sql`
        select f."confirmedAt", f."createdAt",
               (select count(*)::int from next_auth.mfa_recovery_codes c
                where c."userId" = ${userId}) as left
        from (select 1) one
        left join next_auth.mfa_factors f on f."userId" = ${userId} and f.type = 'totp'`;
      return {
        factor: row?.createdAt
          ? { confirmedAt: row.confirmedAt as Date | null, createdAt: row.createdAt as Date }
          : null,
        recoveryCodesLeft: (row?.left as number | undefined) ?? 0,
      };
    },

    async getFactor(userId) {
      if (!isUuid(userId)) return null;
      const sql = await connect();
      const [row] = await sql`
        select id, "userId", secret, "confirmedAt", "lastUsedStep", "createdAt"
        from next_auth.mfa_factors where "userId" = ${userId} and type = 'totp'`;
      return (row as unknown as MfaFactor | undefined) ?? null;
    },

    async startEnrollment(userId, sealedSecret) {
      const sql = await connect();
      const rows = await sql`
        insert into next_auth.mfa_factors as f ("userId", type, secret)
        values (${userId}, 'totp', ${sealedSecret})
        on conflict ("userId", type) do update set
          secret = excluded.secret, "createdAt" = now(), "lastUsedStep" = null
        where f."confirmedAt" is null
        returning id`;
      return rows.length === 1;
    },

    async confirmEnrollment(userId, factorId, step, codeHashes) {
      const sql = await connect();
      return (await sql.begin(async (tx) => {
        const confirmed = await tx`
          update next_auth.mfa_factors set "confirmedAt" = now(), "lastUsedStep" = ${step}
          where id = ${factorId} and "userId" = ${userId} and "confirmedAt" is null
            and ("lastUsedStep" is null or "lastUsedStep" < ${step})
          returning id`;
        if (confirmed.length !== 1) return false;
        await replaceCodes(tx, userId, codeHashes);
        return true;
      })) as unknown as boolean;
    },

    async useStep(userId, factorId, step) {
      const sql = await connect();
      const rows = await sql`
        update next_auth.mfa_factors set "lastUsedStep" = ${step}
        where id = ${factorId} and "userId" = ${userId} and "confirmedAt" is not null
          and ("lastUsedStep" is null or "lastUsedStep" < ${step})
        returning id`;
      return rows.length === 1;
    },

    async resealSecret(factorId, sealedSecret) {
      const sql = await connect();
      await sql`update next_auth.mfa_factors set secret = ${sealedSecret} where id = ${factorId}`;
    },

    async useRecoveryCode(userId, codeHash) {
      if (!isUuid(userId)) return null;
      const sql = await connect();
      // The outer count sees the table as it was before the DELETE: subtract the used one.
      const [row] = await sql`
        with used as (
          delete from next_auth.mfa_recovery_codes
          where "userId" = ${userId} and "codeHash" = ${codeHash}
          returning 1
        )
        select (select count(*)::int from used) as used,
               (select count(*)::int from next_auth.mfa_recovery_codes
                where "userId" = ${userId}) as before`;
      if (!row || row.used !== 1) return null;
      return (row.before as number) - 1;
    },

    async replaceRecoveryCodes(userId, codeHashes) {
      const sql = await connect();
      return (await sql.begin(async (tx) => {
        const [factor] = await tx`
          select 1 from next_auth.mfa_factors
          where "userId" = ${userId} and "confirmedAt" is not null
          for update`;
        if (!factor) return false;
        await replaceCodes(tx, userId, codeHashes);
        return true;
      })) as unknown as boolean;
    },

    async removeFactor(userId) {
      if (!isUuid(userId)) return false;
      const sql = await connect();
      const [row] = await sql`
        with factor as (
          delete from next_auth.mfa_factors where "userId" = ${userId} returning 1
        ), codes as (
          delete from next_auth.mfa_recovery_codes where "userId" = ${userId}
        )
        select count(*)::int as removed from factor`;
      return (row?.removed as number) > 0;
    },

    async setSessionAssurance(sessionToken, { aal, amr }) {
      const sql = await connect();
      const rows = await sql`
        update next_auth.sessions set aal = ${aal}, amr = ${sql.json(amr as never)}
        where "sessionToken" = ${sessionToken}
        returning id`;
      return rows.length === 1;
    },
  };
}

/** The `rest` driver does not reach these tables: `AUTH_MFA` requires `AUTH_STORE=sql`. */
export function unsupportedMfa(): MfaStore {
  const refuse = () =>
    Promise.reject(
      new Error("Cannot use the second factor with the rest store: use AUTH_STORE=sql"),
    );
  return {
    isEnrolled: refuse,
    status: refuse,
    getFactor: refuse,
    startEnrollment: refuse,
    confirmEnrollment: refuse,
    useStep: refuse,
    resealSecret: refuse,
    useRecoveryCode: refuse,
    replaceRecoveryCodes: refuse,
    removeFactor: refuse,
    setSessionAssurance: refuse,
  };
}
