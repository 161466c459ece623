/**
 * What the two halves of the OAuth 1.0a bridge share: the `oauth1` function (browser
 * redirects to and from the service) and the Auth.js provider (the code exchange and the
 * profile, inside Auth.js's callback). Both are stateless; what travels between requests is
 * sealed with the deployment's secret (the JWE format of Auth.js sessions, keys per purpose).
 *
 * 1. Auth.js (`POST /signin/<id>`) redirects to `/oauth1/<id>/authorize` with its `state`
 *    and PKCE `code_challenge`. The function gets temporary credentials from the service,
 *    keeps them with the state and challenge in a sealed cookie (`Flow`, 10 minutes), and
 *    sends the browser to the service.
 * 2. The service sends the browser to `/oauth1/<id>/callback?oauth_token&oauth_verifier`.
 *    The function checks the token against the cookie, clears it, and redirects to Auth.js's
 *    `/callback/<id>?code=<sealed Code>&state=…`.
 * 3. Auth.js checks state and PKCE cookies as for any OAuth 2 provider and "exchanges" the
 *    code: the provider's fetch opens it, checks the PKCE verifier, and asks the service for
 *    token credentials; the profile is a signed request. The user and account rows are
 *    Auth.js's own work.
 *
 * @example
 * ```ts
 * const urls = bridgeUrls(config.publicUrl, "twitter");
 * urls.authorize; // "https://<ref>.supabase.co/functions/v1/oauth1/twitter/authorize"
 * ```
 */
import { base64url } from "jose";
import { createSessionCodec, type SessionCodec } from "../session_token.ts";

/** Seconds from the bridge's authorize to the service's callback (the user logs in there). */
export const FLOW_MAX_AGE = 10 * 60;
/** Seconds from the bridge's callback to Auth.js's exchange (one redirect). */
export const CODE_MAX_AGE = 5 * 60;

/** A sign-in between authorize and callback, kept in the browser's cookie. */
export interface Flow {
  /** Provider id. */
  p: string;
  /** Temporary credentials: token and secret. */
  t: string;
  s: string;
  /** Auth.js's state and PKCE challenge. */
  st: string;
  c: string;
}

/** The code Auth.js exchanges: the authorized temporary credentials and the verifier. */
export interface Code {
  p: string;
  t: string;
  s: string;
  v: string;
  c: string;
}

export function bridgeUrls(publicUrl: URL, id: string) {
  const base = publicUrl.href.replace(/\/+$/, "");
  return {
    /** Auth.js's authorization endpoint for this provider. */
    authorize: `${base}/oauth1/${id}/authorize`,
    /** The `oauth_callback` the service returns to. */
    callback: `${base}/oauth1/${id}/callback`,
    /** Auth.js's own callback, the only `redirect_uri` accepted. */
    authjsCallback: `${base}/callback/${id}`,
    /**
     * Auth.js's token endpoint. Never fetched: the provider's fetch answers it in-process
     * (`.invalid` cannot resolve, should that ever change).
     */
    token: `https://oauth1.invalid/${id}/token`,
    /** Auth.js's userinfo endpoint when the profile is the token response; never fetched either. */
    userinfo: `https://oauth1.invalid/${id}/userinfo`,
  };
}

export interface FlowCodecs {
  flow: SessionCodec;
  code: SessionCodec;
  /** Opens Auth.js's own `state` values (see `handler.ts`). */
  authjsState: SessionCodec;
}

/** One key per purpose: a flow cookie cannot pass as a code, nor either as a session. */
export function createFlowCodecs(secrets: readonly string[]): FlowCodecs {
  return {
    flow: createSessionCodec(secrets, "authjs.oauth1-flow", { cacheSize: 0 }),
    code: createSessionCodec(secrets, "authjs.oauth1-code", { cacheSize: 0 }),
    // @auth/core 0.41 seals `state` with the secret and this salt, for 15 minutes
    // (lib/actions/callback/oauth/checks.js).
    authjsState: createSessionCodec(secrets, "encodedState", { cacheSize: 0 }),
  };
}

/** The flow cookie: one per provider, httpOnly, first-party (`__Host-` on https). */
export function flowCookieName(publicUrl: URL, id: string): string {
  return `${publicUrl.protocol === "https:" ? "__Host-" : ""}authjs.oauth1.${id}`;
}

/** PKCE S256 (RFC 7636): BASE64URL(SHA-256(verifier)). */
export async function pkceChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url.encode(new Uint8Array(digest));
}

export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
