/**
 * The `mfa` function: the TOTP second factor (`AUTH_MFA=true`). A signed-in user enrols an
 * authenticator app and gets ten recovery codes; from then on each sign-in gives a partial
 * session until a code (or a recovery code) completes it.
 *
 * - `GET  /mfa` → `{ enrolled, enrollmentPending, aal, mfaRequired, recoveryCodesLeft }`
 * - `POST /mfa/totp/enroll` → `{ secret, uri, qr }`: a pending factor (replacing a pending one)
 * - `POST /mfa/totp/confirm` `{ code }` → `{ aal, recoveryCodes }`: confirms it, the session
 *   becomes `aal2`, the recovery codes are shown this once
 * - `POST /mfa/verify` `{ code }` or `{ recoveryCode }` → `{ aal, … }`: completes a partial
 *   session (or raises a full one to `aal2`)
 * - `POST /mfa/recovery-codes` → `{ recoveryCodes }`: new codes, the old ones end (needs `aal2`)
 * - `POST /mfa/totp/remove` or `DELETE /mfa/totp` → removes the factor and codes (needs `aal2`)
 *
 * The session comes from the cookie or `Authorization: Bearer`; cookie POSTs need the CSRF
 * token (`csrfToken`). A JWT session is re-issued with its new claims: as the session cookie,
 * or as `sessionToken` in the JSON for bearer clients. A database session is updated in place.
 *
 * @example
 * ```ts
 * // supabase/functions/mfa/index.ts
 * Deno.serve(createMfaHandler());
 * ```
 */
import { aalOf, addMethod, type AmrEntry } from "./assurance.ts";
import { createAudit } from "./audit.ts";
import { createAuthOptions } from "./auth_options.ts";
import { readBody } from "./body.ts";
import { loadConfig } from "./config.ts";
import { corsPreflight } from "./cors.ts";
import { csrfCookieName, readCookie, verifyCsrf } from "./csrf.ts";
import { describe, HttpError } from "./errors.ts";
import type { HandlerDeps } from "./handler.ts";
import {
  createSecretBox,
  generateRecoveryCodes,
  hashRecoveryCode,
  normalizeRecoveryCode,
} from "./mfa_secrets.ts";
import { createSessionGuard, type InspectedSession, secondFactorRequired } from "./protect.ts";
import { actionSegments, toPublicUrl } from "./public_url.ts";
import { qrSvg } from "./qr_svg.ts";
import { clientIp, limit, RateLimitedError } from "./rate_limit.ts";
import { withResponseHeaders } from "./respond.ts";
import { serializeCookie } from "./session_fast.ts";
import {
  createSessionCodec,
  readBearerToken,
  readSessionToken,
  sessionCookieName,
} from "./session_token.ts";
import { createStore } from "./store/mod.ts";
import { base32Encode, otpauthUri, TOTP_DEFAULTS, verifyTotp } from "./totp.ts";

export interface MfaHandlerDeps extends HandlerDeps {
  /** The clock (milliseconds) that TOTP steps are read from; tests drive it. */
  now?: () => number;
}

/** Route → the methods it answers. */
const ROUTES: Record<string, readonly string[]> = {
  "mfa": ["GET"],
  "mfa/totp/enroll": ["POST"],
  "mfa/totp/confirm": ["POST"],
  "mfa/verify": ["POST"],
  "mfa/recovery-codes": ["POST"],
  "mfa/totp/remove": ["POST"],
  "mfa/totp": ["DELETE"],
};

/** A TOTP secret of 160 bits, as RFC 4226 recommends. */
const SECRET_BYTES = 20;

