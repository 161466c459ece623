/**
 * The extension point: the one file to edit to add your own sign-in providers and Auth.js
 * callbacks. Everything else (built-in providers, the email provider, sessions, pages) is
 * configured through environment variables; see the README.
 *
 * - `customProviders` returns extra providers. Providers built from `@auth/core/providers/*`
 *   get `AUTH_<ID>_ID` / `_SECRET` / `_ISSUER` filled in from the environment by Auth.js.
 *   Import them statically: `supabase functions deploy` bundles only static imports, and
 *   add any new npm package to `supabase/functions/import_map.json`.
 * - `customCallbacks` are Auth.js callbacks. `signIn` and `jwt` are used as given; `session`
 *   runs after the built-in one (which adds `session.user.id`); whatever `redirect` returns
 *   is still held to `AUTH_ALLOWED_ORIGINS`.
 *
 * @example
 * ```ts
 * import Twitch from "@auth/core/providers/twitch";
 * export function customProviders(config: AppConfig): Provider[] {
 *   return [Twitch({ clientId: config.env.MY_TWITCH_ID, clientSecret: config.env.MY_TWITCH_SECRET })];
 * }
 * export const customCallbacks: CustomCallbacks = {
 *   signIn: ({ user }) => user.email?.endsWith("@example.com") ?? false,
 * };
 * ```
 */
import type { AuthConfig } from "@auth/core";
import type { Provider } from "@auth/core/providers";
import type { AppConfig } from "./config.ts";

export type CustomCallbacks = NonNullable<AuthConfig["callbacks"]>;

export function customProviders(_config: AppConfig): Provider[] {
  return [];
}

export const customCallbacks: CustomCallbacks = {};
