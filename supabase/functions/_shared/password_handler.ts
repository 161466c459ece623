/**
 * The `password` function: what Auth.js has no action for. Sign-in itself is Auth.js's
 * (`POST /callback/password`, see password_provider.ts); this serves
 *
 * - `POST /password/signup` `{ email, password, name?, csrfToken }` → 202
 * - `GET  /password/verify?token=…` → a confirm page (JSON for fetch clients); consumes nothing
 * - `POST /password/verify?token=…` (or `token` in the body) → 200, the address is verified
 * - `POST /password/reset-request` `{ email, csrfToken }` → 202
 * - `GET  /password/reset?token=…` → a page asking for the new password (JSON for fetch clients)
 * - `POST /password/reset?token=…` `{ password }` (or `token` in the body) → 200
 *
 * Sign-up and reset requests answer the same 202 whether or not the address has an account,
 * after the same work (one hash, one mail): the mail itself tells the owner what happened.
 * The token-bearing POSTs need no CSRF token: the emailed single-use token, which a cross-site
 * page cannot know, is the proof.
 *
 * @example
 * ```ts
 * // supabase/functions/password/index.ts
 * Deno.serve(createPasswordHandler());
 * ```
 */
import { readBody } from "./body.ts";
import { type AppConfig, loadConfig } from "./config.ts";
import { confirmPage, resultPage } from "./confirm_page.ts";
import { corsPreflight } from "./cors.ts";
import { csrfCookieName, readCookie, sha256Hex, verifyCsrf } from "./csrf.ts";
import {
  alreadyRegisteredMail,
  type MailContent,
  noAccountMail,
  resetPasswordMail,
  verifyEmailMail,
} from "./emails.ts";
import { HttpError } from "./errors.ts";
import type { HandlerDeps } from "./handler.ts";
import { createMailer, type Mailer } from "./mailer.ts";
import { hashPassword } from "./password_hash.ts";
import { normalizeEmail, passwordProblem } from "./password_rules.ts";
import { actionSegments, toPublicUrl } from "./public_url.ts";
import { withResponseHeaders } from "./respond.ts";
import { createStore, type Store } from "./store/mod.ts";
import { toBase64Url } from "./base64.ts";

/** A verification link lives a day (people sign up, then read mail later). */
export const VERIFY_TOKEN_MAX_AGE = 24 * 60 * 60;
/** A reset link lives an hour: it sets a password, so it should not linger in a mailbox. */
export const RESET_TOKEN_MAX_AGE = 60 * 60;

const ROUTES = {
  signup: ["POST"],
  verify: ["GET", "POST"],
  "reset-request": ["POST"],
  reset: ["GET", "POST"],
} as const;
type Route = keyof typeof ROUTES;

/** One answer for both outcomes of sign-up and reset requests (no account enumeration). */
const CHECK_EMAIL = {
  status: "check_email",
  message: "If the address can receive mail, a message with the next step is on its way",
};

export interface PasswordHandlerDeps extends HandlerDeps {
  mailer?: Mailer;
}

export function createPasswordHandler(
  deps: PasswordHandlerDeps = {},
): (req: Request) => Promise<Response> {
  const config = deps.config ?? loadConfig(deps.env ?? Deno.env.toObject());
  const log = deps.log ?? ((line: string) => console.error(line));
  const flow = config.password && config.email
    ? createPasswordFlow(config, {
      store: deps.store ?? createStore(config),
      mailer: deps.mailer ?? createMailer(config.email),
    })
    : undefined;

  const signInLink = {
    href: `${config.publicUrl.href.replace(/\/+$/, "")}/signin`,
    label: "Sign in",
  };

  async function handle(req: Request): Promise<Response> {
    const url = toPublicUrl(new URL(req.url), config.publicUrl);
    const [name, route, ...extra] = actionSegments(url, config.basePath);
    if (name !== "password" || !route || !Object.hasOwn(ROUTES, route) || extra.length > 0) {
      throw new HttpError(404, "unknown_action", `Cannot handle path "${url.pathname}"`);
    }
    if (req.method === "OPTIONS") return corsPreflight(req, config.allowedOrigins);
    const methods: readonly string[] = ROUTES[route as Route];
    if (!methods.includes(req.method)) {
      throw new HttpError(
        405,
        "method_not_allowed",
        `Cannot ${req.method} /password/${route}: use ${methods.join(" or ")}`,
        { headers: { Allow: [...methods, "OPTIONS"].join(", ") } },
      );
    }
    if (!flow) {
      throw new HttpError(
        404,
        "password_disabled",
        "Password sign-in is not enabled on this server (AUTH_PASSWORD)",
      );
    }
    if (req.method === "GET") {
      return route === "verify"
        ? confirmPage(req, url, { title: "Confirm your email address", button: "Confirm" })
        : confirmPage(req, url, {
          title: "Choose a new password",
          button: "Set password",
          fields: { password: { label: "New password", type: "password" } },
        });
    }
    const { fields } = await readBody(req);
    if (route === "signup" || route === "reset-request") {
      await verifyCsrf({
        cookieValue: readCookie(req.headers.get("Cookie"), csrfCookieName(url)),
        bodyToken: fields.csrfToken,
        secret: config.secrets,
      });
    }
    switch (route as Route) {
      case "signup":
        await flow.signUp(fields);
        return Response.json(CHECK_EMAIL, { status: 202 });
      case "reset-request":
        await flow.requestReset(fields);
        return Response.json(CHECK_EMAIL, { status: 202 });
      case "verify":
        await flow.verify(tokenOf(url, fields));
        return resultPage(req, {
          status: "verified",
          message: "Your email address is confirmed",
        }, signInLink);
      case "reset":
        await flow.reset(tokenOf(url, fields), fields.password);
        return resultPage(req, {
          status: "password_reset",
          message: "Your password is changed",
        }, signInLink);
    }
  }

  return withResponseHeaders(handle, { allowedOrigins: config.allowedOrigins, log });
}

