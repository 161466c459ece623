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
import { ConfigError } from "./errors.ts";

export type Env = Record<string, string | undefined>;

export interface EmailConfig {
  /** An SMTP(S) URL, e.g. `smtps://user:pass@smtp.example.com:465`. */
  server: string;
  from: string;
}

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
  sessionStrategy: "jwt" | "database";
  /** Seconds a session lives without activity. */
  sessionMaxAge: number;
  databaseUrl: string;
  /** Prepared statements break behind a transaction pooler (Supavisor port 6543). */
  databasePrepare: boolean;
  databasePoolSize: number;
  /** Milliseconds one store call may wait for the database before answering 503. */
  databaseTimeoutMs: number;
  email?: EmailConfig;
  /** Each bucket's rule; `null` when switched off. */
  rateLimits: Record<RateBucket, RateRule | null>;
  /**
   * The request header naming the client's IP (its first entry); `null` trusts none, and
   * per-IP limits are off.
   */
  clientIpHeader: string | null;
  debug: boolean;
  /** The environment, for Auth.js's own `AUTH_<PROVIDER>_*` conventions. */
  env: Env;
}

const MIN_SECRET_LENGTH = 32;

/**
 * Validates the environment; throws a `ConfigError` naming the first bad variable.
 */
export function loadConfig(env: Env): AppConfig {
  const secrets = readSecrets(env);
  const publicUrl = readPublicUrl(env);
  const basePath = publicUrl.pathname.replace(/\/+$/, "");
  const allowedOrigins = new Set([publicUrl.origin]);
  for (const item of list(env.AUTH_ALLOWED_ORIGINS)) {
    allowedOrigins.add(readOrigin("AUTH_ALLOWED_ORIGINS", item));
  }
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
    sessionStrategy,
    sessionMaxAge,
    databaseUrl,
    databasePrepare,
    databasePoolSize,
    databaseTimeoutMs,
    email: readEmail(env),
    rateLimits: readRateLimits(env),
    clientIpHeader: readClientIpHeader(env),
    debug: env.AUTH_DEBUG === "true",
    env,
  };
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
  const server = env.AUTH_EMAIL_SERVER;
  if (!server) return undefined;
  parseUrl("AUTH_EMAIL_SERVER", server, ["smtp:", "smtps:"]);
  const from = env.AUTH_EMAIL_FROM;
  if (!from || !/^[^\s@<>]+@[^\s@<>]+$|<[^\s@<>]+@[^\s@<>]+>$/.test(from)) {
    throw new ConfigError(
      "Cannot start: AUTH_EMAIL_FROM is missing or not an address (needed with AUTH_EMAIL_SERVER)",
    );
  }
  return { server, from };
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
