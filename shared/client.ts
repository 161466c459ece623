/**
 * The client SDK: what `next-auth/react` gives Next.js users, for any frontend (plain ESM in
 * a browser, Deno, Node). No dependencies, no framework.
 *
 * Two modes:
 * - `cookie` (default): Auth.js's httpOnly cookies on the functions' site, sent with
 *   `credentials: "include"`; POSTs carry the CSRF token. Cross-site frontends need the
 *   functions to allow their origin (AUTH_ALLOWED_ORIGINS), which also makes the cookies
 *   `SameSite=None; Secure`, and a browser that allows third-party cookies.
 * - `token`: for native apps and browsers that block third-party cookies. Sign-in runs with a
 *   PKCE challenge and ends with a one-time code on `redirectUri`, exchanged for a bearer
 *   session kept in `storage`; every request sends `Authorization: Bearer`.
 *
 * @example
 * ```ts
 * import { createAuthClient } from "./sdk.js";
 * const auth = createAuthClient({ baseUrl: "https://<ref>.supabase.co/functions/v1" });
 * auth.subscribe(({ status, session }) => render(status, session));
 * await auth.signIn("email", { email: "ada@example.com", redirect: false });
 * ```
 */
import { createPasskeyMethods, type CredentialsLike, type PasskeyDescription } from "./passkeys.ts";

export type { CredentialsLike, PasskeyDescription };

/** The session as `GET /session` returns it. */
export interface Session {
  user: { id?: string; name?: string | null; email?: string | null; image?: string | null };
  expires: string;
  [key: string]: unknown;
}

/**
 * `mfa_required`: signed in with the first factor only; the user must give their second
 * factor (`auth.mfa.verify(code)`) before the session counts. `session` is null meanwhile.
 */
export type SessionStatus = "loading" | "authenticated" | "unauthenticated" | "mfa_required";

export interface SessionState {
  status: SessionStatus;
  session: Session | null;
}

/** A sign-in method as `GET /providers` lists it. */
export interface ClientProvider {
  id: string;
  name: string;
  type: "oauth" | "oidc" | "email" | "credentials" | "webauthn" | string;
  signinUrl: string;
  callbackUrl: string;
}

/** Where token mode keeps its session and pending sign-ins; `localStorage` fits. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface AuthClientOptions {
  /** The functions' public URL, e.g. `https://<ref>.supabase.co/functions/v1`. */
  baseUrl: string;
  /** `cookie` (default) or `token` (PKCE code exchange, bearer session). */
  mode?: "cookie" | "token";
  /** Token mode: where the code comes back; default: this page without query or hash. */
  redirectUri?: string;
  /** Token mode storage; default `localStorage` (shared by tabs), else memory. */
  storage?: KeyValueStorage;
  fetch?: typeof fetch;
  /** Refetch when the page becomes visible or focused (default true). */
  refetchOnFocus?: boolean;
  /** Seconds between keepalive refetches; 0 (default) disables. */
  refetchInterval?: number;
  /** Keep tabs in sync over BroadcastChannel (default true). */
  broadcast?: boolean;
  /** Passkeys' WebAuthn; default `navigator.credentials`. */
  credentials?: CredentialsLike;
}

export interface SignInOptions {
  /** Where to land afterwards (an allowed origin); default: this page. */
  callbackUrl?: string;
  /** Navigate to the URL Auth.js answers (default true; OAuth always navigates). */
  redirect?: boolean;
  /** Email provider: the address to send the link to. */
  email?: string;
  /** Credentials provider fields (e.g. `username`, `password`). */
  [field: string]: string | boolean | undefined;
}

export interface SignInResult {
  ok: boolean;
  /** Auth.js's error code (e.g. `CredentialsSignin`), when it refused. */
  error?: string;
  /** Where Auth.js would send the browser next. */
  url?: string;
}

/** `GET /mfa`: the user's second factor and this session's assurance. */
export interface MfaStatus {
  /** An authenticator is confirmed for the user. */
  enrolled: boolean;
  /** An authenticator is being set up (enrolled, not yet confirmed with a code). */
  enrollmentPending: boolean;
  /** `aal2` once this session was proven with the second factor. */
  aal: "aal1" | "aal2";
  /** This session still needs the second factor. */
  mfaRequired: boolean;
  recoveryCodesLeft: number;
}

