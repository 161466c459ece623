/**
 * Passkeys around Auth.js's WebAuthn actions: what the handler checks before `Auth()` sees a
 * passkey request, what a failure becomes afterwards, and the account API's list and remove.
 *
 * - `GET /webauthn-options/passkey?action=authenticate|register` — registering needs a
 *   session (a passkey is added to the signed-in user, never used to create one).
 * - `POST /callback/passkey` with `action`, `data` (the credential as JSON) and `csrfToken`:
 *   malformed input is a 400 before Auth.js runs; each challenge works once; a refused
 *   passkey is a 4xx with a stable code (JSON for fetch clients, `&code=` on the error page
 *   for form posts).
 * - `GET /account/passkeys`, `POST /account/passkeys/remove` (`account_handler.ts`).
 *
 * @example
 * ```ts
 * const gate = createPasskeyGate(config, store);
 * await gate.prepare("callback", req, url, fields); // throws an HttpError for bad input
 * ```
 */
import type { AdapterAccount } from "@auth/core/adapters";
import type { AppConfig } from "./config.ts";
import { readCookie, sha256Hex } from "./csrf.ts";
import { HttpError } from "./errors.ts";
import { createSessionGuard, type VerifiedSession } from "./protect.ts";
import { causes } from "./redirects.ts";
import type { PasskeyInfo, Store } from "./store/mod.ts";

/** How long Auth.js's challenge cookie lives (`WEBAUTHN_CHALLENGE_MAX_AGE`). */
const CHALLENGE_MAX_AGE = 15 * 60;
/** A credential id is at most 1023 bytes (WebAuthn §5.8.3): 1364 characters of base64. */
const CREDENTIAL_ID = /^[A-Za-z0-9+/_-]{1,1364}={0,2}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

export interface PasskeyGate {
  /**
   * Checks a passkey request before Auth.js answers it; throws an `HttpError` for what
   * Auth.js would answer with an error page or a 500. May rewrite `url`'s query.
   */
  prepare(
    group: string,
    req: Request,
    url: URL,
    fields: Record<string, unknown> | undefined,
  ): Promise<void>;
  /**
   * A passkey callback's answer: unchanged on success; on failure (`failure` is the error
   * Auth.js redirected to) a 4xx with a stable code for fetch clients, or the same redirect
   * with `code=` added for a form post.
   */
  settle(
    response: Response,
    context: {
      req: Request;
      failure: string | undefined;
      errors: unknown[];
      /** The POST's fields (`action` tells a registration from a sign-in). */
      fields?: Record<string, unknown>;
    },
  ): Promise<Response>;
  /** The store for one passkey request (see `withAtomicPasskeys`). */
  adapter(store: Store): Store;
}

