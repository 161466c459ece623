/**
 * Short-lived access tokens for Supabase (PostgREST, Storage, Realtime) under Row Level
 * Security as the signed-in user: `sub` = `next_auth.users.id`, `role` = `authenticated`.
 *
 * Signed ES256 with `AUTH_JWT_PRIVATE_KEY`, whose public half the `oidc` function serves as a
 * JWKS, so the project verifies them as a third-party auth issuer. Without that key, HS256
 * with the project's legacy JWT secret, which Supabase verifies as its own tokens.
 *
 * @example
 * ```ts
 * const signer = createAccessTokenSigner(config.accessToken);
 * const { token, expiresAt } = await signer.sign({ id: user.id, email: user.email });
 * const jwks = await signer.jwks(); // { keys: [{ kty: "EC", kid, ... }] } — public only
 * ```
 */
import {
  calculateJwkThumbprint,
  exportJWK,
  importJWK,
  importPKCS8,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
import type { Aal, AmrEntry } from "./assurance.ts";
import type { AccessTokenConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";

/** The audience Supabase expects of user tokens. */
export const ACCESS_TOKEN_AUDIENCE = "authenticated";
/** The Postgres role PostgREST switches to for a signed-in user. */
export const ACCESS_TOKEN_ROLE = "authenticated";

export interface AccessTokenSubject {
  id: string;
  email?: string | null;
  /** The session this token was issued for (its JWE `jti` or database session id). */
  sessionId?: string;
  /** The session's assurance level (default `aal1`) and methods, as Supabase's tokens carry them. */
  aal?: Aal;
  amr?: AmrEntry[];
}

export interface IssuedAccessToken {
  token: string;
  /** Seconds since the epoch. */
  expiresAt: number;
  /** Seconds the token lives. */
  expiresIn: number;
}

export interface AccessTokenSigner {
  readonly alg: "ES256" | "HS256";
  readonly issuer: string;
  sign(subject: AccessTokenSubject, now?: number): Promise<IssuedAccessToken>;
  /** The public verification keys; empty for HS256 (the secret is never published). */
  jwks(): Promise<{ keys: JWK[] }>;
  /** The claims of a valid, unexpired token this signer issued; null otherwise. */
  verify(token: string): Promise<JWTPayload | null>;
}

interface LoadedKey {
  privateKey: CryptoKey | Uint8Array;
  verifyKey: CryptoKey | Uint8Array;
  publicJwk?: JWK;
  kid?: string;
}

/**
 * A signer for the configured key. The key is imported once, on first use; a key that does
 * not import is a configuration error.
 */
export function createAccessTokenSigner(config: AccessTokenConfig): AccessTokenSigner {
  const alg = config.privateKey ? "ES256" : config.legacySecret ? "HS256" : undefined;
  if (!alg) {
    throw new ConfigError(
      "Cannot start: AUTH_JWT_PRIVATE_KEY is missing (an ES256 key; or set AUTH_JWT_LEGACY_SECRET to sign HS256 with the project's JWT secret)",
    );
  }
  let loaded: Promise<LoadedKey> | undefined;
  const load = () => (loaded ??= loadKey(config));

  return {
    alg,
    issuer: config.issuer,
    async sign(subject, now = Math.floor(Date.now() / 1000)) {
      const { privateKey, kid } = await load();
      const expiresAt = now + config.ttl;
      const claims: Record<string, unknown> = {
        role: ACCESS_TOKEN_ROLE,
        // Supabase's own tokens say how the user signed in (policies may ask for aal2).
        aal: subject.aal ?? "aal1",
      };
      if (subject.amr?.length) claims.amr = subject.amr;
      if (subject.email) claims.email = subject.email;
      if (subject.sessionId) claims.session_id = subject.sessionId;
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg, typ: "JWT", ...(kid ? { kid } : {}) })
        .setSubject(subject.id)
        .setIssuer(config.issuer)
        .setAudience(ACCESS_TOKEN_AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(expiresAt)
        .setJti(crypto.randomUUID())
        .sign(privateKey);
      return { token, expiresAt, expiresIn: config.ttl };
    },
    async jwks() {
      const { publicJwk } = await load();
      return { keys: publicJwk ? [publicJwk] : [] };
    },
    async verify(token) {
      const { verifyKey } = await load();
      try {
        const { payload } = await jwtVerify(token, verifyKey, {
          algorithms: [alg],
          issuer: config.issuer,
          audience: ACCESS_TOKEN_AUDIENCE,
          clockTolerance: 15,
        });
        return typeof payload.sub === "string" && payload.role === ACCESS_TOKEN_ROLE
          ? payload
          : null;
      } catch {
        return null;
      }
    },
  };
}

async function loadKey(config: AccessTokenConfig): Promise<LoadedKey> {
  if (!config.privateKey) {
    const secret = new TextEncoder().encode(config.legacySecret!);
    return { privateKey: secret, verifyKey: secret };
  }
  let privateKey: CryptoKey | Uint8Array;
  try {
    privateKey = config.privateKey.format === "jwk"
      ? await importJWK({ ...config.privateKey.jwk, alg: "ES256" }, "ES256", {
        extractable: true,
      })
      : await importPKCS8(config.privateKey.pem, "ES256", { extractable: true });
    if (privateKey instanceof Uint8Array) throw new Error("not an asymmetric key");
  } catch (cause) {
    throw new ConfigError(
      "Cannot start: AUTH_JWT_PRIVATE_KEY does not import as an ES256 (P-256) private key",
      { cause },
    );
  }
  const { kty, crv, x, y } = await exportJWK(privateKey);
  const base: JWK = { kty, crv, x, y };
  const kid = config.kid ??
    (config.privateKey.format === "jwk" ? config.privateKey.jwk.kid : undefined) ??
    await calculateJwkThumbprint(base, "sha256");
  const verifyKey = await importJWK({ ...base, alg: "ES256" }, "ES256");
  return {
    privateKey,
    verifyKey,
    kid,
    publicJwk: { ...base, kid, alg: "ES256", use: "sig" },
  };
}

/**
 * A fresh ES256 private key as a JWK string, the format `AUTH_JWT_PRIVATE_KEY` takes (what
 * `npm start` keeps in `.local/` and the tests use).
 *
 * @example
 * ```ts
 * const key = await generateSigningKey(); // '{"kty":"EC","crv":"P-256",...,"kid":"..."}'
 * ```
 */
export async function generateSigningKey(): Promise<string> {
  const { privateKey } = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  );
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(
    { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
    "sha256",
  );
  return JSON.stringify({ ...jwk, kid });
}
