/**
 * A development OpenID provider for the local stack and the tests: the real `oidc-provider`
 * package (authorization code + PKCE, id_token, userinfo, rotating refresh tokens), kept in
 * memory, with a minimal login and consent UI that a person can click through and a test
 * can drive with plain HTTP (stable form field names and element ids).
 *
 * Pages (all under the issuer):
 * - `GET /interaction/<uid>` — the login form (`#login-form`: `input#email[name=email]`,
 *   `input#name[name=name]`, `button#sign-in`) or the consent form (`#consent-form`:
 *   `button#allow[name=decision][value=allow]`, `button#deny[name=decision][value=deny]`).
 * - `POST /interaction/<uid>/login`, `POST /interaction/<uid>/consent` — the form targets.
 *
 * @example
 * ```ts
 * const oidc = await startOidcProvider({
 *   port: 0,
 *   redirectUris: ["http://127.0.0.1:54321/functions/v1/callback/oidc"],
 * });
 * oidc.issuer; // "http://127.0.0.1:<port>"
 * await oidc.stop();
 * ```
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import type Provider from "oidc-provider";

export interface OidcProviderOptions {
  /** Port on 127.0.0.1; 0 picks a free one. */
  port?: number;
  /** Where the registered client may be sent back to (Auth.js's `/callback/oidc`). */
  redirectUris: string[];
  clientId?: string;
  clientSecret?: string;
}

export interface OidcProvider {
  /** `http://127.0.0.1:<port>`: discovery at `${issuer}/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The `sub` the provider gives an email address (stable across sign-ins). */
  subjectFor(email: string): string;
  stop(): Promise<void>;
}

export const DEV_OIDC_CLIENT_ID = "authjs-supabase-edge";

/** Starts the provider; resolves once it listens. */
export async function startOidcProvider(
  options: OidcProviderOptions,
): Promise<OidcProvider> {
  const clientId = options.clientId ?? DEV_OIDC_CLIENT_ID;
  const clientSecret = options.clientSecret ?? randomBytes(24).toString("base64url");
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const issuer = `http://127.0.0.1:${port}`;

  /** Display names typed on the login page, by subject. */
  const names = new Map<string, string>();
  let provider: Provider;
  try {
    provider = await createProvider(issuer, { ...options, clientId, clientSecret }, names);
  } catch (error) {
    server.close();
    throw error;
  }

  // One line per internal error (clients get an error page or redirect), never a stack.
  provider.on("server_error", (_ctx: unknown, error: Error) => {
    console.error(`[dev-oidc] server_error: ${error.message}`);
  });

  const callback = provider.callback();
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const match = req.url?.match(/^\/interaction\/([\w-]+)(?:\/(login|consent))?(?:\?|$)/);
    if (!match) return callback(req, res);
    interaction(provider, req, res, match[2] ?? "show", names).catch((error) => {
      send(res, 400, page("Cannot continue", `<p>${escapeHtml(String(error.message))}</p>`));
    });
  });

  return {
    issuer,
    clientId,
    clientSecret,
    subjectFor: (email) => email.trim().toLowerCase(),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function createProvider(
  issuer: string,
  options: OidcProviderOptions & { clientId: string; clientSecret: string },
  names: Map<string, string>,
): Promise<Provider> {
  const { clientId, clientSecret } = options;
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const Provider = await importProvider();
  return new Provider(issuer, {
    adapter: createMemoryAdapter(),
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: options.redirectUris,
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    }],
    // Auth.js always sends a PKCE challenge; refuse any client that does not.
    pkce: { required: () => true },
    scopes: ["openid", "email", "profile", "offline_access"],
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name"],
    },
    findAccount(_ctx, sub) {
      return Promise.resolve({
        accountId: sub,
        claims: () => ({
          sub,
          email: sub,
          email_verified: true,
          name: names.get(sub) ?? sub,
        }),
      });
    },
    // Refresh tokens without asking for offline_access (Auth.js's default scope does not),
    // so `accounts.refresh_token` is filled on every sign-in; they rotate on use.
    issueRefreshToken: (_ctx, client) => Promise.resolve(client.grantTypeAllowed("refresh_token")),
    rotateRefreshToken: true,
    // Explicit lifetimes (seconds); the defaults print a notice each time they are used.
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      RefreshToken: 14 * 24 * 3600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    jwks: { keys: [{ ...privateKey.export({ format: "jwk" }), use: "sig", alg: "RS256" }] },
  });
}

/**
 * `oidc-provider` works under Deno's Node compatibility (checked with every flow the tests
 * drive) but warns "Unsupported runtime" when loaded; that one line is kept off the console
 * so `npm start` does not look broken.
 */
async function importProvider(): Promise<typeof Provider> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes("Unsupported runtime")) warn(...args);
  };
  try {
    return (await import("oidc-provider")).default;
  } finally {
    console.warn = warn;
  }
}

