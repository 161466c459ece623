/**
 * What the password flow keeps beside Auth.js's tables: one hash per user
 * (`next_auth.passwords`) and single-use, expiring tokens that verify an address or reset a
 * password (`next_auth.password_tokens`, stored hashed). Every consuming call is one atomic
 * statement or transaction: of concurrent uses of one token, exactly one wins.
 *
 * @example
 * ```ts
 * const found = await store.passwords.findByEmail("ada@example.com");
 * ```
 */
import type postgres from "postgres";

export type PasswordTokenPurpose = "verify" | "reset";

export interface PasswordUser {
  id: string;
  email: string;
  name: string | null;
  emailVerified: Date | null;
  /** The stored hash, or null for a user who signs in another way (magic link, OAuth). */
  hash: string | null;
}

export interface NewPasswordToken {
  /** SHA-256 hex of the token that is mailed; the mailed value is never stored. */
  token: string;
  expires: Date;
}

export interface PasswordStore {
  findByEmail(email: string): Promise<PasswordUser | null>;
  /**
   * Creates the user, their password and a `verify` token in one transaction. Null (and
   * nothing written) when the email already belongs to a user.
   */
  createUserWithPassword(
    user: { email: string; name?: string; hash: string },
    verifyToken: NewPasswordToken,
  ): Promise<{ id: string } | null>;
  createToken(
    userId: string,
    purpose: PasswordTokenPurpose,
    token: NewPasswordToken,
  ): Promise<void>;
  /** Consumes a `verify` token and marks the address verified; null if unknown, used or expired. */
  verifyEmail(token: string): Promise<string | null>;
  /**
   * Consumes a `reset` token and sets the new hash; the address counts as verified (the mail
   * reached it), and the user's database sessions and other reset tokens end. Null if the
   * token is unknown, used or expired.
   */
  resetPassword(token: string, hash: string): Promise<string | null>;
  /** Replaces a hash made with older parameters. */
  updateHash(userId: string, hash: string): Promise<void>;
}

/** `connect` gives the (lazily opened) connection pool. */
export function createSqlPasswordStore(connect: () => Promise<postgres.Sql>): PasswordStore {
  return {
    async findByEmail(email) {
      const sql = await connect();
      const [row] = await sql`
        select u.id, u.email, u.name, u."emailVerified", p.hash
        from next_auth.users u left join next_auth.passwords p on p."userId" = u.id
        where u.email = ${email}`;
      return (row as unknown as PasswordUser | undefined) ?? null;
    },

    async createUserWithPassword(user, verifyToken) {
      const sql = await connect();
      return (await sql.begin(async (tx) => {
        const [created] = await tx`
          insert into next_auth.users (email, name) values (${user.email}, ${user.name ?? null})
          on conflict (email) do nothing
          returning id`;
        if (!created) return null;
        await tx`
          insert into next_auth.passwords ("userId", hash) values (${created.id}, ${user.hash})`;
        await tx`
          insert into next_auth.password_tokens (token, "userId", purpose, expires)
          values (${verifyToken.token}, ${created.id}, 'verify', ${verifyToken.expires})`;
        return { id: created.id as string };
      })) as unknown as { id: string } | null;
    },

    async createToken(userId, purpose, token) {
      const sql = await connect();
      await sql`
        insert into next_auth.password_tokens (token, "userId", purpose, expires)
        values (${token.token}, ${userId}, ${purpose}, ${token.expires})`;
    },

    async verifyEmail(token) {
      const sql = await connect();
      const [row] = await sql`
        with used as (
          delete from next_auth.password_tokens
          where token = ${token} and purpose = 'verify'
          returning "userId", expires
        )
        update next_auth.users u set "emailVerified" = coalesce(u."emailVerified", now())
        from used where u.id = used."userId" and used.expires > now()
        returning u.id`;
      return (row?.id as string | undefined) ?? null;
    },

    async resetPassword(token, hash) {
      const sql = await connect();
      return (await sql.begin(async (tx) => {
        const [used] = await tx`
          delete from next_auth.password_tokens
          where token = ${token} and purpose = 'reset'
          returning "userId", expires > now() as valid`;
        if (!used?.valid) return null;
        const userId = used.userId as string;
        await tx`
          insert into next_auth.passwords ("userId", hash) values (${userId}, ${hash})
          on conflict ("userId") do update set hash = excluded.hash, "updatedAt" = now()`;
        await tx`
          update next_auth.users set "emailVerified" = coalesce("emailVerified", now())
          where id = ${userId}`;
        await tx`delete from next_auth.password_tokens where "userId" = ${userId}`;
        await tx`delete from next_auth.sessions where "userId" = ${userId}`;
        return userId;
      })) as unknown as string | null;
    },

    async updateHash(userId, hash) {
      const sql = await connect();
      await sql`
        update next_auth.passwords set hash = ${hash}, "updatedAt" = now()
        where "userId" = ${userId}`;
    },
  };
}