export function createMfaHandler(
  deps: MfaHandlerDeps = {},
): (req: Request) => Promise<Response> {
  const config = deps.config ?? loadConfig(deps.env ?? Deno.env.toObject());
  const store = deps.store ?? createStore(config);
  const log = deps.log ?? ((line: string) => console.error(line));
  const now = deps.now ?? Date.now;
  const guard = createSessionGuard(config, { store });
  const box = createSecretBox(config.secrets);
  const audit = createAudit(store, log);
  const cookieName = sessionCookieName(config.publicUrl);
  const codec = createSessionCodec(config.secrets, cookieName, { cacheSize: 0 });
  const cookieOptions = {
    httpOnly: true,
    sameSite: "lax" as const,
    path: "/",
    secure: config.publicUrl.protocol === "https:",
    ...createAuthOptions(config).cookies?.sessionToken?.options,
  };
  const rules = config.rateLimits;

  interface Context {
    req: Request;
    url: URL;
    ip: string | undefined;
    userAgent: string | undefined;
    session: InspectedSession;
    fields: Record<string, unknown>;
  }

  const who = (ctx: Context) => ({
    userId: ctx.session.user.id,
    ip: ctx.ip ?? null,
    userAgent: ctx.userAgent ?? null,
  });

  async function handle(req: Request, ip: string | undefined): Promise<Response> {
    const url = toPublicUrl(new URL(req.url), config.publicUrl);
    const path = actionSegments(url, config.basePath).join("/");
    const methods = Object.hasOwn(ROUTES, path) ? ROUTES[path]! : undefined;
    if (!methods) {
      throw new HttpError(404, "unknown_action", `Cannot handle path "${url.pathname}"`);
    }
    if (req.method === "OPTIONS") return corsPreflight(req, config.allowedOrigins);
    if (!methods.includes(req.method)) {
      throw new HttpError(
        405,
        "method_not_allowed",
        `Cannot ${req.method} /${path}: use ${methods.join(" or ")}`,
        { headers: { Allow: [...methods, "OPTIONS"].join(", ") } },
      );
    }
    if (!config.mfa) {
      throw new HttpError(
        404,
        "mfa_disabled",
        "The second factor is not enabled on this server (AUTH_MFA)",
      );
    }
    const fields = req.method === "GET" ? {} : (await readBody(req)).fields;
    const session = await readSession(req);
    // Cookie requests could be forged by another site; a bearer header cannot.
    if (req.method !== "GET" && readBearerToken(req) === undefined) {
      await verifyCsrf({
        cookieValue: readCookie(req.headers.get("Cookie"), csrfCookieName(url)),
        bodyToken: fields.csrfToken,
        secret: config.secrets,
      });
    }
    const ctx: Context = {
      req,
      url,
      ip,
      userAgent: req.headers.get("User-Agent")?.slice(0, 512),
      session,
      fields,
    };
    switch (path) {
      case "mfa":
        return await status(ctx);
      case "mfa/totp/enroll":
        return await enroll(ctx);
      case "mfa/totp/confirm":
        return await confirm(ctx);
      case "mfa/verify":
        return await verify(ctx);
      case "mfa/recovery-codes":
        return await regenerate(ctx);
      default:
        return await remove(ctx);
    }
  }

  /** The session, partial or not; never an access token (there is no session to raise). */
  async function readSession(req: Request): Promise<InspectedSession> {
    if (!readSessionToken(req, cookieName)) {
      throw new HttpError(401, "session_missing", "Cannot find a session: sign in first", {
        headers: { "WWW-Authenticate": 'Bearer realm="session"' },
      });
    }
    const session = await guard.inspectSession(req);
    if (!session || session.kind === "access_token") {
      throw new HttpError(
        401,
        "session_invalid",
        session
          ? "Cannot use an access token here: send the session (cookie or session token)"
          : "Cannot verify session: it is invalid, expired or signed out",
        { headers: { "WWW-Authenticate": 'Bearer realm="session", error="invalid_token"' } },
      );
    }
    if (session.secondFactorExpired) {
      throw new HttpError(
        401,
        "second_factor_expired",
        "Cannot verify: the second factor was not given within 10 minutes of signing in; sign in again",
        { headers: { "WWW-Authenticate": 'Bearer realm="session", error="invalid_token"' } },
      );
    }
    return session;
  }

  async function status({ session }: Context): Promise<Response> {
    const { factor, recoveryCodesLeft } = await store.mfa.status(session.user.id);
    return Response.json({
      enrolled: Boolean(factor?.confirmedAt),
      enrollmentPending: Boolean(factor && !factor.confirmedAt),
      aal: session.aal,
      mfaRequired: session.secondFactorRequired,
      recoveryCodesLeft,
    });
  }

  async function enroll({ session }: Context): Promise<Response> {
    if (session.secondFactorRequired) throw secondFactorRequired();
    const secret = crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
    const started = await store.mfa.startEnrollment(
      session.user.id,
      await box.seal(secret, session.user.id),
    );
    if (!started) throw alreadyEnrolled();
    const uri = otpauthUri({
      issuer: config.mfaIssuer,
      account: session.user.email ?? session.user.id,
      secret,
    });
    return Response.json({
      secret: base32Encode(secret),
      uri,
      qr: qrSvg(uri, { title: `${config.mfaIssuer} authenticator setup` }),
      algorithm: TOTP_DEFAULTS.algorithm.replace("-", ""),
      digits: TOTP_DEFAULTS.digits,
      period: TOTP_DEFAULTS.period,
    });
  }

  async function confirm(ctx: Context): Promise<Response> {
    const { session } = ctx;
    const code = readTotpCode(ctx.fields.code);
    await countAttempt(ctx);
    const factor = await store.mfa.getFactor(session.user.id);
    if (!factor) {
      throw new HttpError(
        404,
        "mfa_not_enrolled",
        "Cannot confirm: no authenticator is being set up (POST /mfa/totp/enroll first)",
      );
    }
    if (factor.confirmedAt) throw alreadyEnrolled();
    const { secret } = await openSecret(factor.secret, session.user.id);
    const step = await verifyTotp(secret, code, now() / 1000);
    if (step === null) return await refuse(ctx, "totp", "invalid_code");
    const recoveryCodes = generateRecoveryCodes();
    const hashes = await Promise.all(
      recoveryCodes.map((c) => hashRecoveryCode(session.user.id, c)),
    );
    if (!(await store.mfa.confirmEnrollment(session.user.id, factor.id, step, hashes))) {
      throw new HttpError(
        409,
        "mfa_enrollment_changed",
        "Cannot confirm: the setup changed meanwhile (enrol again)",
      );
    }
    await audit("mfa_enrolled", { ...who(ctx), detail: { type: "totp" } });
    return await raised(ctx, "totp", { recoveryCodes });
  }

  async function verify(ctx: Context): Promise<Response> {
    const { session, fields } = ctx;
    const hasCode = fields.code !== undefined;
    const hasRecovery = fields.recoveryCode !== undefined;
    if (hasCode === hasRecovery) {
      throw new HttpError(
        400,
        "malformed_code",
        "Cannot verify: send either code (from the authenticator) or recoveryCode",
      );
    }
    if (hasRecovery) {
      const typed = typeof fields.recoveryCode === "string"
        ? normalizeRecoveryCode(fields.recoveryCode)
        : null;
      if (!typed) {
        throw new HttpError(
          400,
          "malformed_code",
          "Cannot verify: a recovery code has 16 letters and digits (xxxx-xxxx-xxxx-xxxx)",
        );
      }
      await countAttempt(ctx);
      const left = await store.mfa.useRecoveryCode(
        session.user.id,
        await hashRecoveryCode(session.user.id, typed),
      );
      if (left === null) return await refuse(ctx, "recovery", "invalid_code");
      await audit("mfa_verified", { ...who(ctx), detail: { method: "recovery", left } });
      return await raised(ctx, "recovery", { recoveryCodesLeft: left });
    }
    const code = readTotpCode(fields.code);
    await countAttempt(ctx);
    const factor = await store.mfa.getFactor(session.user.id);
    if (!factor?.confirmedAt) throw notEnrolled();
    const { secret, current } = await openSecret(factor.secret, session.user.id);
    const step = await verifyTotp(secret, code, now() / 1000);
    if (step === null) return await refuse(ctx, "totp", "invalid_code");
    // Check and record in one UPDATE: of two requests with one code, only one gets here.
    if (!(await store.mfa.useStep(session.user.id, factor.id, step))) {
      return await refuse(ctx, "totp", "code_already_used");
    }
    if (!current) {
      // Sealed under a rotated-out AUTH_SECRET: move it to the newest while we hold it.
      await store.mfa.resealSecret(factor.id, await box.seal(secret, session.user.id))
        .catch((error) => log(`Cannot re-seal a TOTP secret: ${describe(error)}`));
    }
    await audit("mfa_verified", { ...who(ctx), detail: { method: "totp" } });
    return await raised(ctx, "totp", {});
  }

  async function regenerate(ctx: Context): Promise<Response> {
    const { session } = ctx;
    await requireAal2(session);
    const recoveryCodes = generateRecoveryCodes();
    const hashes = await Promise.all(
      recoveryCodes.map((c) => hashRecoveryCode(session.user.id, c)),
    );
    if (!(await store.mfa.replaceRecoveryCodes(session.user.id, hashes))) throw notEnrolled();
    await audit("mfa_recovery_regenerated", { ...who(ctx) });
    return Response.json({ recoveryCodes });
  }

  async function remove(ctx: Context): Promise<Response> {
    const { session } = ctx;
    const { factor } = await store.mfa.status(session.user.id);
    if (!factor) throw notEnrolled();
    // A confirmed factor is only removed from a session proven with it; a pending setup by
    // any session of the user.
    if (factor.confirmedAt) await requireAal2(session);
    await store.mfa.removeFactor(session.user.id);
    if (factor.confirmedAt) await audit("mfa_removed", { ...who(ctx), detail: { type: "totp" } });
    return Response.json({ enrolled: false });
  }

  async function requireAal2(session: InspectedSession) {
    if (!(await store.mfa.isEnrolled(session.user.id))) throw notEnrolled();
    if (session.aal !== "aal2") {
      throw new HttpError(
        403,
        "second_factor_required",
        "Cannot change the second factor from this session: verify a code first (POST /mfa/verify)",
      );
    }
  }

  /** Counted before any work: per user (the guessing target), then per client IP. */
  async function countAttempt(ctx: Context) {
    await limit(store, { bucket: "mfa_user", key: ctx.session.user.id, rule: rules.mfa_user });
    await limit(store, { bucket: "mfa_ip", key: ctx.ip, rule: rules.mfa_ip });
  }

  async function refuse(
    ctx: Context,
    method: "totp" | "recovery",
    code: "invalid_code" | "code_already_used",
  ): Promise<never> {
    await audit("mfa_failed", { ...who(ctx), detail: { method, reason: code } });
    throw code === "invalid_code"
      ? new HttpError(
        400,
        "invalid_code",
        method === "totp"
          ? "Cannot verify: wrong or expired code"
          : "Cannot verify: unknown or already used recovery code",
      )
      : new HttpError(
        400,
        "code_already_used",
        "Cannot verify: this code was already used; wait for the next one",
      );
  }

  async function openSecret(sealed: string, userId: string) {
    try {
      return await box.open(sealed, userId);
    } catch (error) {
      log(`Cannot open a TOTP secret: ${describe(error)}`);
      throw new HttpError(
        409,
        "factor_unreadable",
        "Cannot check the code: this authenticator was set up under a secret no longer configured; use a recovery code",
      );
    }
  }

  /**
   * The answer after a second factor: the session raised to `aal2` (JWT: re-issued as the
   * cookie, or as `sessionToken` for bearer clients; database: its row updated).
   */
  async function raised(
    ctx: Context,
    method: "totp" | "recovery",
    body: Record<string, unknown>,
  ): Promise<Response> {
    const { session } = ctx;
    const entry: AmrEntry = { method, timestamp: Math.floor(Date.now() / 1000) };
    const amr = addMethod(session.amr, entry);
    const aal = aalOf(amr);
    if (session.kind === "database") {
      if (!(await store.mfa.setSessionAssurance(session.token, { aal, amr }))) {
        throw new HttpError(401, "session_invalid", "Cannot verify session: it was signed out");
      }
      return Response.json({ aal, ...body });
    }
    const { iat: _iat, exp: _exp, jti: _jti, ...claims } = session.claims ?? {};
    const token = await codec.encode({ ...claims, aal, amr, mfa: true }, config.sessionMaxAge);
    if (readBearerToken(ctx.req) !== undefined) {
      return Response.json({ aal, ...body, sessionToken: token });
    }
    const headers = new Headers();
    const expires = new Date(Date.now() + config.sessionMaxAge * 1000);
    headers.append("Set-Cookie", serializeCookie(cookieName, token, { ...cookieOptions, expires }));
    // A session that arrived in chunks is replaced by one cookie: drop the chunks.
    for (const part of (ctx.req.headers.get("Cookie") ?? "").split(";")) {
      const name = part.split("=")[0]!.trim();
      if (name.startsWith(`${cookieName}.`)) {
        headers.append("Set-Cookie", serializeCookie(name, "", { ...cookieOptions, maxAge: 0 }));
      }
    }
    return Response.json({ aal, ...body }, { headers });
  }

  return withResponseHeaders(async (req) => {
    const ip = clientIp(req, config.clientIpHeader);
    try {
      return await handle(req, ip);
    } catch (error) {
      if (error instanceof RateLimitedError && error.first) {
        await audit("rate_limited", {
          ip: ip ?? null,
          userAgent: req.headers.get("User-Agent")?.slice(0, 512) ?? null,
          detail: { bucket: error.bucket, action: "mfa" },
        });
      }
      throw error;
    }
  }, { allowedOrigins: config.allowedOrigins, log });
}

/** A TOTP code as typed: six digits, spaces forgiven (apps show "123 456"). */
function readTotpCode(value: unknown): string {
  const code = typeof value === "string" ? value.replace(/\s+/g, "") : "";
  if (!new RegExp(`^\\d{${TOTP_DEFAULTS.digits}}$`).test(code)) {
    throw new HttpError(
      400,
      "malformed_code",
      `Cannot verify: a code has ${TOTP_DEFAULTS.digits} digits`,
    );
  }
  return code;
}

function alreadyEnrolled(): HttpError {
  return new HttpError(
    409,
    "mfa_already_enrolled",
    "Cannot set up an authenticator: one is already confirmed (remove it first)",
  );
}

function notEnrolled(): HttpError {
  return new HttpError(
    404,
    "mfa_not_enrolled",
    "Cannot use the second factor: no authenticator is set up for this user",
  );
}