async function interaction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  step: string,
  names: Map<string, string>,
) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params } = details;
  const clientId = String(params.client_id);

  if (step === "show" && req.method === "GET") {
    if (prompt.name === "login") {
      return send(
        res,
        200,
        page(
          "Sign in to Dev OpenID",
          `<form id="login-form" method="post" action="/interaction/${uid}/login">
<label>Email <input id="email" name="email" type="email" required autofocus></label>
<label>Name <input id="name" name="name" type="text" placeholder="optional"></label>
<button id="sign-in" type="submit">Sign in</button>
</form>
<p class="hint">Any email works: this provider is for development only.</p>`,
        ),
      );
    }
    const scopes = String(params.scope).split(" ");
    return send(
      res,
      200,
      page(
        "Allow access?",
        `<p><b>${escapeHtml(clientId)}</b> asks for: ${escapeHtml(scopes.join(", "))}</p>
<form id="consent-form" method="post" action="/interaction/${uid}/consent">
<button id="allow" name="decision" value="allow" type="submit">Allow</button>
<button id="deny" name="decision" value="deny" type="submit">Deny</button>
</form>`,
      ),
    );
  }

  if (req.method !== "POST") return send(res, 405, page("Cannot continue", "<p>Use POST</p>"));
  const form = new URLSearchParams(await readText(req));

  if (step === "login" && prompt.name === "login") {
    const email = (form.get("email") ?? "").trim().toLowerCase();
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
      return send(res, 400, page("Cannot sign in", "<p>Type an email address</p>"));
    }
    const name = (form.get("name") ?? "").trim();
    if (name) names.set(email, name);
    return provider.interactionFinished(req, res, { login: { accountId: email } }, {
      mergeWithLastSubmission: false,
    });
  }

  if (step === "consent" && prompt.name === "consent") {
    if (form.get("decision") !== "allow") {
      return provider.interactionFinished(req, res, {
        error: "access_denied",
        error_description: "The user denied access",
      }, { mergeWithLastSubmission: false });
    }
    const grant = details.grantId
      ? (await provider.Grant.find(details.grantId))!
      : new provider.Grant({ accountId: details.session!.accountId, clientId });
    const missing = prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(" "));
    }
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, {
      mergeWithLastSubmission: true,
    });
  }

  send(res, 400, page("Cannot continue", "<p>This step is not expected now</p>"));
}

/** `oidc-provider`'s storage interface over Maps of this provider instance alone. */
function createMemoryAdapter() {
  const store = new Map<string, { payload: Record<string, unknown>; expiresAt?: number }>();
  const byUid = new Map<string, string>();
  const byUserCode = new Map<string, string>();
  const byGrant = new Map<string, Set<string>>();
  const live = (key: string) => {
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.payload;
  };
  return class MemoryAdapter {
    constructor(readonly model: string) {}
    key(id: string) {
      return `${this.model}:${id}`;
    }
    upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
      const key = this.key(id);
      store.set(key, {
        payload,
        expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined,
      });
      if (typeof payload.uid === "string") byUid.set(payload.uid, id);
      if (typeof payload.userCode === "string") byUserCode.set(payload.userCode, id);
      if (typeof payload.grantId === "string") {
        const keys = byGrant.get(payload.grantId) ?? new Set();
        keys.add(key);
        byGrant.set(payload.grantId, keys);
      }
      return Promise.resolve();
    }
    find(id: string) {
      return Promise.resolve(live(this.key(id)));
    }
    findByUid(uid: string) {
      const id = byUid.get(uid);
      return Promise.resolve(id ? live(this.key(id)) : undefined);
    }
    findByUserCode(userCode: string) {
      const id = byUserCode.get(userCode);
      return Promise.resolve(id ? live(this.key(id)) : undefined);
    }
    consume(id: string) {
      const payload = live(this.key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      return Promise.resolve();
    }
    destroy(id: string) {
      store.delete(this.key(id));
      return Promise.resolve();
    }
    revokeByGrantId(grantId: string) {
      for (const key of byGrant.get(grantId) ?? []) store.delete(key);
      byGrant.delete(grantId);
      return Promise.resolve();
    }
  };
}

function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      text += chunk;
      if (text.length > 16_384) reject(new Error("Form too large"));
    });
    req.on("end", () => resolve(text));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, html: string) {
  res.statusCode = status;
  res.setHeader("Content-Type", "text/html; charset=utf-8");
  res.setHeader("Cache-Control", "no-store");
  res.end(html);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:15px system-ui;max-width:24rem;margin:4rem auto}label{display:block;margin:.6rem 0}
input{display:block;width:100%;padding:.4rem}button{margin:.6rem .4rem 0 0;padding:.4rem 1rem}
.hint{color:#666}</style>
<h1>${escapeHtml(title)}</h1>
${body}`;
}