export function createPasskeyGate(config: AppConfig, store: Store): PasskeyGate {
  const guard = createSessionGuard(config, { store });
  const https = config.publicUrl.protocol === "https:";
  const challengeCookie = `${https ? "__Secure-" : ""}authjs.challenge`;

  /** The signed-in user, as Auth.js will see them: from the cookie only. */
  async function signedIn(req: Request): Promise<VerifiedSession> {
    const cookieOnly = new Request(req.url, {
      headers: { Cookie: req.headers.get("Cookie") ?? "" },
    });
    const session = await guard.getSession(cookieOnly);
    if (!session) {
      throw new HttpError(401, "session_missing", "Cannot register a passkey: sign in first");
    }
    // A JWT session outlives a deleted user; Auth.js would then create the user anew.
    if (!await store.getUser(session.user.id)) {
      throw new HttpError(401, "session_invalid", "Cannot register a passkey: sign in again");
    }
    if (!session.user.email) {
      // Auth.js names the credential after the address (the authenticator shows it).
      throw new HttpError(
        409,
        "passkey_unavailable",
        "Cannot register a passkey: the account has no email address",
      );
    }
    return session;
  }

  async function prepare(
    group: string,
    req: Request,
    url: URL,
    fields: Record<string, unknown> | undefined,
  ) {
    if (group === "webauthn-options") {
      // Auth.js infers "register" for an unknown address when no action is given; here a
      // missing action always means signing in.
      const action = url.searchParams.get("action") ?? "authenticate";
      if (action !== "authenticate" && action !== "register") {
        throw new HttpError(
          400,
          "invalid_passkey_action",
          'Cannot prepare a passkey ceremony: action must be "authenticate" or "register"',
        );
      }
      url.searchParams.set("action", action);
      if (action === "register") await signedIn(req);
      return;
    }
    if (group !== "callback") return;
    if (req.method !== "POST") {
      throw new HttpError(
        405,
        "method_not_allowed",
        "Cannot GET /callback/passkey: POST the credential",
        { headers: { Allow: "POST, OPTIONS" } },
      );
    }
    const action = fields?.action;
    if (action !== "authenticate" && action !== "register") {
      throw new HttpError(
        400,
        "invalid_passkey_response",
        'Cannot verify the passkey: action must be "authenticate" or "register"',
      );
    }
    checkCredential(action, fields?.data);
    if (action === "register") await signedIn(req);

    // Auth.js keeps the challenge only in a sealed cookie, valid 15 minutes, and would accept
    // the same cookie and response again: each challenge is let through once.
    const cookie = readCookie(req.headers.get("Cookie"), challengeCookie);
    if (!cookie) {
      throw new HttpError(
        400,
        "passkey_challenge_missing",
        "Cannot verify the passkey: no challenge (or an expired one): start again at /webauthn-options/passkey",
      );
    }
    const { hits } = await store.hitRateLimit({
      bucket: "passkey_challenge",
      key: await sha256Hex(cookie),
      windowSec: CHALLENGE_MAX_AGE,
    });
    if (hits > 1) {
      throw new HttpError(
        400,
        "passkey_challenge_used",
        "Cannot verify the passkey: this challenge was already used: start again at /webauthn-options/passkey",
      );
    }
  }

  async function settle(
    response: Response,
    { req, failure, errors, fields }: {
      req: Request;
      failure: string | undefined;
      errors: unknown[];
      fields?: Record<string, unknown>;
    },
  ): Promise<Response> {
    const action = fields?.action === "register" ? "register" : "authenticate";
    if (!failure) return response;
    const refusal = classify(errors, action);
    const json = req.headers.has("X-Auth-Return-Redirect");
    if (!refusal) {
      if (!json) return response;
      // Input was checked before Auth.js ran: what is left is ours (a database error).
      await response.body?.cancel();
      throw new HttpError(500, "internal_error", "Something went wrong on our side");
    }
    if (json) {
      await response.body?.cancel();
      // Auth.js's answer clears the challenge cookie: keep that.
      const headers = response.headers.getSetCookie().map((line) => ["Set-Cookie", line]);
      throw new HttpError(refusal.status, refusal.code, refusal.message, {
        headers: headers as [string, string][],
      });
    }
    const location = response.headers.get("Location");
    if (!location) return response;
    const target = new URL(location);
    target.searchParams.set("code", refusal.code);
    const headers = new Headers(response.headers);
    headers.set("Location", target.href);
    await response.body?.cancel();
    return new Response(null, { status: response.status, headers });
  }

  return { prepare, settle, adapter: withAtomicPasskeys };
}

/** What a WebAuthn credential needs to be worth verifying; anything else is a 400. */
function checkCredential(action: "authenticate" | "register", data: unknown) {
  const refuse = (why: string): never => {
    throw new HttpError(400, "invalid_passkey_response", `Cannot verify the passkey: ${why}`);
  };
  if (typeof data !== "string" || data === "") refuse("data must be the credential as JSON");
  let credential: unknown;
  try {
    credential = JSON.parse(data as string);
  } catch {
    refuse("data is not valid JSON");
  }
  const c = credential as Record<string, unknown> | null;
  if (!c || typeof c !== "object" || Array.isArray(c)) refuse("data must be a JSON object");
  const text = (value: unknown) => typeof value === "string" && value !== "" && B64URL.test(value);
  if (!text(c!.id) || !CREDENTIAL_ID.test(c!.id as string) || c!.rawId !== c!.id) {
    refuse("id and rawId must be the same base64url credential id");
  }
  if (c!.type !== "public-key") refuse('type must be "public-key"');
  const r = c!.response as Record<string, unknown> | null;
  if (!r || typeof r !== "object" || !text(r.clientDataJSON)) {
    refuse("response.clientDataJSON is missing");
  }
  const parts = action === "register" ? ["attestationObject"] : ["authenticatorData", "signature"];
  for (const part of parts) {
    if (!text(r![part])) refuse(`response.${part} is missing`);
  }
  if (action === "register" && r!.transports !== undefined) {
    const transports = r!.transports;
    if (
      !Array.isArray(transports) || transports.length > 8 ||
      !transports.every((t) => typeof t === "string" && /^[a-z-]{1,32}$/.test(t))
    ) refuse("response.transports must be a list of transport names");
  }
}

