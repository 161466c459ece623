/**
 * OAuth 1.0a services as Auth.js providers. `@auth/core` speaks only OAuth 2 / OpenID
 * Connect, so each service is presented to it as an OAuth 2 provider (`type: "oauth"`,
 * PKCE + state) whose authorization endpoint is the `oauth1` function and whose token and
 * userinfo steps run in-process: `customFetch` answers the token request by opening the
 * bridge's code and asking the service for token credentials, `userinfo.request` makes the
 * signed profile request. Users, accounts, linking rules, callbacks, events and both session
 * strategies are Auth.js's own; the account row gets `oauth_token` and `oauth_token_secret`
 * (the community schema's columns for OAuth 1.0a).
 *
 * @example
 * ```ts
 * const providers = createOAuth1Providers(config); // one per AUTH_OAUTH1_PROVIDERS id
 * ```
 */
import { customFetch } from "@auth/core";
import type { OAuthConfig, Provider } from "@auth/core/providers";
import type { AppConfig } from "../config.ts";
import {
  createOAuth1Client,
  type OAuth1Client,
  type OAuth1ClientDeps,
  OAuth1Error,
} from "./client.ts";
import type { OAuth1ProfileKind, OAuth1ProviderSettings } from "./config.ts";
import {
  bridgeUrls,
  type Code,
  createFlowCodecs,
  type FlowCodecs,
  pkceChallenge,
  timingSafeEqual,
} from "./flow.ts";

type Profile = Record<string, unknown>;

export function createOAuth1Providers(
  config: Pick<AppConfig, "oauth1Providers" | "publicUrl" | "secrets">,
  deps: OAuth1ClientDeps = {},
): Provider[] {
  if (config.oauth1Providers.length === 0) return [];
  const codecs = createFlowCodecs(config.secrets);
  return config.oauth1Providers.map((settings) =>
    createOAuth1Provider(settings, config.publicUrl, codecs, createOAuth1Client(settings, deps))
  );
}

function createOAuth1Provider(
  settings: OAuth1ProviderSettings,
  publicUrl: URL,
  codecs: FlowCodecs,
  client: OAuth1Client,
): Provider {
  const urls = bridgeUrls(publicUrl, settings.id);
  const mapping = PROFILES[settings.profile];

  /** Auth.js's token request, answered here: the code becomes token credentials. */
  async function exchange(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const target = input instanceof Request ? input.url : String(input);
    if (target !== urls.token) {
      throw new OAuth1Error("provider_error", `Cannot fetch "${target}" for an OAuth 1.0a service`);
    }
    const form = new URLSearchParams(init?.body instanceof URLSearchParams ? init.body : "");
    const sealed = form.get("code") ?? "";
    const code = sealed.length <= 4096
      ? await codecs.code.decode(sealed) as Partial<Code> | null
      : null;
    if (
      !code || code.p !== settings.id || typeof code.t !== "string" ||
      typeof code.s !== "string" || typeof code.v !== "string" || typeof code.c !== "string"
    ) {
      throw new OAuth1Error(
        "oauth_code_invalid",
        `Cannot sign in with "${settings.id}": the code is forged, expired or for another service`,
      );
    }
    // The code is bound to the browser that started: its PKCE verifier cookie, kept by Auth.js.
    const verifier = form.get("code_verifier") ?? "";
    if (!timingSafeEqual(await pkceChallenge(verifier), code.c)) {
      throw new OAuth1Error(
        "oauth_check_failed",
        `Cannot sign in with "${settings.id}": the code was issued to another sign-in`,
      );
    }
    const fields = await client.accessToken(
      settings.accessTokenUrl,
      { token: code.t, tokenSecret: code.s },
      code.v,
    );
    const tokens: Record<string, string> = {};
    for (const [name, value] of Object.entries(fields)) {
      // What the service adds (`user_id`, `user_nsid`, …) is kept for the profile; names
      // OAuth 2 gives a meaning to are not.
      if (/^[a-z][a-z0-9_]{0,63}$/.test(name) && !OAUTH2_NAMES.has(name)) tokens[name] = value;
    }
    return Response.json({ ...tokens, access_token: fields.oauth_token, token_type: "bearer" });
  }

  const provider: OAuthConfig<Profile> = {
    id: settings.id,
    name: settings.name,
    type: "oauth",
    clientId: settings.consumerKey,
    // Auth.js would fill this from AUTH_<ID>_SECRET; the consumer secret stays in the client.
    clientSecret: "",
    client: { token_endpoint_auth_method: "none" },
    authorization: { url: urls.authorize, params: { scope: "" } },
    token: urls.token,
    userinfo: {
      url: settings.profileUrl?.href ?? urls.userinfo,
      async request({ tokens }: { tokens: Record<string, unknown> }) {
        const credentials = {
          token: String(tokens.oauth_token),
          tokenSecret: String(tokens.oauth_token_secret),
        };
        const profile = settings.profileUrl
          ? await client.getJson(settings.profileUrl, credentials)
          : Object.fromEntries(
            Object.entries(tokens).filter(([name]) => !TOKEN_FIELDS.has(name)),
          );
        // Auth.js would make up an id for a profile without one: a new user every time.
        if (!isRecord(profile) || !mapping.id(profile)) {
          throw new OAuth1Error(
            "profile_invalid",
            `Cannot sign in with "${settings.id}": its profile names no user id`,
          );
        }
        return profile;
      },
    },
    checks: ["pkce", "state"],
    profile(profile) {
      return {
        id: mapping.id(profile)!,
        name: mapping.name(profile) ?? null,
        email: mapping.email(profile) ?? null,
        image: mapping.image(profile) ?? null,
      };
    },
    account(tokens) {
      return {
        oauth_token: tokens.oauth_token as string,
        oauth_token_secret: tokens.oauth_token_secret as string,
      };
    },
    allowDangerousEmailAccountLinking: settings.allowEmailLinking,
    [customFetch]: exchange,
  };
  return provider;
}

