/**
 * How strongly a session was authenticated, in the terms Supabase uses (`aal`, `amr`), and
 * the one decision every reader of a session shares: does it still need the second factor?
 *
 * - `amr` lists the methods a session was proven with (`{ method, timestamp }`, as in
 *   Supabase's own tokens): the sign-in (`magiclink`, `oauth`, `password`, …) and any second
 *   factor since (`totp`, `recovery`).
 * - `aal` is `aal2` once a second-factor method is among them, `aal1` before.
 * - A user with a confirmed second factor has only a *partial* session until it reaches
 *   `aal2`: `/session` shows no user, protected functions and `access-token` refuse it.
 *
 * JWT sessions carry `aal`, `amr` and `mfa` (the user had a confirmed factor at sign-in) as
 * claims; database sessions keep `aal` and `amr` in their row and learn `mfa` from the same
 * query that reads them.
 *
 * @example
 * ```ts
 * const claims = signInClaims({ account: { type: "email" }, enrolled: true, now: Date.now() });
 * needsSecondFactor(storedAssurance(claims)); // true: partial until a code is given
 * ```
 */

export type Aal = "aal1" | "aal2";

/** One authentication method used in a session (Supabase's `amr` entry shape). */
export interface AmrEntry {
  method: string;
  /** Seconds since the epoch. */
  timestamp: number;
}

/**
 * Methods that are a second factor on their own: TOTP and recovery codes after a first
 * sign-in, and a passkey sign-in (`webauthn`). A passkey is multi-factor by itself: the
 * device (possession) and its user verification (PIN or biometric), which every passkey
 * sign-in here requires (SimpleWebAuthn's `requireUserVerification`, on by default and left
 * on by Auth.js); a user with TOTP enrolled who signs in with a passkey is not asked for a
 * code, as with Supabase Auth's WebAuthn factor.
 */
export const SECOND_FACTOR_METHODS: ReadonlySet<string> = new Set([
  "totp",
  "recovery",
  "webauthn",
]);

/** The assurance level a session's methods give. */
export function aalOf(amr: readonly AmrEntry[] | undefined): Aal {
  return amr?.some((entry) => SECOND_FACTOR_METHODS.has(entry.method)) ? "aal2" : "aal1";
}

/**
 * THE decision: whether a session is only partial, i.e. its user has a confirmed second
 * factor and the session has not (yet) been proven with one. Every reader of a session —
 * `/session` (both paths), `protect.ts`, `access-token`, `account`, `mfa` — asks this, with
 * the facts `storedAssurance` reads from the session.
 */
export function needsSecondFactor(session: { enrolled: boolean; aal: Aal }): boolean {
  return session.enrolled && session.aal !== "aal2";
}

/**
 * How long a partial session may wait for its second factor. After that it is no session at
 * all and its user signs in again: a stolen first factor buys a handful of code guesses (the
 * `mfa_user` limit), not a month of them.
 */
export const SECOND_FACTOR_WINDOW_SEC = 10 * 60;

/**
 * Whether a partial session has waited longer than `SECOND_FACTOR_WINDOW_SEC` since its
 * sign-in (its earliest first-factor `amr` entry), or cannot tell since when (a database
 * session older than its user's enrolment).
 */
export function secondFactorExpired(
  session: { enrolled: boolean; aal: Aal; amr: readonly AmrEntry[] },
  nowSeconds: number,
): boolean {
  if (!needsSecondFactor(session)) return false;
  const signIns = session.amr.filter((e) => !SECOND_FACTOR_METHODS.has(e.method));
  if (signIns.length === 0) return true;
  const signedInAt = Math.min(...signIns.map((e) => e.timestamp));
  return nowSeconds - signedInAt > SECOND_FACTOR_WINDOW_SEC;
}

/**
 * The assurance facts of a session as stored — JWT claims or a database session row, which
 * use the same names: `aal`, `amr`, and `mfa` (the user has a confirmed factor).
 */
export function storedAssurance(
  stored: { aal?: unknown; amr?: unknown; mfa?: unknown },
): { enrolled: boolean; aal: Aal; amr: AmrEntry[] } {
  const amr = readAmr(stored.amr);
  const aal = stored.aal === "aal2" || aalOf(amr) === "aal2" ? "aal2" : "aal1";
  return { enrolled: stored.mfa === true, aal, amr };
}

/**
 * The `amr` entry for a sign-in, named as Supabase names its methods where one fits:
 * magic links `magiclink`, OAuth and OpenID Connect `oauth`, credentials `password`,
 * passkeys `webauthn`; anything else by its Auth.js provider type.
 */
export function signInMethod(
  account: { type?: string; provider?: string } | null | undefined,
  now: number,
): AmrEntry {
  const type = account?.type;
  const method = type === "email"
    ? "magiclink"
    : type === "oauth" || type === "oidc"
    ? "oauth"
    : type === "credentials"
    ? "password"
    : type ?? "unknown";
  return { method, timestamp: Math.floor(now / 1000) };
}

/**
 * `amr` with one more method: an earlier entry for the same method is replaced (so the list
 * stays as short as the number of methods), newest last.
 */
export function addMethod(amr: readonly AmrEntry[] | undefined, entry: AmrEntry): AmrEntry[] {
  return [...(amr ?? []).filter((e) => e.method !== entry.method), entry];
}

/** `amr` as stored (a claim or a jsonb column), keeping only well-formed entries. */
export function readAmr(value: unknown): AmrEntry[] {
  if (!Array.isArray(value)) return [];
  return value.filter((e): e is AmrEntry =>
    typeof e === "object" && e !== null && typeof e.method === "string" &&
    typeof e.timestamp === "number"
  ).slice(0, 16);
}

/** The claims a JWT session carries about its assurance. */
export interface AssuranceClaims {
  aal: Aal;
  amr: AmrEntry[];
  /** The user had a confirmed second factor when this session was made (or upgraded). */
  mfa: boolean;
}

/** The claims a JWT session starts with at sign-in. */
export function signInClaims(
  { account, enrolled, now }: {
    account: { type?: string; provider?: string } | null | undefined;
    enrolled: boolean;
    now: number;
  },
): AssuranceClaims {
  const amr = [signInMethod(account, now)];
  return { aal: aalOf(amr), amr, mfa: enrolled };
}
