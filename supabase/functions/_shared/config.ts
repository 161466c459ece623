/**
 * Configuration, read and validated once from the environment (Supabase secrets locally
 * or deployed). Every problem names the variable; no value is ever echoed back.
 *
 * @example
 * ```ts
 * const config = loadConfig(Deno.env.toObject());
 * config.publicUrl.href; // "https://abc.supabase.co/functions/v1"
 * ```
 */
import { BUILTIN_PROVIDER_IDS } from "./builtin_provider_ids.ts";
import { ConfigError } from "./errors.ts";
import { type OAuth1ProviderSettings, readOAuth1Providers } from "./oauth1/config.ts";

export type Env = Record<string, string | undefined>;

/** How mail leaves: SMTP(S) through nodemailer, or a provider's HTTPS API. */
export type EmailConfig =
  | {
    transport: "smtp";
    /** An SMTP(S) URL, e.g. `smtps://user:pass@smtp.example.com:465`. */
    server: string;
    /** PEM certificates to trust for the SMTP server (a private CA); default: system roots. */
    ca?: string;
    from: string;
  }
  | {
    transport: HttpsEmailProvider;
    apiKey: string;
    /** The provider's send endpoint (default: its public one). */
    apiUrl: URL;
    from: string;
  };

/** Auth.js's HTTPS email providers this project sends through, and their send endpoints. */
export const HTTPS_EMAIL_PROVIDERS = {
  resend: "https://api.resend.com/emails",
  postmark: "https://api.postmarkapp.com/email",
  sendgrid: "https://api.sendgrid.com/v3/mail/send",
} as const;
export type HttpsEmailProvider = keyof typeof HTTPS_EMAIL_PROVIDERS;

/** An ES256 private key as given: a JWK (JSON) or a PKCS#8 PEM. */
export type SigningKeyInput =
  | { format: "jwk"; jwk: JsonWebKey & { kid?: string } }
  | { format: "pem"; pem: string };

export interface AccessTokenConfig {
  /** `iss` of access tokens; OIDC discovery is served under it. Default `${publicUrl}/oidc`. */
  issuer: string;
  /** Seconds an access token lives. */
  ttl: number;
  /** ES256 signing key (`AUTH_JWT_PRIVATE_KEY`); absent when only the legacy secret is set. */
  privateKey?: SigningKeyInput;
  /** `kid` of the signing key; default: the key's own `kid` or its RFC 7638 thumbprint. */
  kid?: string;
  /** HS256 fallback: the project's legacy JWT secret. Used only without `privateKey`. */
  legacySecret?: string;
}

export interface RestStoreConfig {
  /** The project's API URL, e.g. `https://<ref>.supabase.co`. */
  url: string;
  serviceRoleKey: string;
}

/** An OAuth / OpenID Connect provider enabled by `AUTH_<ID>_ID` (and friends). */
export interface OAuthProviderSettings {
  /** Auth.js's provider id (`github`, `microsoft-entra-id`), or `oidc` for the generic one. */
  id: string;
  clientId: string;
  clientSecret?: string;
  issuer?: string;
  /** Display name; only the generic `oidc` provider takes one (`AUTH_OIDC_NAME`). */
  name?: string;
  /** Auth.js's `allowDangerousEmailAccountLinking`: `AUTH_<ID>_ALLOW_EMAIL_LINKING=true`. */
  allowEmailLinking: boolean;
}

/** Auth.js's `pages`: paths on the functions' origin or URLs on an allowed origin. */
export interface PagesConfig {
  signIn?: string;
  signOut?: string;
  error?: string;
  verifyRequest?: string;
  newUser?: string;
}

/** Passkeys (WebAuthn): the relying party every ceremony is bound to. */
export interface PasskeyConfig {
  /** The RP ID: the frontend's host name or a parent domain of it (never an IP address). */
  rpId: string;
  /** The name authenticators show. */
  rpName: string;
  /** The one origin ceremonies are accepted from: the frontend's, not the functions'. */
  origin: string;
}

/** The generic OpenID Connect provider's id: `AUTH_OIDC_ISSUER` / `_ID` / `_SECRET`. */
export const GENERIC_OIDC_ID = "oidc";

/** At most `max` hits per `windowSec` seconds for one key. */
export interface RateRule {
  max: number;
  windowSec: number;
}

/**
 * The rate-limit rules, by bucket: the env variable that sets each and its default (at least
 * as strict as Supabase Auth's). `AUTH_RATE_LIMIT_<NAME>=<max>/<seconds>` or `off`.
 */
