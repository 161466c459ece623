/**
 * The consumer side of OAuth 1.0a (RFC 5849 §2): temporary credentials, token credentials,
 * and signed requests for protected resources. Every request is signed (`signature.ts`) and
 * carries its protocol parameters in the `Authorization` header.
 *
 * @example
 * ```ts
 * const client = createOAuth1Client(settings);
 * const { token, tokenSecret } = await client.requestToken("https://example.com/oauth1/x/callback");
 * ```
 */
import type { OAuth1ProviderSettings } from "./config.ts";
import { signRequest } from "./signature.ts";

/**
 * A failure talking to the service, with a stable `code` for the sign-in page:
 * `provider_unreachable` (no answer), `provider_refused` (it answered 4xx: a signature,
 * nonce, timestamp or token it would not accept), `provider_error` (anything else unusable);
 * and the bridge's own `oauth_code_invalid`, `oauth_check_failed`, `profile_invalid`.
 */
export class OAuth1Error extends Error {
  override name = "OAuth1Error";
  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Credentials a service issued: temporary (request token) or token (access token). */
export interface Credentials {
  token: string;
  tokenSecret: string;
}

export interface OAuth1ClientDeps {
  fetch?: typeof fetch;
  /** How long one request to the service may take. */
  timeoutMs?: number;
}

/** Service answers larger than this are not OAuth 1.0a answers. */
const MAX_BODY = 256 * 1024;

export function createOAuth1Client(
  settings: Pick<
    OAuth1ProviderSettings,
    "id" | "consumerKey" | "consumerSecret" | "signatureMethod"
  >,
  { fetch: fetchFn = fetch, timeoutMs = 10_000 }: OAuth1ClientDeps = {},
) {
  const service = `"${settings.id}"`;

  async function send(
    method: "GET" | "POST",
    url: URL,
    credentials: Partial<Credentials>,
    oauth: Record<string, string> = {},
  ): Promise<string> {
    const { authorization } = await signRequest({
      method,
      url,
      consumerKey: settings.consumerKey,
      consumerSecret: settings.consumerSecret,
      token: credentials.token,
      tokenSecret: credentials.tokenSecret,
      signatureMethod: settings.signatureMethod,
      oauth,
    });
    let response: Response;
    try {
      response = await fetchFn(url, {
        method,
        headers: { Authorization: authorization, Accept: "application/json, */*" },
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new OAuth1Error(
        "provider_unreachable",
        `Cannot reach ${service} at ${url.origin}`,
        { cause: error },
      );
    }
    const text = await readText(response);
    if (response.status >= 400 && response.status < 500) {
      // The OAuth Problem Reporting extension's `oauth_problem`, when the service sends one.
      const problem = new URLSearchParams(text).get("oauth_problem")?.replace(/[^\w.-]/g, "")
        .slice(0, 64);
      throw new OAuth1Error(
        "provider_refused",
        `Cannot sign in with ${service}: it refused ${url.pathname} (${response.status}${
          problem ? `, ${problem}` : ""
        })`,
      );
    }
    if (response.status !== 200 || text === undefined) {
      throw new OAuth1Error(
        "provider_error",
        `Cannot sign in with ${service}: ${url.pathname} answered ${response.status}`,
      );
    }
    return text;
  }

  /** A form-encoded credentials answer (§2.1, §2.3), with whatever else the service adds. */
  function credentialsFrom(text: string, step: string): Record<string, string> {
    const fields = Object.fromEntries(new URLSearchParams(text));
    if (!fields.oauth_token || !fields.oauth_token_secret) {
      throw new OAuth1Error(
        "provider_error",
        `Cannot sign in with ${service}: its ${step} answer has no oauth_token and oauth_token_secret`,
      );
    }
    return fields;
  }

  return {
    /** §2.1: temporary credentials for a sign-in that returns to `callback`. */
    async requestToken(url: URL, callback: string): Promise<Credentials> {
      const fields = credentialsFrom(
        await send("POST", url, {}, { oauth_callback: callback }),
        "request token",
      );
      // Servers of the original 1.0 (without the verifier) do not confirm the callback.
      if (fields.oauth_callback_confirmed !== "true") {
        throw new OAuth1Error(
          "provider_error",
          `Cannot sign in with ${service}: it did not confirm the callback (an OAuth 1.0 server, not 1.0a)`,
        );
      }
      return { token: fields.oauth_token!, tokenSecret: fields.oauth_token_secret! };
    },

    /**
     * §2.3: token credentials for authorized temporary credentials. Answers every field of the
     * response: services add the user's id there (`user_id`, `user_nsid`).
     */
    async accessToken(
      url: URL,
      temporary: Credentials,
      verifier: string,
    ): Promise<Record<string, string>> {
      return credentialsFrom(
        await send("POST", url, temporary, { oauth_verifier: verifier }),
        "access token",
      );
    },

    /** A signed GET of a protected resource answering JSON. */
    async getJson(url: URL, credentials: Credentials): Promise<unknown> {
      const text = await send("GET", url, credentials);
      try {
        return JSON.parse(text);
      } catch {
        throw new OAuth1Error(
          "provider_error",
          `Cannot sign in with ${service}: ${url.pathname} did not answer JSON`,
        );
      }
    },
  };
}

export type OAuth1Client = ReturnType<typeof createOAuth1Client>;

/** The body as text, or undefined past `MAX_BODY` (the rest is not read). */
async function readText(response: Response): Promise<string | undefined> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_BODY) {
        await reader.cancel();
        return undefined;
      }
      chunks.push(value);
    }
  } catch {
    return undefined;
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}