/** `auth.mfa.enroll()`: what to show for the authenticator app. */
export interface MfaEnrollment {
  /** The base32 secret, for typing in by hand. */
  secret: string;
  /** `otpauth://totp/…`, the content of the QR code. */
  uri: string;
  /** The QR code as an SVG document (put it in an `<img src="data:image/svg+xml,…">`). */
  qr: string;
}

/** The TOTP second factor (the `mfa` function, when the deployment sets `AUTH_MFA=true`). */
export interface MfaClient {
  status(): Promise<MfaStatus>;
  /** Starts setting up an authenticator app (replacing an unconfirmed setup). */
  enroll(): Promise<MfaEnrollment>;
  /**
   * Confirms the setup with a first code; this session becomes `aal2`. The recovery codes
   * are shown this once: let the user keep them.
   */
  confirm(code: string): Promise<{ recoveryCodes: string[] }>;
  /** Completes a sign-in (`status: "mfa_required"`) with a code from the app. */
  verify(code: string): Promise<Session | null>;
  /** Completes a sign-in with a recovery code instead (each works once). */
  verifyRecoveryCode(code: string): Promise<Session | null>;
  /** New recovery codes; the old ones stop working. Needs an `aal2` session. */
  regenerateRecoveryCodes(): Promise<{ recoveryCodes: string[] }>;
  /** Removes the authenticator and recovery codes. Needs an `aal2` session. */
  remove(): Promise<void>;
}

/** A failed request to the functions, with their stable error code. */
export class AuthClientError extends Error {
  override name = "AuthClientError";
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export interface AuthClient {
  readonly mode: "cookie" | "token";
  /** The current session, fetched fresh (and shared with subscribers). */
  getSession(): Promise<Session | null>;
  getCsrfToken(): Promise<string>;
  getProviders(): Promise<Record<string, ClientProvider>>;
  signIn(provider: string, options?: SignInOptions): Promise<SignInResult>;
  signOut(options?: { callbackUrl?: string; redirect?: boolean }): Promise<void>;
  /** Sends `data` to Auth.js's session update (`jwt` callback with `trigger: "update"`). */
  update(data?: unknown): Promise<Session | null>;
  /**
   * Token mode: finishes a sign-in when this page is the `redirectUri` carrying `code` and
   * `state`; cleans them from the address bar. True when a session was obtained.
   */
  handleRedirectCallback(url?: string): Promise<boolean>;
  /**
   * A short-lived Supabase access token for the signed-in user (the `access-token` function:
   * `sub` = the user's id, `role` = `authenticated`), or null when signed out. Cached until
   * shortly before it expires. Hand it to supabase-js to query under Row Level Security:
   *
   * ```ts
   * const supabase = createClient(SUPABASE_URL, SUPABASE_PUBLISHABLE_KEY, {
   *   accessToken: () => auth.accessToken(),
   * });
   * ```
   */
  accessToken(): Promise<string | null>;
  /** The last known state, without a request. */
  readonly state: SessionState;
  /** Calls `listener` now and on every change; returns the unsubscribe function. */
  subscribe(listener: (state: SessionState) => void): () => void;
  /** Removes listeners, timers and the BroadcastChannel. */
  destroy(): void;
  /** The TOTP second factor: enrol, confirm, verify, recovery codes. */
  readonly mfa: MfaClient;
  /**
   * Passkeys (`AUTH_PASSKEYS=true`, cookie mode): adds one to the signed-in user through
   * `navigator.credentials.create`; resolves with its id.
   */
  registerPasskey(): Promise<{ id: string }>;
  /** Signs in with a passkey (`navigator.credentials.get`); resolves with the new session. */
  signInWithPasskey(): Promise<Session | null>;
  /** The signed-in user's passkeys, newest first. */
  listPasskeys(): Promise<PasskeyDescription[]>;
  /** Removes one of the signed-in user's passkeys by id. */
  removePasskey(id: string): Promise<void>;
}

const TOKEN_KEY = "authjs.session-token";
const PENDING_KEY = "authjs.pending.";

/**
 * Creates a client for one deployment. In a browser it also wires tab sync, focus
 * revalidation and the keepalive; elsewhere those are off.
 *
 * @example
 * ```ts
 * const auth = createAuthClient({ baseUrl, mode: "token" });
 * await auth.handleRedirectCallback(); // after the provider sends the user back
 * const session = await auth.getSession();
 * ```
 */
export function createAuthClient(options: AuthClientOptions): AuthClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const mode = options.mode ?? "cookie";
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const storage = options.storage ?? defaultStorage();
  const location = (globalThis as { location?: Location }).location;
  const here = () => (location ? `${location.origin}${location.pathname}` : baseUrl);
  const listeners = new Set<(state: SessionState) => void>();
  const cleanups: (() => void)[] = [];
  let state: SessionState = { status: "loading", session: null };
  let inflight: Promise<Session | null> | undefined;