export const RATE_LIMIT_DEFAULTS = {
  /** Sign-in emails sent, per client IP (Supabase Auth: 30 emails an hour). */
  email_ip: { env: "AUTH_RATE_LIMIT_EMAIL_IP", max: 30, windowSec: 3600 },
  /** Sign-in emails sent to one address (Supabase Auth: 60 s between emails). */
  email_address: { env: "AUTH_RATE_LIMIT_EMAIL_ADDRESS", max: 1, windowSec: 60 },
  /** Sign-in starts (`POST /signin/<provider>`), per client IP. */
  signin_ip: { env: "AUTH_RATE_LIMIT_SIGNIN_IP", max: 30, windowSec: 300 },
  /** Callbacks (magic links followed, OAuth returns), per client IP. */
  callback_ip: { env: "AUTH_RATE_LIMIT_CALLBACK_IP", max: 30, windowSec: 300 },
  /** Password attempts (credentials callbacks), per client IP. */
  password_ip: { env: "AUTH_RATE_LIMIT_PASSWORD_IP", max: 30, windowSec: 300 },
  /** Password attempts for one account identifier (email or username). */
  password_identifier: {
    env: "AUTH_RATE_LIMIT_PASSWORD_IDENTIFIER",
    max: 10,
    windowSec: 900,
  },
  /** One-time code exchanges (token mode), per client IP. */
  code_exchange_ip: {
    env: "AUTH_RATE_LIMIT_CODE_EXCHANGE_IP",
    max: 60,
    windowSec: 300,
  },
  /** Second-factor attempts (TOTP or recovery codes) for one user. */
  mfa_user: { env: "AUTH_RATE_LIMIT_MFA_USER", max: 5, windowSec: 300 },
  /** Second-factor attempts per client IP. */
  mfa_ip: { env: "AUTH_RATE_LIMIT_MFA_IP", max: 30, windowSec: 300 },
} as const;

export type RateBucket = keyof typeof RATE_LIMIT_DEFAULTS;

export interface AppConfig {
  /** Auth.js secrets, newest first (`AUTH_SECRET_1..3` then `AUTH_SECRET`, as Auth.js orders them). */
  secrets: string[];
  /** Where the functions are reached from the outside, e.g. `https://<ref>.supabase.co/functions/v1`. */
  publicUrl: URL;
  /** `publicUrl`'s path without a trailing slash: Auth.js's `basePath`. */
  basePath: string;
  /** Frontend origins allowed for CORS and as `callbackUrl` targets, always including `publicUrl`'s. */
  allowedOrigins: Set<string>;
  /**
   * SameSite of every Auth.js cookie: `none` (with Secure) when an allowed frontend origin is
   * on another site than the functions, `lax` otherwise. `AUTH_COOKIE_SAMESITE` overrides.
   */
  cookieSameSite: "lax" | "none";
  /** Custom URL schemes (native apps) that token mode may redirect to, e.g. `com.example.app`. */
  tokenRedirectSchemes: Set<string>;
  /** Seconds a token-mode code may wait to be exchanged. */
  tokenCodeMaxAge: number;
  sessionStrategy: "jwt" | "database";
  /** Seconds a session lives without activity. */
  sessionMaxAge: number;
  databaseUrl: string;
  /** Prepared statements break behind a transaction pooler (Supavisor port 6543). */
  databasePrepare: boolean;
  databasePoolSize: number;
  /** `sql` (Postgres directly) or `rest` (supabase-js over PostgREST). */
  storeDriver: "sql" | "rest";
  /** Present when `storeDriver` is `rest`. */
  rest?: RestStoreConfig;
  /** Short-lived access tokens for PostgREST under RLS (the `access-token` function). */
  accessToken: AccessTokenConfig;
  email?: EmailConfig;
  /** Username/password sign-in (`AUTH_PASSWORD=true`): needs email and JWT sessions. */
  password: boolean;
  /**
   * The TOTP second factor (`AUTH_MFA=true`): users may enrol an authenticator app, and a
   * sign-in of a user who did is partial until a code is given. Needs the `sql` store.
   */
  mfa: boolean;
  /** The name authenticator apps show for this deployment's codes (`AUTH_MFA_ISSUER`). */
  mfaIssuer: string;
  /** Passkeys (`AUTH_PASSKEYS=true`) and their relying party; absent when off. */
  passkeys?: PasskeyConfig;
  /** OAuth / OIDC providers enabled by configuration, in the order Auth.js lists them. */
  oauthProviders: OAuthProviderSettings[];
  /** OAuth 1.0a services (`AUTH_OAUTH1_PROVIDERS`), signed in through the `oauth1` function. */
  oauth1Providers: OAuth1ProviderSettings[];
  pages: PagesConfig;
  /** Milliseconds one store call may wait for the database before answering 503. */
  databaseTimeoutMs: number;
  /**
   * The session check's statements over the small built-in Postgres client (plain TCP URLs
   * only; `npm:postgres` otherwise). `AUTH_DB_LIGHT_CLIENT`, default true.
   */
  databaseLightClient: boolean;
  /** Each bucket's rule; `null` when switched off. */
  rateLimits: Record<RateBucket, RateRule | null>;
  /**
   * The request header naming the client's IP (its first entry); `null` trusts none, and
   * per-IP limits are off.
   */
  clientIpHeader: string | null;
  debug: boolean;
  /** Answer `GET /session` without going through `Auth()` (same answer, far less work). */
  fastSession: boolean;
  /** Session tokens kept opened per isolate (0: decrypt every time). */
  sessionCacheSize: number;
  /** The environment, for Auth.js's own `AUTH_<PROVIDER>_*` conventions. */
  env: Env;
}

