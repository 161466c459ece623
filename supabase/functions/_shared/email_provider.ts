/**
 * Magic-link sign-in through the configured mail transport: Auth.js's Nodemailer provider for
 * SMTP(S), or its Resend / Postmark / SendGrid provider for their HTTPS APIs. Whichever it is,
 * the provider is named `email` (links read `/callback/email`) and sends through the same
 * `Mailer` as the password flow.
 *
 * @example
 * ```ts
 * const provider = createEmailProvider(config.email!, createMailer(config.email!));
 * ```
 */
import type { EmailConfig as AuthEmailConfig } from "@auth/core/providers/email";
import Nodemailer from "@auth/core/providers/nodemailer";
import Postmark from "@auth/core/providers/postmark";
import Resend from "@auth/core/providers/resend";
import Sendgrid from "@auth/core/providers/sendgrid";
import type { EmailConfig } from "./config.ts";
import { magicLinkMail } from "./emails.ts";
import type { Mailer } from "./mailer.ts";

export function createEmailProvider(email: EmailConfig, mailer: Mailer): AuthEmailConfig {
  const options = {
    id: "email",
    name: "Email",
    from: email.from,
    async sendVerificationRequest({ identifier, url }: { identifier: string; url: string }) {
      await mailer.send({ to: identifier, ...magicLinkMail(new URL(url)) });
    },
  };
  switch (email.transport) {
    case "smtp":
      return Nodemailer({ ...options, server: email.server });
    case "resend":
      return Resend({ ...options, apiKey: email.apiKey });
    case "postmark":
      return Postmark({ ...options, apiKey: email.apiKey });
    case "sendgrid":
      return Sendgrid({ ...options, apiKey: email.apiKey });
  }
}