  const channel = options.broadcast !== false && typeof BroadcastChannel !== "undefined"
    ? new BroadcastChannel(`authjs:${baseUrl}`)
    : undefined;
  if (channel) {
    // Another tab changed the session: look again, and do not echo.
    channel.onmessage = () => void refresh(false);
    cleanups.push(() => channel.close());
  }

  function setState(session: Session | null, announce: boolean, mfaRequired = false) {
    const before = identity(state);
    state = {
      status: session ? "authenticated" : mfaRequired ? "mfa_required" : "unauthenticated",
      session,
    };
    if (announce && before !== identity(state)) channel?.postMessage({ event: "session" });
    for (const listener of listeners) listener(state);
  }

  async function request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const token = mode === "token" ? storage.getItem(TOKEN_KEY) : null;
    if (token) headers.set("Authorization", `Bearer ${token}`);
    return await doFetch(`${baseUrl}${path}`, {
      ...init,
      headers,
      credentials: mode === "cookie" ? "include" : "omit",
    });
  }

  async function json<T>(response: Response): Promise<T> {
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      throw new AuthClientError(
        response.status,
        body?.error ?? "request_failed",
        body?.message ?? `Request failed with status ${response.status}`,
      );
    }
    return body as T;
  }

  function postForm(path: string, fields: Record<string, string>): Promise<Response> {
    return request(path, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Auth-Return-Redirect": "1",
      },
      body: new URLSearchParams(fields),
    });
  }

  /** Reads (and keeps) a renewed bearer token; the field never reaches callers. */
  function takeToken(body: { sessionToken?: unknown } | null) {
    if (body && typeof body.sessionToken === "string") {
      storage.setItem(TOKEN_KEY, body.sessionToken);
      delete body.sessionToken;
    }
  }

  /** A `/session` answer: the session, or null (signed out, or waiting for a second factor). */
  function takeSession(
    body: (Session & { sessionToken?: string; mfaRequired?: boolean }) | null,
  ): { session: Session | null; mfaRequired: boolean } {
    takeToken(body);
    if (!body || !body.user) return { session: null, mfaRequired: body?.mfaRequired === true };
    return { session: body, mfaRequired: false };
  }

  function refresh(announce: boolean): Promise<Session | null> {
    inflight ??= (async () => {
      try {
        if (mode === "token" && !storage.getItem(TOKEN_KEY)) {
          return { session: null, mfaRequired: false };
        }
        return takeSession(await json(await request("/session")));
      } finally {
        inflight = undefined;
      }
    })().then(({ session, mfaRequired }) => {
      setState(session, announce, mfaRequired);
      return session;
    });
    return inflight;
  }

  async function getCsrfToken(): Promise<string> {
    const { csrfToken } = await json<{ csrfToken: string }>(await request("/csrf"));
    return csrfToken;
  }

  async function getProviders(): Promise<Record<string, ClientProvider>> {
    return await json(await request("/providers"));
  }

  async function signIn(provider: string, opts: SignInOptions = {}): Promise<SignInResult> {
    const { callbackUrl = here(), redirect = true, email, ...fields } = opts;
    const providers = await getProviders();
    const type = providers[provider]?.type;
    if (!type) throw new AuthClientError(404, "unknown_provider", `No provider "${provider}"`);
    if (mode === "token") return await signInWithToken(provider, type, email);

    const csrfToken = await getCsrfToken();
    const form: Record<string, string> = { csrfToken, callbackUrl };
    if (email !== undefined) form.email = email;
    for (const [key, value] of Object.entries(fields)) {
      if (typeof value === "string") form[key] = value;
    }
    const path = type === "credentials" ? `/callback/${provider}` : `/signin/${provider}`;
    const { url } = await json<{ url: string }>(await postForm(path, form));
    const error = new URL(url).searchParams.get("error") ?? undefined;
    if (error) return { ok: false, error, url };
    if (type === "oauth" || type === "oidc" || (redirect && type !== "credentials")) {
      navigate(url);
    } else if (type === "credentials") {
      await refresh(true);
    }
    return { ok: true, url };
  }

  async function signInWithToken(
    provider: string,
    type: string,
    email: string | undefined,
  ): Promise<SignInResult> {
    const redirectUri = options.redirectUri ?? here();
    const verifier = randomString(32);
    const state = randomString(16);
    storage.setItem(`${PENDING_KEY}${state}`, JSON.stringify({ verifier, redirectUri }));
    const params = {
      provider,
      code_challenge: await s256(verifier),
      code_challenge_method: "S256",
      redirect_uri: redirectUri,
      state,
    };
    if (type === "email") {
      const { url } = await json<{ url: string }>(
        await request("/token/authorize", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ ...params, email }),
        }),
      );
      const error = new URL(url).searchParams.get("error") ?? undefined;
      return error ? { ok: false, error, url } : { ok: true, url };
    }
    // OAuth keeps its state in cookies, set first-party only by a navigation.
    const url = `${baseUrl}/token/authorize?${new URLSearchParams(params)}`;
    navigate(url);
    return { ok: true, url };
  }

  async function handleRedirectCallback(url = location?.href): Promise<boolean> {
    if (mode !== "token" || !url) return false;
    const current = new URL(url);
    const code = current.searchParams.get("code");
    const stateParam = current.searchParams.get("state");
    if (!code || !stateParam) return false;
    const pending = storage.getItem(`${PENDING_KEY}${stateParam}`);
    const expected = new URL(options.redirectUri ?? here());
    const atRedirectUri = current.origin === expected.origin &&
      current.pathname === expected.pathname;
    if (pending || atRedirectUri) {
      // A code in the address bar leaks (history, Referer): drop it at once, ours or not.
      for (const name of ["code", "state", "error"]) current.searchParams.delete(name);
      (globalThis as { history?: History }).history?.replaceState(null, "", current.href);
    }
    if (!pending) return false; // not ours (or already used): never exchange a stranger's code
    storage.removeItem(`${PENDING_KEY}${stateParam}`);
    const { verifier, redirectUri } = JSON.parse(pending);
    const { sessionToken } = await json<{ sessionToken: string }>(
      await request("/token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ code, code_verifier: verifier, redirect_uri: redirectUri }),
      }),
    );
    storage.setItem(TOKEN_KEY, sessionToken);
    return (await refresh(true)) !== null;
  }

  async function signOut(opts: { callbackUrl?: string; redirect?: boolean } = {}) {
    const { callbackUrl = here(), redirect = false } = opts;
    const fields: Record<string, string> = { callbackUrl };
    if (mode === "cookie") fields.csrfToken = await getCsrfToken();
    const { url } = await json<{ url: string }>(await postForm("/signout", fields));
    if (mode === "token") storage.removeItem(TOKEN_KEY);
    setState(null, true);
    if (redirect) navigate(url);
  }

  async function update(data?: unknown): Promise<Session | null> {
    const body: Record<string, unknown> = { data };
    if (mode === "cookie") body.csrfToken = await getCsrfToken();
    const { session, mfaRequired } = takeSession(
      await json(
        await request("/session", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
        }),
      ),
    );
    setState(session, true, mfaRequired);
    return session;
  }

  /** A JSON POST (or DELETE) to the mfa function, with the CSRF token in cookie mode. */
  async function mfaRequest<T>(path: string, body: Record<string, unknown> = {}): Promise<T> {
    if (mode === "cookie") body = { ...body, csrfToken: await getCsrfToken() };
    const answer = await json<T & { sessionToken?: string }>(
      await request(`/mfa${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      }),
    );
    takeToken(answer);
    return answer;
  }

  /**
   * Gives the second factor. A partial session that waited too long (10 minutes) is gone:
   * the state turns "unauthenticated" before the error (`second_factor_expired`) is thrown.
   */
  async function completeSignIn(body: Record<string, string>): Promise<Session | null> {
    try {
      await mfaRequest("/verify", body);
    } catch (error) {
      if (error instanceof AuthClientError && error.code === "second_factor_expired") {
        await refresh(true);
      }
      throw error;
    }
    access = undefined;
    return await refresh(true);
  }

  const mfa: MfaClient = {
    async status() {
      return await json<MfaStatus>(await request("/mfa"));
    },
    async enroll() {
      const { secret, uri, qr } = await mfaRequest<MfaEnrollment>("/totp/enroll");
      return { secret, uri, qr };
    },
    async confirm(code) {
      const { recoveryCodes } = await mfaRequest<{ recoveryCodes: string[] }>(
        "/totp/confirm",
        { code },
      );
      access = undefined;
      await refresh(true);
      return { recoveryCodes };
    },
    async verify(code) {
      return await completeSignIn({ code });
    },
    async verifyRecoveryCode(recoveryCode) {
      return await completeSignIn({ recoveryCode });
    },
    async regenerateRecoveryCodes() {
      const { recoveryCodes } = await mfaRequest<{ recoveryCodes: string[] }>(
        "/recovery-codes",
      );
      return { recoveryCodes };
    },
    async remove() {
      await mfaRequest("/totp/remove");
    },
  };

  const doc = (globalThis as { document?: Document }).document;
  if (doc && options.refetchOnFocus !== false) {
    const onVisible = () => {
      if (doc.visibilityState === "visible") void refresh(false).catch(() => {});
    };
    doc.addEventListener("visibilitychange", onVisible);
    globalThis.addEventListener?.("focus", onVisible);
    cleanups.push(() => {
      doc.removeEventListener("visibilitychange", onVisible);
      globalThis.removeEventListener?.("focus", onVisible);
    });
  }
  if (options.refetchInterval && options.refetchInterval > 0) {
    const timer = setInterval(
      () => void refresh(false).catch(() => {}),
      options.refetchInterval * 1000,
    );
    cleanups.push(() => clearInterval(timer));
  }

  let access: { token: string; expiresAt: number; owner: string } | undefined;
  /** Refreshed this many seconds before the token's `exp`, so a query never carries a stale one. */
  const ACCESS_MARGIN = 30;

  async function accessToken(): Promise<string | null> {
    const owner = identity(state);
    if (access && access.owner === owner && access.expiresAt - ACCESS_MARGIN > Date.now() / 1000) {
      return access.token;
    }
    access = undefined;
    const response = await request("/access-token");
    // Signed out, or signed in without the second factor yet: no token.
    if (response.status === 401) {
      await response.body?.cancel();
      return null;
    }
    if (response.status === 403) {
      const refused = await response.clone().json().catch(() => null);
      if (refused?.error === "second_factor_required") {
        await response.body?.cancel();
        return null;
      }
    }
    const body = await json<{ access_token: string; expires_at: number }>(response);
    access = { token: body.access_token, expiresAt: body.expires_at, owner };
    return body.access_token;
  }

  const passkeys = createPasskeyMethods({
    mode,
    credentials: options.credentials,
    request,
    json,
    postForm,
    getCsrfToken,
    refresh,
    fail: (status, code, message) => new AuthClientError(status, code, message),
  });

  return {
    ...passkeys,
    mode,
    mfa,
    accessToken,
    getSession: () => refresh(true),
    getCsrfToken,
    getProviders,
    signIn,
    signOut,
    update,
    handleRedirectCallback,
    get state() {
      return state;
    },
    subscribe(listener) {
      listeners.add(listener);
      listener(state);
      return () => listeners.delete(listener);
    },
    destroy() {
      listeners.clear();
      for (const cleanup of cleanups.splice(0)) cleanup();
    },
  };
}

function identity(state: SessionState): string {
  if (state.status === "loading") return "loading";
  if (state.status === "mfa_required") return "mfa";
  return state.session ? `user:${state.session.user.id ?? state.session.user.email}` : "none";
}

function navigate(url: string) {
  const location = (globalThis as { location?: Location }).location;
  if (location) location.assign(url);
}

function defaultStorage(): KeyValueStorage {
  try {
    const local = (globalThis as { localStorage?: KeyValueStorage }).localStorage;
    if (local) return local;
  } catch {
    // storage disabled (some private modes): fall back to memory
  }
  const memory = new Map<string, string>();
  return {
    getItem: (key) => memory.get(key) ?? null,
    setItem: (key, value) => void memory.set(key, value),
    removeItem: (key) => void memory.delete(key),
  };
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** PKCE S256: BASE64URL(SHA-256(verifier)). */
export async function s256(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}