const MIN_SECRET_LENGTH = 32;

/**
 * The settings only sign-in and the other features read; the session check never does.
 * Validating them took ~0.65 ms of every cold start of the `session` function (whose whole
 * start, first answer included, takes ~7 ms more than a hello world's).
 */
const FEATURE_SECTIONS = [
  "accessToken",
  "email",
  "mfaIssuer",
  "passkeys",
  "oauthProviders",
  "oauth1Providers",
  "pages",
  "rateLimits",
] as const satisfies readonly (keyof AppConfig)[];

type FeatureSettings = Pick<AppConfig, typeof FEATURE_SECTIONS[number]>;

/**
 * Validates the environment; throws a `ConfigError` naming the first bad variable.
 *
 * `deferFeatures` (the `session` function): the sections in `FEATURE_SECTIONS` are validated
 * on their first read instead, all together, and that read throws the `ConfigError` where
 * one of them is bad. Everything the session check reads is still validated here.
 */
export function loadConfig(env: Env, { deferFeatures = false } = {}): AppConfig {
  const core = readCore(env);
  if (!deferFeatures) return { ...core, ...readFeatures(env, core) };
  let features: FeatureSettings | undefined;
  const config = core as AppConfig;
  for (const key of FEATURE_SECTIONS) {
    Object.defineProperty(config, key, {
      enumerable: true,
      get: () => (features ??= readFeatures(env, core))[key],
    });
  }
  return config;
}

type CoreSettings = Omit<AppConfig, keyof FeatureSettings>;

