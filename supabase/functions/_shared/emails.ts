/**
 * The mail this project sends, as plain text (with each link on a line of its own) and simple
 * HTML. Every link opens a page that asks for a confirming click: mail scanners that prefetch
 * links consume nothing.
 *
 * @example
 * ```ts
 * await mailer.send({ to, ...magicLinkMail(url) });
 * ```
 */
import type { MailMessage } from "./mailer.ts";

export type MailContent = Omit<MailMessage, "to">;

export function magicLinkMail(url: URL): MailContent {
  return linkMail({
    subject: `Sign in to ${url.host}`,
    intro: `Use this link to sign in to ${url.host}:`,
    url,
    action: "Sign in",
    outro: "If you did not ask for it, ignore this mail.",
  });
}

export function verifyEmailMail(url: URL): MailContent {
  return linkMail({
    subject: `Confirm your email address for ${url.host}`,
    intro: `Confirm your email address to finish signing up to ${url.host}:`,
    url,
    action: "Confirm email address",
    outro: "If you did not sign up, ignore this mail: no account is activated without it.",
  });
}

export function resetPasswordMail(url: URL): MailContent {
  return linkMail({
    subject: `Reset your password for ${url.host}`,
    intro: `Use this link to choose a new password for ${url.host}:`,
    url,
    action: "Choose a new password",
    outro: "If you did not ask for it, ignore this mail: your password stays as it is.",
  });
}

/** Sent instead of a verification mail when the address already has an account. */
export function alreadyRegisteredMail(resetUrl: URL): MailContent {
  return linkMail({
    subject: `You already have an account on ${resetUrl.host}`,
    intro:
      `Someone (probably you) tried to sign up to ${resetUrl.host} with this address, which already has an account. To set or change its password, use this link:`,
    url: resetUrl,
    action: "Choose a password",
    outro: "If it was not you, ignore this mail: nothing was changed.",
  });
}

/** Sent on a reset request for an address without an account, so both take the same path. */
export function noAccountMail(host: string): MailContent {
  const text =
    `Someone (probably you) asked to reset the password for this address on ${host}, but it has no account there. If it was not you, ignore this mail.`;
  return {
    subject: `Password reset for ${host}`,
    text,
    html: `<p>${escapeHtml(text)}</p>`,
  };
}

function linkMail(
  { subject, intro, url, action, outro }: {
    subject: string;
    intro: string;
    url: URL;
    action: string;
    outro: string;
  },
): MailContent {
  return {
    subject,
    text: `${intro}\n\n${url.href}\n\n${outro}\n`,
    html: `<p>${escapeHtml(intro)}</p>
<p><a href="${escapeHtml(url.href)}" style="font-weight:bold">${escapeHtml(action)}</a></p>
<p>${escapeHtml(outro)}</p>`,
  };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
