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
  email?: EmailConfig;
  /** Username/password sign-in (`AUTH_PASSWORD=true`): needs email and JWT sessions. */
  password: boolean;
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
  const email = readEmail(env);
  const password =
    oneOf("AUTH_PASSWORD", env.AUTH_PASSWORD, ["true", "false"] as const, "false") ===
      "true";
  if (password && !email) {
    throw new ConfigError(
      "Cannot start: AUTH_PASSWORD needs an email transport (AUTH_EMAIL_SERVER or AUTH_RESEND_KEY, AUTH_POSTMARK_KEY, AUTH_SENDGRID_KEY) to send verification and reset mail",
    );
  }
  if (password && sessionStrategy === "database") {
    // Auth.js's Credentials provider always issues a JWT cookie, which database sessions ignore.
    throw new ConfigError(
      'Cannot start: AUTH_PASSWORD needs AUTH_SESSION_STRATEGY="jwt" (Auth.js signs credentials in with JWT sessions only)',
    );
  }
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
    email,
    password,
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