interface Refusal {
  status: number;
  code: string;
  message: string;
}

/** Why Auth.js refused a passkey, from the errors it logged; undefined when unexplained. */
function classify(errors: unknown[], action: "register" | "authenticate"): Refusal | undefined {
  for (const error of errors) {
    const chain = causes(error);
    const type = (e: unknown) => (e as { type?: unknown }).type;
    const message = (e: unknown) => String((e as { message?: unknown }).message ?? "");
    if (chain.some((e) => type(e) === "WebAuthnVerificationError")) {
      return {
        status: 401,
        code: "passkey_verification_failed",
        message:
          "Cannot verify the passkey: its signature, origin, RP ID or challenge does not match",
      };
    }
    if (chain.some((e) => /WebAuthn (authenticator|account|user) not found/.test(message(e)))) {
      return {
        status: 401,
        code: "passkey_unknown",
        message: "Cannot sign in: this passkey is not registered here (it may have been removed)",
      };
    }
    if (
      chain.some((e) =>
        type(e) === "InvalidCheck" || /Missing user registration data/.test(message(e))
      )
    ) {
      return {
        status: 400,
        code: "passkey_challenge_missing",
        message:
          "Cannot verify the passkey: the challenge is missing or expired: start again at /webauthn-options/passkey",
      };
    }
    if (action === "authenticate" && chain.some((e) => type(e) === "AccountNotLinked")) {
      return {
        status: 409,
        code: "passkey_other_user",
        message: "Cannot sign in with this passkey: it is another user's; sign out first",
      };
    }
    if (
      chain.some((e) =>
        type(e) === "AccountNotLinked" || (e as { code?: unknown }).code === "23505"
      )
    ) {
      return {
        status: 409,
        code: "passkey_already_registered",
        message: "Cannot register the passkey: it is already registered",
      };
    }
    if (chain.some((e) => type(e) === "AccessDenied")) {
      return { status: 403, code: "access_denied", message: "Cannot sign in: access denied" };
    }
  }
  return undefined;
}

/**
 * The store for one passkey callback: Auth.js links the passkey's account, then creates its
 * authenticator, in two calls; here the account waits for its authenticator and both are
 * written in one statement (`createPasskey`), so a failure leaves neither.
 */
export function withAtomicPasskeys(store: Store): Store {
  let pending: AdapterAccount | undefined;
  return {
    ...store,
    linkAccount(account) {
      if (account.type !== "webauthn") return store.linkAccount(account);
      pending = account;
      return Promise.resolve(account);
    },
    createAuthenticator(authenticator) {
      const account = pending;
      pending = undefined;
      return account && account.providerAccountId === authenticator.providerAccountId
        ? store.createPasskey(account, authenticator)
        : store.createAuthenticator(authenticator);
    },
  };
}

/**
 * A credential id as the browser spells it (`PublicKeyCredential.id`, base64url) from the
 * form Auth.js stores (standard base64).
 *
 * @example
 * ```ts
 * toCredentialId("q83v+/8="); // "q83v-_8"
 * ```
 */
export function toCredentialId(stored: string): string {
  return stored.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The stored form (standard base64, padded) of a credential id given in either spelling;
 * undefined when it cannot be one.
 *
 * @example
 * ```ts
 * fromCredentialId("q83v-_8"); // "q83v+/8="
 * ```
 */
export function fromCredentialId(id: unknown): string | undefined {
  if (typeof id !== "string" || !CREDENTIAL_ID.test(id)) return undefined;
  const bare = id.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  if (bare.length % 4 === 1) return undefined;
  return bare + "=".repeat((4 - (bare.length % 4)) % 4);
}

/** A passkey as `GET /account/passkeys` lists it. */
export function describePasskey(passkey: PasskeyInfo) {
  return {
    id: toCredentialId(passkey.credentialID),
    deviceType: passkey.deviceType,
    backedUp: passkey.backedUp,
    transports: passkey.transports,
    createdAt: passkey.createdAt.toISOString(),
    lastUsedAt: passkey.lastUsedAt?.toISOString() ?? null,
  };
}