interface PasswordFlow {
  signUp(fields: Record<string, unknown>): Promise<void>;
  requestReset(fields: Record<string, unknown>): Promise<void>;
  verify(token: string): Promise<void>;
  reset(token: string, password: unknown): Promise<void>;
}

function createPasswordFlow(
  config: AppConfig,
  { store, mailer }: { store: Store; mailer: Mailer },
): PasswordFlow {
  const link = (route: Route, token: string) => {
    const url = new URL(`${config.publicUrl.href.replace(/\/+$/, "")}/password/${route}`);
    url.searchParams.set("token", token);
    return url;
  };
  const send = async (to: string, mail: MailContent) => {
    try {
      await mailer.send({ to, ...mail });
    } catch (error) {
      throw new HttpError(
        503,
        "email_unavailable",
        "Cannot send mail right now: try again shortly",
        { cause: error },
      );
    }
  };
  const resetLinkFor = async (userId: string) => {
    const { token, stored } = await newToken(RESET_TOKEN_MAX_AGE);
    await store.passwords.createToken(userId, "reset", stored);
    return link("reset", token);
  };

  return {
    async signUp(fields) {
      const email = readEmail(fields.email);
      const password = readPassword(fields.password, email);
      const name = readName(fields.name);
      // Hash before looking anything up: both outcomes cost the same.
      const hash = await hashPassword(password);
      const { token, stored } = await newToken(VERIFY_TOKEN_MAX_AGE);
      const created = await store.passwords.createUserWithPassword(
        { email, name, hash },
        stored,
      );
      if (created) {
        try {
          await send(email, verifyEmailMail(link("verify", token)));
        } catch (error) {
          // Without the mail the account could never be verified: take it back whole.
          await store.deleteUser(created.id);
          throw error;
        }
        return;
      }
      // Taken: the password is not stored (a stranger may not set it); the owner is told
      // and can set a password through a reset link.
      const existing = await store.passwords.findByEmail(email);
      if (!existing) return;
      await send(email, alreadyRegisteredMail(await resetLinkFor(existing.id)));
    },

    async requestReset(fields) {
      const email = readEmail(fields.email);
      const existing = await store.passwords.findByEmail(email);
      if (existing) {
        await send(email, resetPasswordMail(await resetLinkFor(existing.id)));
      } else {
        await send(email, noAccountMail(config.publicUrl.host));
      }
    },

    async verify(token) {
      if (!await store.passwords.verifyEmail(await sha256Hex(token))) throw invalidToken();
    },

    async reset(token, value) {
      if (typeof value !== "string") {
        throw new HttpError(400, "weak_password", "Cannot accept password: it is missing");
      }
      // Checked before the token is used, so a refused password does not burn the link.
      const problem = passwordProblem(value, "");
      if (problem) {
        throw new HttpError(400, "weak_password", `Cannot accept password: ${problem}`);
      }
      const hash = await hashPassword(value);
      if (!await store.passwords.resetPassword(await sha256Hex(token), hash)) {
        throw invalidToken();
      }
    },
  };
}

function readEmail(value: unknown): string {
  const email = typeof value === "string" ? normalizeEmail(value) : null;
  if (!email) {
    throw new HttpError(400, "invalid_email", "Cannot accept email: not an email address");
  }
  return email;
}

function readPassword(value: unknown, email: string): string {
  if (typeof value !== "string" || value === "") {
    throw new HttpError(400, "weak_password", "Cannot accept password: it is missing");
  }
  const problem = passwordProblem(value, email);
  if (problem) throw new HttpError(400, "weak_password", `Cannot accept password: ${problem}`);
  return value;
}

function readName(value: unknown): string | undefined {
  if (value === undefined || value === "") return undefined;
  if (typeof value !== "string" || value.length > 200) {
    throw new HttpError(
      400,
      "invalid_name",
      "Cannot accept name: a text of at most 200 characters",
    );
  }
  return value.trim() || undefined;
}

function tokenOf(url: URL, fields: Record<string, unknown>): string {
  const token = url.searchParams.get("token") ?? fields.token;
  if (typeof token !== "string" || token === "" || token.length > 200) throw invalidToken();
  return token;
}

function invalidToken() {
  return new HttpError(
    400,
    "invalid_token",
    "Cannot use this link: it is unknown, already used or expired",
  );
}

/** A mailed token (256 random bits, base64url) and what is stored of it (its SHA-256). */
async function newToken(maxAgeSeconds: number) {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const token = toBase64Url(bytes);
  return {
    token,
    stored: { token: await sha256Hex(token), expires: new Date(Date.now() + maxAgeSeconds * 1000) },
  };
}
