/**
 * The `next_auth` tables' writable columns and id rules, shared by every store driver so they
 * write exactly the same rows.
 *
 * @example
 * ```ts
 * const values = pick(account, ACCOUNT_COLUMNS); // only real columns, never extra fields
 * ```
 */
import type { PasskeyInfo } from "./mod.ts";

export type Row = Record<string, unknown>;

export const USER_COLUMNS = ["name", "email", "emailVerified", "image"] as const;

export const ACCOUNT_COLUMNS = [
  "userId",
  "type",
  "provider",
  "providerAccountId",
  "refresh_token",
  "access_token",
  "expires_at",
  "token_type",
  "scope",
  "id_token",
  "session_state",
  "oauth_token_secret",
  "oauth_token",
] as const;

export const AUTHENTICATOR_COLUMNS = [
  "credentialID",
  "userId",
  "providerAccountId",
  "credentialPublicKey",
  "counter",
  "credentialDeviceType",
  "credentialBackedUp",
  "transports",
] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are uuid columns: anything else cannot match a row, and must not reach Postgres as one. */
export const isUuid = (value: unknown): value is string =>
  typeof value === "string" && UUID.test(value);

/** The given columns of `source` that are set (undefined ones are left to their defaults). */
export function pick(source: object, columns: readonly string[]): Row {
  const out: Row = {};
  for (const column of columns) {
    const value = (source as Row)[column];
    if (value !== undefined) out[column] = value;
  }
  return out;
}

/** An authenticator row as its owner sees it (both drivers read the same columns). */
export function toPasskeyInfo(row: Row): PasskeyInfo {
  const transports = row.transports;
  return {
    credentialID: row.credentialID as string,
    deviceType: row.credentialDeviceType as string,
    backedUp: row.credentialBackedUp === true,
    transports: typeof transports === "string" && transports ? transports.split(",") : [],
    createdAt: new Date(row.createdAt as string | Date),
    lastUsedAt: row.lastUsedAt ? new Date(row.lastUsedAt as string | Date) : null,
  };
}