/** Token response names OAuth 2 (and oauth4webapi) interpret: never taken from a service. */
const OAUTH2_NAMES = new Set([
  "access_token",
  "token_type",
  "expires_in",
  "expires_at",
  "refresh_token",
  "scope",
  "id_token",
  "session_state",
  "error",
  "error_description",
  "error_uri",
]);
/** What is not the service's own in a token response used as the profile. */
const TOKEN_FIELDS = new Set([...OAUTH2_NAMES, "oauth_token", "oauth_token_secret"]);

interface ProfileMapping {
  /** The service's stable user id: `accounts.providerAccountId`. */
  id(profile: Profile): string | undefined;
  name(profile: Profile): string | undefined;
  email(profile: Profile): string | undefined;
  image(profile: Profile): string | undefined;
}

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value !== ""
    ? value.slice(0, 2048)
    : typeof value === "number" && Number.isSafeInteger(value)
    ? String(value)
    : undefined;
const first = (profile: Profile, names: string[]) =>
  names.map((name) => text(profile[name])).find((value) => value !== undefined);
const none = () => undefined;
const emailOf = (value: unknown) =>
  typeof value === "string" && /^[^\s@]{1,64}@[^\s@]{1,255}$/.test(value) ? value : undefined;

/** Each preset's profile, and a generic reading of the usual field names. */
const PROFILES: Record<OAuth1ProfileKind, ProfileMapping> = {
  // GET 1.1/account/verify_credentials: `id_str` (the numeric id overflows a double).
  twitter: {
    id: (p) => typeof p.id_str === "string" ? text(p.id_str) : undefined,
    name: (p) => first(p, ["name", "screen_name"]),
    email: (p) => emailOf(p.email),
    // The "_normal" picture is 48×48; without the suffix it is the original.
    image: (p) => text(p.profile_image_url_https)?.replace(/_normal\.(jpe?g|png|gif)$/, ".$1"),
  },
  // The access token response: user_nsid, username, fullname. Flickr gives no email.
  flickr: {
    id: (p) => text(p.user_nsid),
    name: (p) => first(p, ["fullname", "username"]),
    email: none,
    image: none,
  },
  // GET /1/members/me. Its email is not known to be verified, so it is not used.
  trello: {
    id: (p) => text(p.id),
    name: (p) => first(p, ["fullName", "username"]),
    email: none,
    image: none,
  },
  generic: {
    id: (p) => first(p, ["id_str", "id", "user_id", "user_nsid", "sub"]),
    name: (p) =>
      first(p, ["name", "fullName", "fullname", "display_name", "screen_name", "username"]),
    email: (p) => emailOf(p.email),
    image: (p) =>
      first(p, ["profile_image_url_https", "picture", "avatar_url", "avatarUrl", "image"]),
  },
};

function isRecord(value: unknown): value is Profile {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
