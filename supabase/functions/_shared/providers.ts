/**
 * The sign-in providers this deployment offers, from configuration alone.
 *
 * @example
 * ```ts
 * const providers = createProviders(loadConfig(Deno.env.toObject()));
 * providers.map((p) => p.id); // ["email"]
 * ```
 */
import type { Provider } from "@auth/core/providers";
import Nodemailer from "@auth/core/providers/nodemailer";
import type { AppConfig } from "./config.ts";

export function createProviders(config: AppConfig): Provider[] {
  const providers: Provider[] = [];
  if (config.email) {
    // Named "email" so links read /functions/v1/callback/email. Nodemailer speaks SMTP and
    // SMTPS: on Supabase use port 465 (smtps://), since 25 and 587 are blocked there.
    providers.push(
      Nodemailer({
        id: "email",
        name: "Email",
        server: config.email.server,
        from: config.email.from,
      }),
    );
  }
  return providers;
}
