/**
 * The one way mail leaves this project: magic links (Auth.js's email provider) and the password
 * flow's verification and reset mail all go through the transport configured here. On Supabase,
 * outbound ports 25 and 587 are blocked: use an HTTPS API (Resend, Postmark, SendGrid) or SMTPS
 * on port 465.
 *
 * @example
 * ```ts
 * const mailer = createMailer(config.email!);
 * await mailer.send({ to: "ada@example.com", subject: "Hi", text: "Hello", html: "<p>Hello</p>" });
 * ```
 */
import nodemailer from "nodemailer";
import type { EmailConfig, HttpsEmailProvider } from "./config.ts";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  /** Resolves once the transport accepted the message; rejects without echoing credentials. */
  send(message: MailMessage): Promise<void>;
}

export interface MailerDeps {
  /** For the HTTPS providers; tests hand in the global one pointed at a local stand-in. */
  fetch?: typeof fetch;
}

export function createMailer(email: EmailConfig, deps: MailerDeps = {}): Mailer {
  if (email.transport === "smtp") return createSmtpMailer(email);
  const doFetch = deps.fetch ?? fetch;
  const build = REQUESTS[email.transport];
  return {
    async send(message) {
      const { headers, body } = build(email.apiKey, email.from, message);
      let response: Response;
      try {
        response = await doFetch(email.apiUrl, {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json", ...headers },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
      } catch (error) {
        throw new Error(`Cannot send mail: ${email.transport} is unreachable`, { cause: error });
      }
      // The body may echo the request (addresses, the link): keep it out of errors and logs.
      await response.body?.cancel();
      if (!response.ok) {
        throw new Error(`Cannot send mail: ${email.transport} answered ${response.status}`);
      }
    },
  };
}

function createSmtpMailer(email: Extract<EmailConfig, { transport: "smtp" }>): Mailer {
  const transport = nodemailer.createTransport(smtpOptions(email.server, email.ca));
  return {
    async send(message) {
      const result = await transport.sendMail({ from: email.from, ...message });
      if (result.rejected.length > 0) {
        throw new Error("Cannot send mail: the SMTP server refused the recipient");
      }
    },
  };
}

/**
 * nodemailer options for an SMTP(S) URL. With a private CA the URL is spelled out: nodemailer
 * drops `tls.ca` when it is given next to a `url`.
 */
export function smtpOptions(server: string, ca?: string): string | Record<string, unknown> {
  if (!ca) return server;
  const url = new URL(server);
  const secure = url.protocol === "smtps:";
  return {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port ? Number(url.port) : secure ? 465 : 25,
    secure,
    auth: url.username
      ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
      : undefined,
    tls: { ca },
  };
}

type RequestBuilder = (
  apiKey: string,
  from: string,
  message: MailMessage,
) => { headers: Record<string, string>; body: unknown };

/** Each provider's documented send request (the same shapes Auth.js's providers send). */
const REQUESTS: Record<HttpsEmailProvider, RequestBuilder> = {
  resend: (apiKey, from, m) => ({
    headers: { Authorization: `Bearer ${apiKey}` },
    body: { from, to: m.to, subject: m.subject, text: m.text, html: m.html },
  }),
  postmark: (apiKey, from, m) => ({
    headers: { "X-Postmark-Server-Token": apiKey },
    body: {
      From: from,
      To: m.to,
      Subject: m.subject,
      TextBody: m.text,
      HtmlBody: m.html,
      MessageStream: "outbound",
    },
  }),
  sendgrid: (apiKey, from, m) => ({
    headers: { Authorization: `Bearer ${apiKey}` },
    body: {
      personalizations: [{ to: [{ email: m.to }] }],
      from: parseAddress(from),
      subject: m.subject,
      content: [
        { type: "text/plain", value: m.text },
        { type: "text/html", value: m.html },
      ],
    },
  }),
};

/** `"Name <a@b.c>"` → `{ name, email }`; a bare address → `{ email }`. */
export function parseAddress(from: string): { email: string; name?: string } {
  const match = from.match(/^\s*"?([^"<]*?)"?\s*<([^>]+)>\s*$/);
  if (!match) return { email: from.trim() };
  return match[1] ? { email: match[2]!, name: match[1] } : { email: match[2]! };
}
