import assert from "node:assert/strict";
import { loadConfig } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { createOAuth1Providers } from "./provider.ts";

const base = {
  AUTH_SECRET: "s3cret-value-with-enough-entropy-0123456789",
  AUTH_URL: "https://abc.supabase.co/functions/v1",
  SUPABASE_DB_URL: "postgres://postgres:pw@db.abc.supabase.co:5432/postgres",
};
const CONSUMER_SECRET = "consumer-secret-never-echoed";

function assertConfigError(env: Record<string, string>, message: RegExp) {
  assert.throws(() => loadConfig({ ...base, ...env }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, message);
    assert.ok(!error.message.includes(CONSUMER_SECRET), "never echoes a secret");
    return true;
  });
}

Deno.test("AUTH_OAUTH1_PROVIDERS: presets need only the consumer key and secret", () => {
  const config = loadConfig({
    ...base,
    AUTH_OAUTH1_PROVIDERS: "twitter, flickr,trello",
    AUTH_TWITTER_ID: "x-key",
    AUTH_TWITTER_SECRET: CONSUMER_SECRET,
    AUTH_FLICKR_ID: "f-key",
    AUTH_FLICKR_SECRET: CONSUMER_SECRET,
    AUTH_TRELLO_ID: "t-key",
    AUTH_TRELLO_SECRET: CONSUMER_SECRET,
    AUTH_TRELLO_AUTHORIZE_URL: "https://trello.com/1/OAuthAuthorizeToken?name=My%20App&scope=read",
  });
  const [x, flickr, trello] = config.oauth1Providers;
  assert.deepEqual(
    {
      ...x,
      requestTokenUrl: x!.requestTokenUrl.href,
      authorizeUrl: x!.authorizeUrl.href,
      accessTokenUrl: x!.accessTokenUrl.href,
      profileUrl: x!.profileUrl?.href,
    },
    {
      id: "twitter",
      name: "X",
      consumerKey: "x-key",
      consumerSecret: CONSUMER_SECRET,
      signatureMethod: "HMAC-SHA1",
      requestTokenUrl: "https://api.x.com/oauth/request_token",
      authorizeUrl: "https://api.x.com/oauth/authenticate",
      accessTokenUrl: "https://api.x.com/oauth/access_token",
      profileUrl:
        "https://api.x.com/1.1/account/verify_credentials.json?include_email=true&skip_status=true",
      profile: "twitter",
      allowEmailLinking: false,
    },
  );
  assert.equal(flickr!.profileUrl, undefined, "Flickr's profile is its access token response");
  assert.equal(flickr!.authorizeUrl.searchParams.get("perms"), "read");
  assert.equal(
    trello!.authorizeUrl.searchParams.get("name"),
    "My App",
    "presets can be overridden",
  );
  assert.equal(trello!.profileUrl?.href, "https://api.trello.com/1/members/me");
  // The OAuth 1.0a service takes the id: Auth.js's OAuth 2 Twitter is not also enabled.
  assert.deepEqual(config.oauthProviders, []);
});

Deno.test("without AUTH_OAUTH1_PROVIDERS, AUTH_TWITTER_ID still means Auth.js's OAuth 2 Twitter", () => {
  const config = loadConfig({ ...base, AUTH_TWITTER_ID: "id", AUTH_TWITTER_SECRET: "secret" });
  assert.deepEqual(config.oauth1Providers, []);
  assert.deepEqual(config.oauthProviders.map((p) => p.id), ["twitter"]);
});

Deno.test("a generic OAuth 1.0a service names its endpoints; loopback http is allowed", () => {
  const config = loadConfig({
    ...base,
    AUTH_OAUTH1_PROVIDERS: "my-service",
    AUTH_MY_SERVICE_ID: "key",
    AUTH_MY_SERVICE_SECRET: CONSUMER_SECRET,
    AUTH_MY_SERVICE_NAME: "My Service",
    AUTH_MY_SERVICE_REQUEST_TOKEN_URL: "http://127.0.0.1:9000/initiate",
    AUTH_MY_SERVICE_AUTHORIZE_URL: "https://service.example/authorize",
    AUTH_MY_SERVICE_ACCESS_TOKEN_URL: "https://service.example/token",
    AUTH_MY_SERVICE_SIGNATURE_METHOD: "PLAINTEXT",
    AUTH_MY_SERVICE_ALLOW_EMAIL_LINKING: "true",
  });
  const [service] = config.oauth1Providers;
  assert.equal(service!.name, "My Service");
  assert.equal(service!.profile, "generic");
  assert.equal(service!.signatureMethod, "PLAINTEXT");
  assert.equal(service!.allowEmailLinking, true);
  assert.equal(service!.profileUrl, undefined);
});

