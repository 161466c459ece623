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
import type { AppConfig } from "./config.ts";
import { createEmailProvider } from "./email_provider.ts";
import { createMailer } from "./mailer.ts";

export function createProviders(config: AppConfig): Provider[] {
  const providers: Provider[] = [];
  if (config.email) {
    // Magic links, named "email" (links read /functions/v1/callback/email); see email_provider.ts.
    providers.push(createEmailProvider(config.email, createMailer(config.email)));
  }
  return providers;
}