function readCore(env: Env): CoreSettings {
  const secrets = readSecrets(env);
  const publicUrl = readPublicUrl(env);
  const basePath = publicUrl.pathname.replace(/\/+$/, "");
  const allowedOrigins = new Set([publicUrl.origin]);
  for (const item of list(env.AUTH_ALLOWED_ORIGINS)) {
    allowedOrigins.add(readOrigin("AUTH_ALLOWED_ORIGINS", item));
  }
  const cookieSameSite = readSameSite(env, publicUrl, allowedOrigins);
  const tokenRedirectSchemes = new Set<string>();
  for (const item of list(env.AUTH_TOKEN_REDIRECT_SCHEMES)) {
    const scheme = item.replace(/:\/*$/, "").toLowerCase();
    // A custom scheme, never one a browser page or another app could answer generically.
    if (
      !/^[a-z][a-z0-9+.-]*$/.test(scheme) ||
      ["http", "https", "javascript", "data", "file", "blob", "about"].includes(scheme)
    ) {
      throw new ConfigError(
        `Cannot start: AUTH_TOKEN_REDIRECT_SCHEMES must list custom URL schemes, got "${item}"`,
      );
    }
    tokenRedirectSchemes.add(scheme);
  }
  const tokenCodeMaxAge = integer("AUTH_TOKEN_CODE_MAX_AGE", env.AUTH_TOKEN_CODE_MAX_AGE, {
    min: 10,
    max: 600,
    fallback: 60,
  });
  const sessionStrategy = oneOf(
    "AUTH_SESSION_STRATEGY",
    env.AUTH_SESSION_STRATEGY,
    ["jwt", "database"] as const,
    "jwt",
  );
  const sessionMaxAge = integer(
    "AUTH_SESSION_MAX_AGE",
    env.AUTH_SESSION_MAX_AGE,
    {
      min: 60,
      fallback: 30 * 24 * 60 * 60,
    },
  );
  const databaseUrl = readDatabaseUrl(env);
  const port = new URL(databaseUrl).port;
  const databasePrepare = env.AUTH_DB_PREPARE === undefined ? port !== "6543" : oneOf(
    "AUTH_DB_PREPARE",
    env.AUTH_DB_PREPARE,
    ["true", "false"] as const,
    "true",
  ) ===
    "true";
  const databasePoolSize = integer("AUTH_DB_POOL_SIZE", env.AUTH_DB_POOL_SIZE, {
    min: 1,
    max: 50,
    fallback: 3,
  });
  const storeDriver = oneOf("AUTH_STORE", env.AUTH_STORE, ["sql", "rest"] as const, "sql");
  const password =
    oneOf("AUTH_PASSWORD", env.AUTH_PASSWORD, ["true", "false"] as const, "false") ===
      "true";
  if (password && sessionStrategy === "database") {
    // Auth.js's Credentials provider always issues a JWT cookie, which database sessions ignore.
    throw new ConfigError(
      'Cannot start: AUTH_PASSWORD needs AUTH_SESSION_STRATEGY="jwt" (Auth.js signs credentials in with JWT sessions only)',
    );
  }
  if (password && storeDriver === "rest") {
    throw new ConfigError(
      'Cannot start: AUTH_PASSWORD needs AUTH_STORE="sql" (the password tables are not exposed through the Data API)',
    );
  }
  const mfa = oneOf("AUTH_MFA", env.AUTH_MFA, ["true", "false"] as const, "false") === "true";
  if (mfa && storeDriver === "rest") {
    throw new ConfigError(
      'Cannot start: AUTH_MFA needs AUTH_STORE="sql" (the second factor\'s tables are not exposed through the Data API)',
    );
  }
  const databaseTimeoutMs = integer("AUTH_DB_TIMEOUT_MS", env.AUTH_DB_TIMEOUT_MS, {
    min: 100,
    max: 120_000,
    fallback: 10_000,
  });
  return {
    secrets,
    publicUrl,
    basePath,
    allowedOrigins,
    cookieSameSite,
    tokenRedirectSchemes,
    tokenCodeMaxAge,
    sessionStrategy,
    sessionMaxAge,
    databaseUrl,
    databasePrepare,
    databasePoolSize,
    storeDriver,
    rest: storeDriver === "rest" ? readRest(env) : undefined,
    password,
    mfa,
    databaseTimeoutMs,
    databaseLightClient: oneOf(
      "AUTH_DB_LIGHT_CLIENT",
      env.AUTH_DB_LIGHT_CLIENT,
      ["true", "false"] as const,
      "true",
    ) === "true",
    clientIpHeader: readClientIpHeader(env),
    debug: env.AUTH_DEBUG === "true",
    fastSession: oneOf(
      "AUTH_SESSION_FAST_PATH",
      env.AUTH_SESSION_FAST_PATH,
      ["true", "false"] as const,
      "true",
    ) === "true",
    sessionCacheSize: integer("AUTH_SESSION_CACHE_SIZE", env.AUTH_SESSION_CACHE_SIZE, {
      min: 0,
      max: 100_000,
      fallback: 1000,
    }),
    env,
  };
}

function readFeatures(env: Env, core: CoreSettings): FeatureSettings {
  const email = readEmail(env);
  if (core.password && !email) {
    throw new ConfigError(
      "Cannot start: AUTH_PASSWORD needs an email transport (AUTH_EMAIL_SERVER or AUTH_RESEND_KEY, AUTH_POSTMARK_KEY, AUTH_SENDGRID_KEY) to send verification and reset mail",
    );
  }
  const { publicUrl, allowedOrigins } = core;
  const oauth1Providers = readOAuth1Providers(env.AUTH_OAUTH1_PROVIDERS, env);
  return {
    accessToken: readAccessToken(env, publicUrl),
    email,
    mfaIssuer: readMfaIssuer(env, publicUrl),
    // An id listed in AUTH_OAUTH1_PROVIDERS (twitter) is that service, not the OAuth 2 built-in.
    oauthProviders: readOAuthProviders(env, new Set(oauth1Providers.map((p) => p.id))),
    oauth1Providers,
    passkeys: readPasskeys(env, publicUrl, allowedOrigins),
    pages: readPages(env, allowedOrigins),
    rateLimits: readRateLimits(env),
  };
}

/**
 * `auto` (default): `none` when some allowed origin is on another site than the functions
 * and the functions are on https (SameSite=None cookies must be Secure), else `lax`.
 */
function readSameSite(
  env: Env,
  publicUrl: URL,
  allowedOrigins: Set<string>,
): "lax" | "none" {
  const value = oneOf(
    "AUTH_COOKIE_SAMESITE",
    env.AUTH_COOKIE_SAMESITE,
    ["auto", "lax", "none"] as const,
    "auto",
  );
  if (value === "none" && publicUrl.protocol !== "https:") {
    throw new ConfigError(
      "Cannot start: AUTH_COOKIE_SAMESITE=none needs an https AUTH_URL (SameSite=None cookies must be Secure)",
    );
  }
  if (value !== "auto") return value;
  if (publicUrl.protocol !== "https:") return "lax";
  const home = siteOf(publicUrl);
  for (const origin of allowedOrigins) {
    if (siteOf(new URL(origin)) !== home) return "none";
  }
  return "lax";
}

/**
 * A URL's site as browsers compare it for SameSite: scheme plus registrable domain. The
 * registrable domain is approximated as the last two labels (three under a short second-level
 * label such as `co.uk`); IP addresses and single labels stand alone. Set
 * AUTH_COOKIE_SAMESITE where the Public Suffix List says otherwise.
 *
 * @example
 * ```ts
 * siteOf(new URL("https://auth.example.com")); // "https://example.com"
 * ```
 */
export function siteOf(url: URL): string {
  const host = url.hostname.toLowerCase();
  if (/^[\d.]+$/.test(host) || host.includes(":") || !host.includes(".")) {
    return `${url.protocol}//${host}`;
  }
  const labels = host.split(".");
  const take = labels.length > 2 && /^(co|com|net|org|gov|edu|ac)$/.test(labels.at(-2)!) ? 3 : 2;
  return `${url.protocol}//${labels.slice(-take).join(".")}`;
}

/**
 * The issuer name authenticator apps show: `AUTH_MFA_ISSUER`, else the functions' host. It
 * goes into the `otpauth://` label, where a colon would split it.
 */
function readMfaIssuer(env: Env, publicUrl: URL): string {
  const value = env.AUTH_MFA_ISSUER?.trim();
  if (!value) return publicUrl.hostname;
  if (value.length > 64 || value.includes(":") || [...value].some((c) => c < " " || c === "\x7f")) {
    throw new ConfigError(
      "Cannot start: AUTH_MFA_ISSUER must be at most 64 printable characters, without a colon",
    );
  }
  return value;
}

function readSecrets(env: Env): string[] {
  const secrets: string[] = [];
  const main = env.AUTH_SECRET;
  if (!main) {
    throw new ConfigError(
      "Cannot start: AUTH_SECRET is missing (generate one with `openssl rand -base64 33`)",
    );
  }
  checkSecret("AUTH_SECRET", main);
  secrets.push(main);
  // Same order as Auth.js's setEnvDefaults: rotated-in secrets go first and sign new tokens.
  for (const i of [1, 2, 3]) {
    const value = env[`AUTH_SECRET_${i}`];
    if (!value) continue;
    checkSecret(`AUTH_SECRET_${i}`, value);
    secrets.unshift(value);
  }
  return secrets;
}

function checkSecret(name: string, value: string) {
  if (value.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(
      `Cannot start: ${name} is too weak (at least ${MIN_SECRET_LENGTH} characters required)`,
    );
  }
  if (new Set(value).size < 8) {
    throw new ConfigError(
      `Cannot start: ${name} is too weak (too few distinct characters)`,
    );
  }
}

function readPublicUrl(env: Env): URL {
  if (env.AUTH_URL !== undefined) {
    const url = parseUrl("AUTH_URL", env.AUTH_URL);
    if (url.search || url.hash) {
      throw new ConfigError(
        "Cannot start: AUTH_URL must not have a query or fragment",
      );
    }
    return url;
  }
  // Deployed, SUPABASE_URL is the project's public https URL; locally it is an internal
  // address (http://kong:8000) that browsers cannot reach, so AUTH_URL must be given.
  const supabaseUrl = env.SUPABASE_URL;
  if (supabaseUrl) {
    const url = parseUrl("SUPABASE_URL", supabaseUrl);
    if (url.protocol === "https:") {
      return new URL(url.pathname.replace(/\/+$/, "") + "/functions/v1", url);
    }
  }
  throw new ConfigError(
    "Cannot start: AUTH_URL is missing (the public URL of the functions, e.g. https://<ref>.supabase.co/functions/v1)",
  );
}

function readDatabaseUrl(env: Env): string {
  const name = env.DATABASE_URL ? "DATABASE_URL" : "SUPABASE_DB_URL";
  const value = env.DATABASE_URL || env.SUPABASE_DB_URL;
  if (!value) {
    throw new ConfigError(
      "Cannot start: SUPABASE_DB_URL (or DATABASE_URL) is missing",
    );
  }
  const url = parseUrl(name, value, ["postgres:", "postgresql:"]);
  return url.href;
}

function readRest(env: Env): RestStoreConfig {
  const value = env.SUPABASE_URL;
  if (!value) {
    throw new ConfigError("Cannot start: SUPABASE_URL is missing (needed with AUTH_STORE=rest)");
  }
  const url = parseUrl("SUPABASE_URL", value).href.replace(/\/+$/, "");
  const serviceRoleKey = env.SUPABASE_SERVICE_ROLE_KEY || firstSecretKey(env.SUPABASE_SECRET_KEYS);
  if (!serviceRoleKey) {
    throw new ConfigError(
      "Cannot start: SUPABASE_SERVICE_ROLE_KEY is missing (needed with AUTH_STORE=rest)",
    );
  }
  return { url, serviceRoleKey };
}

/** Projects on the new API keys get `SUPABASE_SECRET_KEYS`, a JSON object of named keys. */
function firstSecretKey(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const keys = JSON.parse(value);
    const first = keys && typeof keys === "object" ? Object.values(keys)[0] : undefined;
    return typeof first === "string" && first ? first : undefined;
  } catch {
    throw new ConfigError("Cannot start: SUPABASE_SECRET_KEYS is not a JSON object of keys");
  }
}

function readAccessToken(env: Env, publicUrl: URL): AccessTokenConfig {
  const issuer = env.AUTH_JWT_ISSUER
    ? parseUrl("AUTH_JWT_ISSUER", env.AUTH_JWT_ISSUER).href.replace(/\/+$/, "")
    : `${publicUrl.href.replace(/\/+$/, "")}/oidc`;
  const ttl = integer("AUTH_ACCESS_TOKEN_TTL", env.AUTH_ACCESS_TOKEN_TTL, {
    min: 30,
    max: 3600,
    fallback: 300,
  });
  const privateKey = env.AUTH_JWT_PRIVATE_KEY
    ? parseSigningKey(env.AUTH_JWT_PRIVATE_KEY)
    : undefined;
  const kid = env.AUTH_JWT_KID || undefined;
  if (kid !== undefined && !/^[\x21-\x7e]{1,128}$/.test(kid)) {
    throw new ConfigError("Cannot start: AUTH_JWT_KID must be 1 to 128 printable characters");
  }
  const legacyName = env.AUTH_JWT_LEGACY_SECRET ? "AUTH_JWT_LEGACY_SECRET" : "SUPABASE_JWT_SECRET";
  const legacySecret = env.AUTH_JWT_LEGACY_SECRET || env.SUPABASE_JWT_SECRET || undefined;
  if (legacySecret !== undefined && legacySecret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(
      `Cannot start: ${legacyName} is too short (the project's JWT secret has at least ${MIN_SECRET_LENGTH} characters)`,
    );
  }
  return { issuer, ttl, privateKey, kid, legacySecret };
}

/**
 * `AUTH_JWT_PRIVATE_KEY`: a P-256 private JWK, or a PKCS#8 PEM (`\n` escapes allowed, as
 * one-line secrets often carry them). Checked for shape here; imported on first use.
 */
function parseSigningKey(value: string): SigningKeyInput {
  const text = value.trim();
  if (text.startsWith("{")) {
    let jwk: Record<string, unknown>;
    try {
      jwk = JSON.parse(text);
    } catch {
      throw new ConfigError("Cannot start: AUTH_JWT_PRIVATE_KEY is not valid JSON");
    }
    if (
      jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.d !== "string" ||
      typeof jwk.x !== "string" || typeof jwk.y !== "string"
    ) {
      throw new ConfigError(
        'Cannot start: AUTH_JWT_PRIVATE_KEY must be an EC P-256 private key (kty "EC", crv "P-256", with "d")',
      );
    }
    if (jwk.kid !== undefined && typeof jwk.kid !== "string") {
      throw new ConfigError("Cannot start: AUTH_JWT_PRIVATE_KEY has a non-string kid");
    }
    return { format: "jwk", jwk: jwk as JsonWebKey & { kid?: string } };
  }
  const pem = text.replaceAll("\\n", "\n");
  if (!/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\s]+\n-----END PRIVATE KEY-----$/.test(pem)) {
    throw new ConfigError(
      "Cannot start: AUTH_JWT_PRIVATE_KEY must be a JWK or a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)",
    );
  }
  return { format: "pem", pem };
}

function readRateLimits(env: Env): Record<RateBucket, RateRule | null> {
  const rules = {} as Record<RateBucket, RateRule | null>;
  for (const [bucket, spec] of Object.entries(RATE_LIMIT_DEFAULTS)) {
    const value = env[spec.env]?.trim();
    let rule: RateRule | null = { max: spec.max, windowSec: spec.windowSec };
    if (value === "off") rule = null;
    else if (value) {
      const m = value.match(/^(\d{1,9})\/(\d{1,9})$/);
      const max = Number(m?.[1]);
      const windowSec = Number(m?.[2]);
      if (!m || max < 1 || windowSec < 1 || windowSec > 86_400) {
        throw new ConfigError(
          `Cannot start: ${spec.env} must be "<max>/<seconds>" (seconds from 1 to 86400) or "off"`,
        );
      }
      rule = { max, windowSec };
    }
    rules[bucket as RateBucket] = rule;
  }
  return rules;
}

function readClientIpHeader(env: Env): string | null {
  const value = env.AUTH_CLIENT_IP_HEADER?.trim().toLowerCase();
  if (value === undefined || value === "") return "x-forwarded-for";
  if (value === "none") return null;
  if (!/^[a-z0-9-]{1,64}$/.test(value)) {
    throw new ConfigError(
      'Cannot start: AUTH_CLIENT_IP_HEADER must be a header name or "none"',
    );
  }
  return value;
}

function readEmail(env: Env): EmailConfig | undefined {
  const keys = (Object.keys(HTTPS_EMAIL_PROVIDERS) as HttpsEmailProvider[])
    .filter((id) => env[`AUTH_${id.toUpperCase()}_KEY`]);
  const chosen = [
    ...(env.AUTH_EMAIL_SERVER ? ["AUTH_EMAIL_SERVER"] : []),
    ...keys.map((id) => `AUTH_${id.toUpperCase()}_KEY`),
  ];
  if (chosen.length === 0) return undefined;
  if (chosen.length > 1) {
    throw new ConfigError(
      `Cannot start: set only one email transport, got ${chosen.join(", ")}`,
    );
  }
  const from = env.AUTH_EMAIL_FROM;
  if (!from || !/^[^\s@<>]+@[^\s@<>]+$|<[^\s@<>]+@[^\s@<>]+>$/.test(from)) {
    throw new ConfigError(
      `Cannot start: AUTH_EMAIL_FROM is missing or not an address (needed with ${chosen[0]})`,
    );
  }
  const server = env.AUTH_EMAIL_SERVER;
  if (server) {
    parseUrl("AUTH_EMAIL_SERVER", server, ["smtp:", "smtps:"]);
    const ca = env.AUTH_EMAIL_SERVER_CA || undefined;
    if (ca !== undefined && !ca.includes("-----BEGIN CERTIFICATE-----")) {
      throw new ConfigError(
        "Cannot start: AUTH_EMAIL_SERVER_CA must hold PEM certificates",
      );
    }
    return { transport: "smtp", server, ca, from };
  }
  const transport = keys[0]!;
  const apiUrl = parseUrl(
    "AUTH_EMAIL_API_URL",
    env.AUTH_EMAIL_API_URL || HTTPS_EMAIL_PROVIDERS[transport],
  );
  // The API key travels in a header: never over plain http, except to this machine.
  if (apiUrl.protocol === "http:" && !isLoopback(apiUrl.hostname)) {
    throw new ConfigError(
      "Cannot start: AUTH_EMAIL_API_URL must use https (http only for 127.0.0.1 or localhost)",
    );
  }
  return {
    transport,
    apiKey: env[`AUTH_${transport.toUpperCase()}_KEY`]!,
    apiUrl,
    from,
  };
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

const WEBAUTHN_VARIABLES = [
  "AUTH_WEBAUTHN_RP_ID",
  "AUTH_WEBAUTHN_RP_NAME",
  "AUTH_WEBAUTHN_RP_ORIGIN",
] as const;

/**
 * `AUTH_PASSKEYS=true`: the relying party is the frontend (`AUTH_WEBAUTHN_RP_ORIGIN`, by
 * default the one origin in `AUTH_ALLOWED_ORIGINS`), never the functions' host: browsers
 * bind a passkey to the RP ID of the page that created it, and the page is the frontend's.
 */
function readPasskeys(
  env: Env,
  publicUrl: URL,
  allowedOrigins: Set<string>,
): PasskeyConfig | undefined {
  const enabled = oneOf("AUTH_PASSKEYS", env.AUTH_PASSKEYS, ["true", "false"] as const, "false");
  const given = {
    AUTH_WEBAUTHN_RP_ID: env.AUTH_WEBAUTHN_RP_ID?.trim() || undefined,
    AUTH_WEBAUTHN_RP_NAME: env.AUTH_WEBAUTHN_RP_NAME?.trim() || undefined,
    AUTH_WEBAUTHN_RP_ORIGIN: env.AUTH_WEBAUTHN_RP_ORIGIN?.trim() || undefined,
  };
  if (enabled !== "true") {
    const stray = WEBAUTHN_VARIABLES.find((name) => given[name] !== undefined);
    if (stray) {
      throw new ConfigError(`Cannot start: ${stray} is set but AUTH_PASSKEYS is not "true"`);
    }
    return undefined;
  }
  let origin: string;
  if (given.AUTH_WEBAUTHN_RP_ORIGIN) {
    origin = readOrigin("AUTH_WEBAUTHN_RP_ORIGIN", given.AUTH_WEBAUTHN_RP_ORIGIN);
    if (!allowedOrigins.has(origin)) {
      throw new ConfigError(
        `Cannot start: AUTH_WEBAUTHN_RP_ORIGIN "${origin}" must be in AUTH_ALLOWED_ORIGINS (the frontend calls the functions from it)`,
      );
    }
  } else {
    const frontends = [...allowedOrigins].filter((o) => o !== publicUrl.origin);
    if (frontends.length !== 1) {
      throw new ConfigError(
        `Cannot start: AUTH_PASSKEYS needs AUTH_WEBAUTHN_RP_ORIGIN (the frontend's origin): AUTH_ALLOWED_ORIGINS lists ${
          frontends.length ? "several" : "none"
        }`,
      );
    }
    origin = frontends[0]!;
  }
  const host = new URL(origin).hostname;
  if (/^[\d.]+$/.test(host) || host.includes(":") || host.startsWith("[")) {
    throw new ConfigError(
      `Cannot start: passkeys cannot use "${origin}": WebAuthn refuses IP addresses (use localhost or a domain name)`,
    );
  }
  if (new URL(origin).protocol !== "https:" && host !== "localhost") {
    throw new ConfigError(
      `Cannot start: passkeys need an https frontend (or http://localhost), got "${origin}"`,
    );
  }
  const rpId = (given.AUTH_WEBAUTHN_RP_ID ?? host).toLowerCase();
  if (
    !/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(rpId) || (rpId !== host && !host.endsWith(`.${rpId}`)) ||
    (!rpId.includes(".") && rpId !== "localhost")
  ) {
    throw new ConfigError(
      `Cannot start: AUTH_WEBAUTHN_RP_ID must be "${host}" or a parent domain of it (browsers refuse any other), got "${rpId}"`,
    );
  }
  const rpName = given.AUTH_WEBAUTHN_RP_NAME ?? rpId;
  if (rpName.length > 64) {
    throw new ConfigError("Cannot start: AUTH_WEBAUTHN_RP_NAME is longer than 64 characters");
  }
  return { rpId, rpName, origin };
}

/** `AUTH_<ID>` for a provider id, as Auth.js's `setEnvDefaults` spells it. */
export function providerEnvPrefix(id: string): string {
  return `AUTH_${id.toUpperCase().replace(/-/g, "_")}`;
}

function readOAuthProviders(env: Env, oauth1Ids: Set<string>): OAuthProviderSettings[] {
  const providers: OAuthProviderSettings[] = [];
  for (const id of [GENERIC_OIDC_ID, ...BUILTIN_PROVIDER_IDS]) {
    if (oauth1Ids.has(id)) continue;
    const prefix = providerEnvPrefix(id);
    const clientId = env[`${prefix}_ID`];
    const clientSecret = env[`${prefix}_SECRET`] || undefined;
    const issuer = env[`${prefix}_ISSUER`] || undefined;
    if (!clientId) {
      if (clientSecret || issuer) {
        throw new ConfigError(
          `Cannot start: ${prefix}_ID is missing (${prefix}_${
            clientSecret ? "SECRET" : "ISSUER"
          } is set)`,
        );
      }
      continue;
    }
    // The generic provider may be a public client (PKCE, no secret); built-ins are not.
    if (!clientSecret && id !== GENERIC_OIDC_ID) {
      throw new ConfigError(`Cannot start: ${prefix}_SECRET is missing (${prefix}_ID is set)`);
    }
    if (issuer) parseUrl(`${prefix}_ISSUER`, issuer);
    if (id === GENERIC_OIDC_ID && !issuer) {
      throw new ConfigError(
        `Cannot start: ${prefix}_ISSUER is missing (the OpenID provider's issuer URL)`,
      );
    }
    const linking = oneOf(
      `${prefix}_ALLOW_EMAIL_LINKING`,
      env[`${prefix}_ALLOW_EMAIL_LINKING`],
      ["true", "false"] as const,
      "false",
    );
    providers.push({
      id,
      clientId,
      clientSecret,
      issuer,
      name: id === GENERIC_OIDC_ID ? env.AUTH_OIDC_NAME || "OpenID" : undefined,
      allowEmailLinking: linking === "true",
    });
  }
  return providers;
}

const PAGE_VARIABLES = {
  signIn: "AUTH_PAGES_SIGNIN",
  signOut: "AUTH_PAGES_SIGNOUT",
  error: "AUTH_PAGES_ERROR",
  verifyRequest: "AUTH_PAGES_VERIFY_REQUEST",
  newUser: "AUTH_PAGES_NEW_USER",
} as const;

function readPages(env: Env, allowedOrigins: Set<string>): PagesConfig {
  const pages: PagesConfig = {};
  for (const [page, name] of Object.entries(PAGE_VARIABLES)) {
    const value = env[name];
    if (!value) continue;
    if (value.startsWith("/") && !value.startsWith("//") && !value.startsWith("/\\")) {
      pages[page as keyof PagesConfig] = value;
      continue;
    }
    const url = parseUrl(name, value);
    if (!allowedOrigins.has(url.origin)) {
      throw new ConfigError(
        `Cannot start: ${name} must be a path or a URL on an origin in AUTH_ALLOWED_ORIGINS`,
      );
    }
    if (url.hash) throw new ConfigError(`Cannot start: ${name} must not have a fragment`);
    pages[page as keyof PagesConfig] = url.href;
  }
  return pages;
}

function parseUrl(
  name: string,
  value: string,
  protocols: string[] = ["http:", "https:"],
): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`Cannot start: ${name} is not a URL`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(
      `Cannot start: ${name} must use ${protocols.map((p) => `"${p}"`).join(" or ")}`,
    );
  }
  return url;
}

function readOrigin(name: string, value: string): string {
  const url = parseUrl(name, value);
  if (url.pathname !== "/" || url.search || url.hash) {
    throw new ConfigError(
      `Cannot start: ${name} must list bare origins, got "${url.href}"`,
    );
  }
  return url.origin;
}

function list(value: string | undefined): string[] {
  return (value ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

function oneOf<const T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined || value === "") return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(
    `Cannot start: ${name} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}`,
  );
}

function integer(
  name: string,
  value: string | undefined,
  { min, max = Number.MAX_SAFE_INTEGER, fallback }: {
    min: number;
    max?: number;
    fallback: number;
  },
): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(
      `Cannot start: ${name} must be a whole number from ${min} to ${max}`,
    );
  }
  return n;
}
