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
  email?: EmailConfig;
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
    email: readEmail(env),
    debug: env.AUTH_DEBUG === "true",
    env,
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
