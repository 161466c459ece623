/**
 * OAuth 1.0a services from the environment: `AUTH_OAUTH1_PROVIDERS` lists their ids, each
 * configured like an OAuth 2 provider (`AUTH_<ID>_ID` = consumer key, `AUTH_<ID>_SECRET` =
 * consumer secret) plus its endpoints, which presets fill in for well-known services.
 *
 * @example
 * ```ts
 * const [x] = readOAuth1Providers("twitter", {
 *   AUTH_TWITTER_ID: "consumer-key",
 *   AUTH_TWITTER_SECRET: "consumer-secret",
 * });
 * x.requestTokenUrl.href; // "https://api.x.com/oauth/request_token"
 * ```
 */
import type { Env } from "../config.ts";
import { ConfigError } from "../errors.ts";

/**
 * The signature methods the bridge speaks (signature.ts): kept here, so that reading the
 * configuration, which every function does at start, does not load the signing code.
 */
export type SignatureMethod = "HMAC-SHA1" | "PLAINTEXT";
export const SIGNATURE_METHODS: readonly SignatureMethod[] = ["HMAC-SHA1", "PLAINTEXT"];

/** How a service's profile becomes an Auth.js user: a preset's mapping or the generic one. */
export type OAuth1ProfileKind = keyof typeof OAUTH1_PRESETS | "generic";

export interface OAuth1ProviderSettings {
  /** The Auth.js provider id: `/signin/<id>`, `/callback/<id>`, `accounts.provider`. */
  id: string;
  /** The button's label. */
  name: string;
  consumerKey: string;
  consumerSecret: string;
  signatureMethod: SignatureMethod;
  /** Temporary credential request (RFC 5849 §2.1). */
  requestTokenUrl: URL;
  /** Resource owner authorization (§2.2), where the browser is sent. */
  authorizeUrl: URL;
  /** Token request (§2.3). */
  accessTokenUrl: URL;
  /** A signed GET answering the user's profile as JSON; without it, the access token response is the profile. */
  profileUrl?: URL;
  profile: OAuth1ProfileKind;
  /** Auth.js's `allowDangerousEmailAccountLinking`. */
  allowEmailLinking: boolean;
}

interface Preset {
  name: string;
  requestTokenUrl: string;
  authorizeUrl: string;
  accessTokenUrl: string;
  profileUrl?: string;
}

/**
 * Services whose OAuth 1.0a endpoints are documented (sources in the README). Each preset's
 * values can still be overridden by the variables of a generic service.
 */
export const OAUTH1_PRESETS = {
  /** X (Twitter) "Log in with X"; the id keeps next-auth v4's Twitter accounts signing in. */
  twitter: {
    name: "X",
    requestTokenUrl: "https://api.x.com/oauth/request_token",
    authorizeUrl: "https://api.x.com/oauth/authenticate",
    accessTokenUrl: "https://api.x.com/oauth/access_token",
    // The email comes only when the app may ask for it, and only verified (else null).
    profileUrl:
      "https://api.x.com/1.1/account/verify_credentials.json?include_email=true&skip_status=true",
  },
  /** Flickr: the access token response names the user (`user_nsid`, `username`, `fullname`). */
  flickr: {
    name: "Flickr",
    requestTokenUrl: "https://www.flickr.com/services/oauth/request_token",
    authorizeUrl: "https://www.flickr.com/services/oauth/authorize?perms=read",
    accessTokenUrl: "https://www.flickr.com/services/oauth/access_token",
  },
  /** Trello: the member is read from `/1/members/me`. */
  trello: {
    name: "Trello",
    requestTokenUrl: "https://trello.com/1/OAuthGetRequestToken",
    authorizeUrl: "https://trello.com/1/OAuthAuthorizeToken?scope=read",
    accessTokenUrl: "https://trello.com/1/OAuthGetAccessToken",
    profileUrl: "https://api.trello.com/1/members/me",
  },
} as const satisfies Record<string, Preset>;

/** Ids other sign-in methods of this project use. */
const RESERVED_IDS = new Set(["email", "password", "oidc", "credentials", "passkey", "webauthn"]);
const ID = /^[a-z][a-z0-9-]{0,31}$/;

/** `AUTH_<ID>`, as `providerEnvPrefix` in config.ts spells it (kept apart: no import cycle). */
const prefixOf = (id: string) => `AUTH_${id.toUpperCase().replace(/-/g, "_")}`;

/**
 * The services `list` (the value of `AUTH_OAUTH1_PROVIDERS`) names, validated; throws a
 * `ConfigError` naming the first bad variable.
 */
