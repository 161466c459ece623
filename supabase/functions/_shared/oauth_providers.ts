/**
 * The OAuth / OpenID Connect providers enabled by configuration alone: any Auth.js built-in
 * (`AUTH_GITHUB_ID`, `AUTH_KEYCLOAK_ISSUER`, …) and the generic OpenID Connect provider
 * `oidc` (`AUTH_OIDC_ISSUER` / `_ID` / `_SECRET`), which the local stack points at its
 * development OpenID provider.
 *
 * @example
 * ```ts
 * const providers = createOAuthProviders(loadConfig({ ...env, AUTH_GITHUB_ID: "…", AUTH_GITHUB_SECRET: "…" }));
 * providers[0].id; // "github"
 * ```
 */
import type { OIDCConfig, Provider } from "@auth/core/providers";
import { BUILTIN_PROVIDERS } from "./builtin_providers.ts";
import {
  type AppConfig,
  GENERIC_OIDC_ID,
  type OAuthProviderSettings,
  providerEnvPrefix,
} from "./config.ts";
import { ConfigError } from "./errors.ts";

export function createOAuthProviders(config: AppConfig): Provider[] {
  return config.oauthProviders.map((settings) =>
    settings.id === GENERIC_OIDC_ID ? genericOidc(settings) : builtin(settings)
  );
}

function builtin(settings: OAuthProviderSettings): Provider {
  const options: Record<string, unknown> = {
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    allowDangerousEmailAccountLinking: settings.allowEmailLinking,
  };
  // An undefined issuer would override the built-in one (Google's, GitHub's).
  if (settings.issuer) options.issuer = settings.issuer;
  const provider = BUILTIN_PROVIDERS[settings.id]!(options) as Record<string, unknown> & {
    options?: Record<string, unknown>;
  };
  // Providers hosted per tenant (Keycloak, Auth0, Okta, …) build their endpoints from the
  // issuer: without one they would fail on the first sign-in instead of at start.
  const merged = { ...provider, ...provider.options };
  const endpoints = [merged.authorization, merged.token, merged.userinfo, merged.wellKnown]
    .map((e) => typeof e === "object" && e !== null ? (e as { url?: unknown }).url : e)
    .filter((e) => e !== undefined);
  if (
    (merged.type === "oidc" && !merged.issuer) ||
    endpoints.some((e) => String(e).includes("undefined"))
  ) {
    throw new ConfigError(
      `Cannot start: ${
        providerEnvPrefix(settings.id)
      }_ISSUER is missing (provider "${settings.id}" needs its issuer URL)`,
    );
  }
  return provider as unknown as Provider;
}

function genericOidc(settings: OAuthProviderSettings): Provider {
  const provider: OIDCConfig<Record<string, unknown>> = {
    id: GENERIC_OIDC_ID,
    name: settings.name ?? "OpenID",
    type: "oidc",
    issuer: settings.issuer,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    checks: ["pkce", "state", "nonce"],
    // Validate the id_token, then read the profile from userinfo: many providers (and
    // oidc-provider by default) put only `sub` in an id_token issued with an access token.
    idToken: false,
    allowDangerousEmailAccountLinking: settings.allowEmailLinking,
    profile(profile) {
      return {
        id: String(profile.sub),
        name: (profile.name ?? profile.preferred_username ?? null) as string | null,
        email: (profile.email ?? null) as string | null,
        image: (profile.picture ?? null) as string | null,
      };
    },
  };
  // A public client authenticates with PKCE alone.
  if (!settings.clientSecret) provider.client = { token_endpoint_auth_method: "none" };
  return provider;
}