Deno.test("AUTH_OAUTH1_PROVIDERS refuses what cannot work, naming the variable", () => {
  const generic = {
    AUTH_OAUTH1_PROVIDERS: "acme",
    AUTH_ACME_ID: "key",
    AUTH_ACME_SECRET: CONSUMER_SECRET,
    AUTH_ACME_REQUEST_TOKEN_URL: "https://acme.example/request",
    AUTH_ACME_AUTHORIZE_URL: "https://acme.example/authorize",
    AUTH_ACME_ACCESS_TOKEN_URL: "https://acme.example/access",
  };
  assertConfigError({ AUTH_OAUTH1_PROVIDERS: "Twitter" }, /AUTH_OAUTH1_PROVIDERS .* "Twitter"/);
  assertConfigError({ AUTH_OAUTH1_PROVIDERS: "email" }, /taken by another sign-in method/);
  assertConfigError({ ...generic, AUTH_OAUTH1_PROVIDERS: "acme,acme" }, /distinct/);
  assertConfigError({ AUTH_OAUTH1_PROVIDERS: "twitter" }, /AUTH_TWITTER_ID is missing/);
  assertConfigError(
    { AUTH_OAUTH1_PROVIDERS: "twitter", AUTH_TWITTER_ID: "key" },
    /AUTH_TWITTER_SECRET is missing/,
  );
  assertConfigError(
    { ...generic, AUTH_ACME_REQUEST_TOKEN_URL: "" },
    /AUTH_ACME_REQUEST_TOKEN_URL is missing/,
  );
  assertConfigError(
    { ...generic, AUTH_ACME_ACCESS_TOKEN_URL: "http://acme.example/access" },
    /AUTH_ACME_ACCESS_TOKEN_URL must use https/,
  );
  assertConfigError(
    { ...generic, AUTH_ACME_AUTHORIZE_URL: "https://acme.example/a?oauth_token=x" },
    /AUTH_ACME_AUTHORIZE_URL must have no fragment and no oauth_ parameters/,
  );
  assertConfigError(
    { ...generic, AUTH_ACME_PROFILE_URL: "not a url" },
    /AUTH_ACME_PROFILE_URL is not a URL/,
  );
  assertConfigError(
    { ...generic, AUTH_ACME_SIGNATURE_METHOD: "RSA-SHA1" },
    /AUTH_ACME_SIGNATURE_METHOD must be one of "HMAC-SHA1", "PLAINTEXT"/,
  );
  assertConfigError(
    {
      ...generic,
      AUTH_ACME_SIGNATURE_METHOD: "PLAINTEXT",
      AUTH_ACME_PROFILE_URL: "http://192.168.1.2/me",
    },
    /AUTH_ACME_PROFILE_URL must use https/,
  );
  assertConfigError(
    { ...generic, AUTH_ACME_ALLOW_EMAIL_LINKING: "yes" },
    /AUTH_ACME_ALLOW_EMAIL_LINKING/,
  );
});

Deno.test("each preset reads its service's profile into an Auth.js user", () => {
  const config = loadConfig({
    ...base,
    AUTH_OAUTH1_PROVIDERS: "twitter,flickr,trello,acme",
    ...Object.fromEntries(
      ["TWITTER", "FLICKR", "TRELLO", "ACME"].flatMap((p) => [
        [`AUTH_${p}_ID`, "key"],
        [`AUTH_${p}_SECRET`, CONSUMER_SECRET],
      ]),
    ),
    AUTH_ACME_REQUEST_TOKEN_URL: "https://acme.example/request",
    AUTH_ACME_AUTHORIZE_URL: "https://acme.example/authorize",
    AUTH_ACME_ACCESS_TOKEN_URL: "https://acme.example/access",
  });
  const providers = createOAuth1Providers(config) as unknown as {
    id: string;
    profile(profile: Record<string, unknown>): Record<string, unknown>;
    account(tokens: Record<string, unknown>): Record<string, unknown>;
    clientSecret: string;
  }[];
  const byId = Object.fromEntries(providers.map((p) => [p.id, p]));
  assert.deepEqual(
    byId.twitter!.profile({
      id: 1234567890123456800,
      id_str: "1234567890123456789",
      name: "Ada",
      screen_name: "ada",
      email: "ada@example.com",
      profile_image_url_https: "https://pbs.twimg.com/profile_images/1/a_normal.jpg",
    }),
    {
      id: "1234567890123456789",
      name: "Ada",
      email: "ada@example.com",
      image: "https://pbs.twimg.com/profile_images/1/a.jpg",
    },
  );
  assert.deepEqual(
    byId.flickr!.profile({ user_nsid: "12345678@N00", username: "shutterbug", fullname: "" }),
    { id: "12345678@N00", name: "shutterbug", email: null, image: null },
  );
  assert.deepEqual(
    byId.trello!.profile({ id: "5abbe4b7ddc1b351ef961414", fullName: "Tess", email: "t@x.com" }),
    { id: "5abbe4b7ddc1b351ef961414", name: "Tess", email: null, image: null },
  );
  assert.deepEqual(
    byId.acme!.profile({ user_id: 42, screen_name: "grace", email: "not an address" }),
    { id: "42", name: "grace", email: null, image: null },
  );
  // Only the OAuth 1.0a columns are stored; the consumer secret never sits in Auth.js's provider.
  assert.deepEqual(
    byId.acme!.account({
      oauth_token: "t",
      oauth_token_secret: "s",
      access_token: "t",
      user_id: "42",
    }),
    { oauth_token: "t", oauth_token_secret: "s" },
  );
  assert.ok(providers.every((p) => p.clientSecret === ""));
});