export function readOAuth1Providers(list: string | undefined, env: Env): OAuth1ProviderSettings[] {
  const ids = (list ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const seen = new Set<string>();
  return ids.map((id) => {
    if (!ID.test(id) || RESERVED_IDS.has(id) || seen.has(id)) {
      throw new ConfigError(
        `Cannot start: AUTH_OAUTH1_PROVIDERS must list distinct lowercase ids (a-z, 0-9, -), not "${id}"${
          RESERVED_IDS.has(id) ? " (taken by another sign-in method)" : ""
        }`,
      );
    }
    seen.add(id);
    return readProvider(id, env);
  });
}

function readProvider(id: string, env: Env): OAuth1ProviderSettings {
  const prefix = prefixOf(id);
  const preset: Preset | undefined = (OAUTH1_PRESETS as Record<string, Preset>)[id];
  const consumerKey = env[`${prefix}_ID`];
  const consumerSecret = env[`${prefix}_SECRET`];
  if (!consumerKey || !consumerSecret) {
    throw new ConfigError(
      `Cannot start: ${prefix}_${
        consumerKey ? "SECRET" : "ID"
      } is missing (the OAuth 1.0a consumer ${
        consumerKey ? "secret" : "key"
      } of "${id}", listed in AUTH_OAUTH1_PROVIDERS)`,
    );
  }
  const endpoint = (suffix: string, fallback: string | undefined) => {
    const name = `${prefix}_${suffix}`;
    const value = env[name] || fallback;
    if (!value) {
      throw new ConfigError(
        `Cannot start: ${name} is missing ("${id}" is not a preset: give its endpoints)`,
      );
    }
    return endpointUrl(name, value);
  };
  const requestTokenUrl = endpoint("REQUEST_TOKEN_URL", preset?.requestTokenUrl);
  const authorizeUrl = endpoint("AUTHORIZE_URL", preset?.authorizeUrl);
  const accessTokenUrl = endpoint("ACCESS_TOKEN_URL", preset?.accessTokenUrl);
  const profileValue = env[`${prefix}_PROFILE_URL`] || preset?.profileUrl;
  const profileUrl = profileValue ? endpointUrl(`${prefix}_PROFILE_URL`, profileValue) : undefined;

  const method = env[`${prefix}_SIGNATURE_METHOD`] || "HMAC-SHA1";
  if (!(SIGNATURE_METHODS as readonly string[]).includes(method)) {
    throw new ConfigError(
      `Cannot start: ${prefix}_SIGNATURE_METHOD must be one of ${
        SIGNATURE_METHODS.map((m) => `"${m}"`).join(", ")
      }`,
    );
  }
  const urls = [requestTokenUrl, accessTokenUrl, ...(profileUrl ? [profileUrl] : [])];
  if (method === "PLAINTEXT" && urls.some((u) => u.protocol !== "https:" && !isLoopback(u))) {
    // RFC 5849 §3.4.4: PLAINTEXT sends the secrets themselves.
    throw new ConfigError(
      `Cannot start: ${prefix}_SIGNATURE_METHOD=PLAINTEXT needs https endpoints`,
    );
  }
  const linking = env[`${prefix}_ALLOW_EMAIL_LINKING`] || "false";
  if (linking !== "true" && linking !== "false") {
    throw new ConfigError(`Cannot start: ${prefix}_ALLOW_EMAIL_LINKING must be "true" or "false"`);
  }
  const name = env[`${prefix}_NAME`] || preset?.name || id;
  return {
    id,
    name: name.slice(0, 64),
    consumerKey,
    consumerSecret,
    signatureMethod: method as SignatureMethod,
    requestTokenUrl,
    authorizeUrl,
    accessTokenUrl,
    profileUrl,
    profile: preset ? id as keyof typeof OAUTH1_PRESETS : "generic",
    allowEmailLinking: linking === "true",
  };
}

/**
 * An endpoint: https (http only on this machine, for development), no fragment, and no
 * `oauth_` parameters in its query (RFC 5849 §2: they would clash with the protocol's).
 */
function endpointUrl(name: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`Cannot start: ${name} is not a URL`);
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url))) {
    throw new ConfigError(
      `Cannot start: ${name} must use https (http only for 127.0.0.1 or localhost)`,
    );
  }
  if (url.hash || [...url.searchParams.keys()].some((k) => k.startsWith("oauth_"))) {
    throw new ConfigError(`Cannot start: ${name} must have no fragment and no oauth_ parameters`);
  }
  return url;
}

function isLoopback(url: URL): boolean {
  return url.hostname === "localhost" || url.hostname === "[::1]" ||
    /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}
