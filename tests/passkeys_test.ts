/**
 * Passkeys over HTTP, without a browser: a software authenticator (tests/support/webauthn.ts)
 * answers the real functions' options as `navigator.credentials` would. A signed-in user
 * registers a passkey and signs in with it (JWT and database sessions); registering needs a
 * session; bad input, replayed challenges and credentials made for another origin or RP ID
 * are 4xx with stable codes and write nothing; a user lists and removes only their own
 * passkeys, each removal taking the authenticator and its account row together.
 */
import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import { connect, countRows } from "./support/db.ts";
import { Client } from "./support/http.ts";
import { enrolTotp } from "./support/mfa.ts";
import { signInWithMagicLink } from "./support/sign_in.ts";
import { type LocalStack, startTestStack } from "./support/stack.ts";
import { type Bend, SoftAuthenticator } from "./support/webauthn.ts";

const FRONTEND = "https://app.example.com";
const PASSKEYS = {
  AUTH_PASSKEYS: "true",
  AUTH_ALLOWED_ORIGINS: FRONTEND,
  AUTH_RATE_LIMIT_EMAIL_ADDRESS: "off",
};

/** `GET /webauthn-options/passkey?action=…`: the status and the JSON body. */
async function options(stack: LocalStack, client: Client, query: string) {
  const response = await client.get(`${stack.functionsUrl}/webauthn-options/passkey?${query}`);
  return { status: response.status, body: await response.json() };
}

/** `POST /callback/passkey` as the SDK sends it (form, CSRF token, JSON redirect). */
async function callback(stack: LocalStack, client: Client, fields: Record<string, string>) {
  const csrfToken = await client.csrfToken(stack.functionsUrl);
  const response = await client.postForm(
    `${stack.functionsUrl}/callback/passkey`,
    { csrfToken, ...fields },
    { "X-Auth-Return-Redirect": "1" },
  );
  return { status: response.status, body: await response.json() };
}

async function register(
  stack: LocalStack,
  client: Client,
  authenticator: SoftAuthenticator,
  bend: Bend = {},
) {
  const { status, body } = await options(stack, client, "action=register");
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.action, "register");
  const credential = await authenticator.register(body.options, bend);
  const answer = await callback(stack, client, {
    action: "register",
    data: JSON.stringify(credential),
  });
  return { ...answer, credential };
}

async function passkeySignIn(
  stack: LocalStack,
  client: Client,
  authenticator: SoftAuthenticator,
  bend: Bend = {},
  only?: string,
) {
  const { status, body } = await options(stack, client, "action=authenticate");
  assert.equal(status, 200, JSON.stringify(body));
  const credential = await authenticator.authenticate(body.options, bend, only);
  return await callback(stack, client, {
    action: "authenticate",
    data: JSON.stringify(credential),
  });
}

async function sessionOf(stack: LocalStack, client: Client) {
  return await (await client.get(`${stack.functionsUrl}/session`)).json();
}

async function passkeysOf(stack: LocalStack, client: Client) {
  const response = await client.get(`${stack.functionsUrl}/account/passkeys`);
  assert.equal(response.status, 200);
  return (await response.json()).passkeys as { id: string; lastUsedAt: string | null }[];
}

for (const strategy of ["jwt", "database"] as const) {
  Deno.test(`a signed-in user registers a passkey and signs in with it as the same user (${strategy} sessions)`, async () => {
    const stack = await startTestStack(
      { ...PASSKEYS, AUTH_SESSION_STRATEGY: strategy },
      { oidc: false },
    );
    const sql = connect(stack.databaseUrl);
    try {
      const laptop = await signInWithMagicLink(stack, "ada@example.com");
      const ada = await sessionOf(stack, laptop);
      const before = await countRows(stack.databaseUrl);
      const authenticator = new SoftAuthenticator({ origin: FRONTEND });

      const registered = await register(stack, laptop, authenticator);
      assert.equal(registered.status, 200, JSON.stringify(registered.body));
      assert.ok(typeof registered.body.url === "string");
      const after = await countRows(stack.databaseUrl);
      assert.equal(after.users, before.users, "no new user");
      assert.equal(after.accounts, before.accounts! + 1);
      assert.equal(after.authenticators, 1);
      assert.equal(after.sessions, before.sessions, "registering keeps the session");
      const [row] = await sql`
        select a."userId", a."credentialID", acc.provider, acc.type, acc."userId" as owner
        from next_auth.authenticators a
        join next_auth.accounts acc on acc."providerAccountId" = a."providerAccountId"`;
      assert.equal(row!.userId, ada.user.id, "the passkey is the signed-in user's");
      assert.equal(row!.owner, ada.user.id);
      assert.equal(row!.provider, "passkey");
      assert.equal(row!.type, "webauthn");
      assert.equal((await sessionOf(stack, laptop)).user.id, ada.user.id, "still signed in");

      const listed = await passkeysOf(stack, laptop);
      assert.deepEqual(listed.map((p) => p.id), [registered.credential.id]);
      assert.equal(listed[0]!.lastUsedAt, null);
      assert.ok(!JSON.stringify(listed).includes("credentialPublicKey"));

      // Another browser, nobody signed in: the passkey alone signs Ada in.
      const phone = new Client();
      const signedIn = await passkeySignIn(stack, phone, authenticator);
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
      assert.ok(phone.cookies.has("authjs.session-token"));
      const session = await sessionOf(stack, phone);
      assert.equal(session.user.id, ada.user.id, "same user");
      assert.equal(session.user.email, "ada@example.com");
      assert.equal((await countRows(stack.databaseUrl)).users, before.users);
      const [used] = await passkeysOf(stack, phone);
      assert.ok(used!.lastUsedAt, "the sign-in is remembered");
      if (strategy === "database") {
        const [row] = await sql`
          select count(*)::int from next_auth.sessions where "userId" = ${ada.user.id}`;
        assert.equal(row!.count, 2, "the passkey sign-in is a database session of its own");
      }
      const [audit] = await sql`
        select event, provider from next_auth.audit_log
        where event = 'signin' order by id desc limit 1`;
      assert.deepEqual({ ...audit }, { event: "signin", provider: "passkey" });
    } finally {
      await sql.end();
      await stack.stop();
    }
  });
}

Deno.test("passkey refusals: no session, bad input, replays, other origins — 4xx codes, nothing written", async (t) => {
  // Many callbacks from one address in a minute: more than `callback_ip` allows.
  const stack = await startTestStack(
    { ...PASSKEYS, AUTH_RATE_LIMIT_CALLBACK_IP: "off" },
    { oidc: false },
  );
  const F = stack.functionsUrl;
  try {
    const ada = await signInWithMagicLink(stack, "ada@example.com");
    const authenticator = new SoftAuthenticator({ origin: FRONTEND });
    assert.equal((await register(stack, ada, authenticator)).status, 200);
    let rows = await countRows(stack.databaseUrl);
    const unchanged = async () => assert.deepEqual(await countRows(stack.databaseUrl), rows);

    await t.step("registering needs a session", async () => {
      const stranger = new Client();
      const asked = await options(stack, stranger, "action=register&email=eve@example.com");
      assert.equal(asked.status, 401);
      assert.equal(asked.body.error, "session_missing");
      // With a sign-in challenge in hand, a registration is still refused.
      await options(stack, stranger, "action=authenticate");
      const other = new SoftAuthenticator({ origin: FRONTEND });
      const credential = await other.register({
        challenge: "AAAA",
        rp: { id: "app.example.com", name: "x" },
        user: { id: "u", name: "eve@example.com", displayName: "eve" },
      });
      const posted = await callback(stack, stranger, {
        action: "register",
        data: JSON.stringify(credential),
      });
      assert.equal(posted.status, 401);
      assert.equal(posted.body.error, "session_missing");
      await unchanged();
    });

    await t.step("the options tell nobody who has passkeys", async () => {
      const stranger = new Client();
      const asked = await options(stack, stranger, "action=authenticate&email=ada@example.com");
      assert.equal(asked.status, 200);
      assert.equal(asked.body.options.allowCredentials, undefined, "no credential ids");
      const unnamed = await options(stack, stranger, "email=nobody@example.com");
      assert.equal(unnamed.body.action, "authenticate", "never an implicit registration");
      const bad = await options(stack, stranger, "action=delete");
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error, "invalid_passkey_action");
      await unchanged();
    });

    await t.step("malformed credentials are a 400 before Auth.js runs", async () => {
      const client = new Client();
      await options(stack, client, "action=authenticate");
      const good = await authenticator.authenticate(
        (await options(stack, client, "action=authenticate")).body.options,
      );
      const cases: Record<string, string>[] = [
        {},
        { action: "login", data: JSON.stringify(good) },
        { action: "authenticate" },
        { action: "authenticate", data: "{not json" },
        { action: "authenticate", data: "[1,2]" },
        { action: "authenticate", data: "null" },
        { action: "authenticate", data: JSON.stringify({ ...good, rawId: "other" }) },
        { action: "authenticate", data: JSON.stringify({ ...good, id: "a/b+c=" }) },
        { action: "authenticate", data: JSON.stringify({ ...good, type: "password" }) },
        { action: "authenticate", data: JSON.stringify({ ...good, response: "x" }) },
        {
          action: "authenticate",
          data: JSON.stringify({ ...good, response: { ...good.response, signature: 5 } }),
        },
        {
          action: "register",
          data: JSON.stringify({ ...good, response: { clientDataJSON: "e30" } }),
        },
      ];
      for (const fields of cases) {
        const answer = await callback(stack, client, fields);
        assert.equal(answer.status, 400, JSON.stringify(fields).slice(0, 80));
        assert.equal(answer.body.error, "invalid_passkey_response");
      }
      const get = await client.get(`${F}/callback/passkey`);
      assert.equal(get.status, 405);
      assert.equal((await get.json()).error, "method_not_allowed");
      const noCsrf = await client.postForm(`${F}/callback/passkey`, {
        action: "authenticate",
        data: JSON.stringify(good),
      });
      assert.equal(noCsrf.status, 403);
      assert.equal((await noCsrf.json()).error, "csrf_token_missing");
      await unchanged();
    });

    await t.step("a challenge is needed, and works once", async () => {
      // A synced passkey's counter stays 0: it cannot tell a replay from a new sign-in.
      const synced = new SoftAuthenticator({ origin: FRONTEND, counts: false });
      assert.equal((await register(stack, ada, synced)).status, 200);
      const client = new Client();
      const { body } = await options(stack, client, "action=authenticate");
      const credential = await synced.authenticate(body.options);
      const challenge = client.cookies.get("authjs.challenge")!;
      assert.ok(challenge, "the options set the challenge cookie");
      client.cookies.delete("authjs.challenge");
      const missing = await callback(stack, client, {
        action: "authenticate",
        data: JSON.stringify(credential),
      });
      assert.equal(missing.status, 400);
      assert.equal(missing.body.error, "passkey_challenge_missing");

      client.cookies.set("authjs.challenge", challenge);
      const first = await callback(stack, client, {
        action: "authenticate",
        data: JSON.stringify(credential),
      });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      // The same cookie and signed response, sent again (a captured request).
      const replay = new Client();
      replay.cookies.set("authjs.challenge", challenge);
      const again = await callback(stack, replay, {
        action: "authenticate",
        data: JSON.stringify(credential),
      });
      assert.equal(again.status, 400);
      assert.equal(again.body.error, "passkey_challenge_used");
      assert.equal(replay.cookies.has("authjs.session-token"), false);
      rows = await countRows(stack.databaseUrl);
    });

    await t.step("a forged signature or an unknown passkey signs nobody in", async () => {
      const client = new Client();
      const { body } = await options(stack, client, "action=authenticate");
      const credential = await authenticator.authenticate(body.options);
      const signature = credential.response.signature;
      const flipped = (signature.startsWith("M") ? "N" : "M") + signature.slice(1);
      const forged = await callback(stack, client, {
        action: "authenticate",
        data: JSON.stringify({
          ...credential,
          response: { ...credential.response, signature: flipped },
        }),
      });
      assert.equal(forged.status, 401);
      assert.equal(forged.body.error, "passkey_verification_failed");

      const stranger = new SoftAuthenticator({ origin: FRONTEND });
      await stranger.register({
        challenge: "AAAA",
        rp: { id: "app.example.com", name: "x" },
        user: { id: "u", name: "x", displayName: "x" },
      });
      const unknown = await passkeySignIn(stack, client, stranger);
      assert.equal(unknown.status, 401);
      assert.equal(unknown.body.error, "passkey_unknown");
      assert.equal(client.cookies.has("authjs.session-token"), false);
    });

    await t.step("a passkey answer made for another origin or RP ID is refused", async () => {
      for (
        const bend of [
          { origin: "https://evil.example" },
          { origin: new URL(F).origin }, // the functions' own host is not the relying party
          { rpId: "evil.example" },
          { type: "webauthn.create" },
          { userVerified: false },
        ] satisfies Bend[]
      ) {
        const client = new Client();
        const answer = await passkeySignIn(stack, client, authenticator, bend);
        assert.equal(answer.status, 401, JSON.stringify(bend));
        assert.equal(answer.body.error, "passkey_verification_failed");
        assert.equal(client.cookies.has("authjs.session-token"), false);
      }
      for (const bend of [{ origin: "https://evil.example" }, { rpId: "example.org" }]) {
        const phished = await register(
          stack,
          ada,
          new SoftAuthenticator({ origin: FRONTEND }),
          bend,
        );
        assert.equal(phished.status, 401, JSON.stringify(bend));
        assert.equal(phished.body.error, "passkey_verification_failed");
      }
      await unchanged();
    });

    await t.step("someone signed in cannot sign in with another user's passkey", async () => {
      const bob = await signInWithMagicLink(stack, "bob@example.com");
      const bobId = (await sessionOf(stack, bob)).user.id;
      const answer = await passkeySignIn(stack, bob, authenticator);
      assert.equal(answer.status, 409);
      assert.equal(answer.body.error, "passkey_other_user");
      assert.equal((await sessionOf(stack, bob)).user.id, bobId, "still Bob");
    });

    await t.step(
      "Auth.js's own sign-in page offers the passkey, with nothing to type",
      async () => {
        const page = await new Client().get(`${F}/signin`);
        assert.equal(page.status, 200);
        const html = await page.text();
        const form = html.match(/<form[^>]*id="passkey-form"[^]*?<\/form>/)?.[0];
        assert.ok(form, "a passkey form");
        assert.doesNotMatch(form, /<input[^>]*name="email"/);
      },
    );

    await t.step(
      "a form post (Auth.js's own page) lands on the error page with the code",
      async () => {
        const client = new Client();
        const { body } = await options(stack, client, "action=authenticate");
        const credential = await authenticator.authenticate(body.options, {
          origin: "https://evil.example",
        });
        const csrfToken = await client.csrfToken(F);
        const response = await client.postForm(`${F}/callback/passkey`, {
          csrfToken,
          action: "authenticate",
          data: JSON.stringify(credential),
        });
        assert.equal(response.status, 302);
        const location = new URL(response.headers.get("Location")!);
        assert.equal(location.pathname, new URL(`${F}/error`).pathname);
        assert.equal(location.searchParams.get("error"), "WebAuthnVerificationError");
        assert.equal(location.searchParams.get("code"), "passkey_verification_failed");
      },
    );
  } finally {
    await stack.stop();
  }
});

Deno.test("a user lists and removes only their own passkeys, each with its account row", async (t) => {
  const stack = await startTestStack(PASSKEYS, { oidc: false });
  const F = stack.functionsUrl;
  const sql = connect(stack.databaseUrl);
  try {
    const ada = await signInWithMagicLink(stack, "ada@example.com");
    const bob = await signInWithMagicLink(stack, "bob@example.com");
    const laptop = new SoftAuthenticator({ origin: FRONTEND });
    const phone = new SoftAuthenticator({ origin: FRONTEND });
    const first = await register(stack, ada, laptop);
    const second = await register(stack, ada, phone);
    const bobs = await register(stack, bob, new SoftAuthenticator({ origin: FRONTEND }));
    for (const r of [first, second, bobs]) assert.equal(r.status, 200);
    const remove = async (client: Client, id: string) => {
      const csrfToken = await client.csrfToken(F);
      const response = await client.postForm(`${F}/account/passkeys/remove`, { id, csrfToken });
      return { status: response.status, body: await response.json() };
    };

    await t.step("each user sees their own, newest first", async () => {
      assert.deepEqual(
        (await passkeysOf(stack, ada)).map((p) => p.id).sort(),
        [first.credential.id, second.credential.id].sort(),
      );
      assert.deepEqual((await passkeysOf(stack, bob)).map((p) => p.id), [bobs.credential.id]);
      const anonymous = await new Client().get(`${F}/account/passkeys`);
      assert.equal(anonymous.status, 401);
      assert.equal((await anonymous.json()).error, "session_missing");
    });

    await t.step("someone else's passkey and an unknown one get the same 404", async () => {
      const foreign = await remove(bob, first.credential.id);
      const unknown = await remove(bob, "AAAAAAAAAAAAAAAAAAAAAA");
      const malformed = await remove(bob, "not a credential id!");
      for (const answer of [foreign, unknown, malformed]) {
        assert.equal(answer.status, 404);
        assert.deepEqual(answer.body, foreign.body);
      }
      assert.equal(foreign.body.error, "passkey_not_found");
      const missing = await remove(bob, "");
      assert.equal(missing.status, 400);
      assert.equal(missing.body.error, "malformed_body");
      const noCsrf = await ada.postForm(`${F}/account/passkeys/remove`, {
        id: first.credential.id,
      });
      assert.equal(noCsrf.status, 403);
      assert.equal((await noCsrf.json()).error, "csrf_token_missing");
      assert.equal((await passkeysOf(stack, ada)).length, 2, "nothing removed");
    });

    await t.step("removing takes the authenticator and its account row together", async () => {
      const answer = await remove(ada, first.credential.id);
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body, { removed: true });
      assert.deepEqual((await passkeysOf(stack, ada)).map((p) => p.id), [second.credential.id]);
      const [counts] = await sql`
        select (select count(*)::int from next_auth.accounts
                where provider = 'passkey') as accounts,
               (select count(*)::int from next_auth.authenticators) as authenticators`;
      assert.equal(counts!.authenticators, 2);
      assert.equal(counts!.accounts, 2, "no orphaned account row");
      const again = await remove(ada, first.credential.id);
      assert.equal(again.status, 404);
    });

    await t.step("a removed passkey no longer signs in; the others still do", async () => {
      const client = new Client();
      const refused = await passkeySignIn(stack, client, laptop);
      assert.equal(refused.status, 401);
      assert.equal(refused.body.error, "passkey_unknown");
      assert.equal(client.cookies.has("authjs.session-token"), false);
      const accepted = await passkeySignIn(stack, client, phone);
      assert.equal(accepted.status, 200);
      assert.equal((await sessionOf(stack, client)).user.email, "ada@example.com");
    });

    await t.step("a bearer session lists and removes without a CSRF token", async () => {
      const token = bob.cookies.get("authjs.session-token")!;
      const bearer = new Client({ Authorization: `Bearer ${token}` });
      assert.deepEqual((await passkeysOf(stack, bearer)).map((p) => p.id), [bobs.credential.id]);
      const response = await bearer.postForm(`${F}/account/passkeys/remove`, {
        id: bobs.credential.id,
      });
      assert.equal(response.status, 200);
      assert.deepEqual(await passkeysOf(stack, bearer), []);
    });
  } finally {
    await sql.end();
    await stack.stop();
  }
});

Deno.test("a passkey is never half-written: registration and removal are one statement each", async () => {
  const stack = await startTestStack(PASSKEYS, { oidc: false, log: () => {} });
  const sql = connect(stack.databaseUrl);
  try {
    const ada = await signInWithMagicLink(stack, "ada@example.com");
    const rows = await countRows(stack.databaseUrl);
    // The authenticator's insert fails after Auth.js has linked the account: with the two
    // writes Auth.js makes, the account row would stay behind.
    await sql.unsafe(`
      create function next_auth.fail_write() returns trigger language plpgsql as $$
      begin raise exception 'injected failure'; end $$;
      create trigger fail_insert before insert on next_auth.authenticators
        for each row execute function next_auth.fail_write();`);
    const failed = await register(stack, ada, new SoftAuthenticator({ origin: FRONTEND }));
    assert.equal(failed.status, 500);
    assert.equal(failed.body.error, "internal_error");
    assert.deepEqual(await countRows(stack.databaseUrl), rows, "no account row without its key");
    await sql`drop trigger fail_insert on next_auth.authenticators`;

    const registered = await register(stack, ada, new SoftAuthenticator({ origin: FRONTEND }));
    assert.equal(registered.status, 200);
    await sql.unsafe(`
      create trigger fail_delete before delete on next_auth.accounts
        for each row execute function next_auth.fail_write();`);
    const csrfToken = await ada.csrfToken(stack.functionsUrl);
    const response = await ada.postForm(`${stack.functionsUrl}/account/passkeys/remove`, {
      id: registered.credential.id,
      csrfToken,
    });
    assert.equal(response.status, 500);
    await response.body?.cancel();
    assert.equal((await passkeysOf(stack, ada)).length, 1, "the key stays with its account");
  } finally {
    await sql.end();
    await stack.stop();
  }
});

Deno.test("without AUTH_PASSKEYS there is no passkey provider and no passkey API", async () => {
  const stack = await startTestStack({}, { oidc: false });
  try {
    const providers = await (await fetch(`${stack.functionsUrl}/providers`)).json();
    assert.equal("passkey" in providers, false);
    const client = await signInWithMagicLink(stack, "ada@example.com");
    const listed = await client.get(`${stack.functionsUrl}/account/passkeys`);
    assert.equal(listed.status, 404);
    assert.equal((await listed.json()).error, "passkeys_disabled");
    const asked = await client.get(`${stack.functionsUrl}/webauthn-options/passkey`);
    assert.equal(asked.status, 404);
    assert.equal((await asked.json()).error, "unknown_provider");
  } finally {
    await stack.stop();
  }
});

/** mulberry32: small, seeded, good enough to pick inputs. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { int, pick };
}

const FUZZ_INPUTS = Number(Deno.env.get("PASSKEY_FUZZ_INPUTS") ?? 300);
const FUZZ_SEED = Number(Deno.env.get("PASSKEY_FUZZ_SEED") ?? 20261204);

Deno.test(`hostile passkey credentials never become a 5xx or a row (seed ${FUZZ_SEED})`, async () => {
  const lines: string[] = [];
  const stack = await startTestStack(
    { ...PASSKEYS, AUTH_RATE_LIMIT_CALLBACK_IP: "off" },
    { oidc: false, log: (line) => lines.push(line) },
  );
  try {
    const ada = await signInWithMagicLink(stack, "ada@example.com");
    const authenticator = new SoftAuthenticator({ origin: FRONTEND });
    assert.equal((await register(stack, ada, authenticator)).status, 200);
    const rows = await countRows(stack.databaseUrl);
    const rnd = prng(FUZZ_SEED);
    const randomBytes = (n: number) =>
      btoa(String.fromCharCode(...Array.from({ length: n }, () => rnd.int(256))))
        .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const junk = () =>
      rnd.pick<() => unknown>([
        () => null,
        () => rnd.int(1e9) - 5e8,
        () => "",
        () => randomBytes(rnd.int(80)),
        () => "%00<'\"\u202e\ud83d\ude00".repeat(rnd.int(5)),
        () => [randomBytes(8), 1, null],
        () => ({ nested: { deeper: randomBytes(4) } }),
        () => "A".repeat(20_000),
        () => true,
      ])();
    /** One field somewhere in the credential replaced, removed, truncated or doubled. */
    const mutate = (value: Record<string, unknown>): Record<string, unknown> => {
      const copy = structuredClone(value);
      for (let n = 1 + rnd.int(3); n > 0; n--) {
        let node: Record<string, unknown> = copy;
        const inner = node.response as Record<string, unknown> | undefined;
        if (inner && typeof inner === "object" && rnd.int(2)) node = inner;
        const keys = Object.keys(node);
        const key = rnd.int(5) === 0 ? randomBytes(3) : rnd.pick(keys);
        const current = node[key];
        switch (rnd.int(4)) {
          case 0:
            delete node[key];
            break;
          case 1:
            node[key] = typeof current === "string"
              ? current.slice(0, rnd.int(current.length))
              : junk();
            break;
          case 2:
            node[key] = typeof current === "string" ? current + current : junk();
            break;
          default:
            node[key] = junk();
        }
      }
      return copy;
    };
    const statuses = new Map<number, number>();
    for (let i = 0; i < FUZZ_INPUTS; i++) {
      const action = rnd.pick(["authenticate", "register"] as const);
      const client = action === "register" ? ada : new Client();
      const { body } = await options(stack, client, `action=${action}`);
      const valid = action === "register"
        ? await new SoftAuthenticator({ origin: FRONTEND }).register(body.options)
        : await authenticator.authenticate(body.options);
      const data = rnd.int(10) === 0
        ? randomBytes(rnd.int(100))
        : JSON.stringify(mutate(valid as unknown as Record<string, unknown>));
      const answer = await callback(stack, client, { action, data });
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      assert.ok(answer.status < 500, `${action} ${data.slice(0, 300)}: ${answer.status}`);
      if (answer.status >= 400) assert.match(answer.body.error, /^[a-z_]+$/);
    }
    console.log(
      `passkey fuzz: ${FUZZ_INPUTS} credentials, statuses ${
        JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))
      }`,
    );
    const after = await countRows(stack.databaseUrl);
    // A mutation may leave a credential valid (an unknown extra field): that one registers.
    const registered = statuses.get(200) ?? 0;
    assert.equal(after.users, rows.users);
    assert.ok(after.authenticators! - rows.authenticators! <= registered);
    assert.equal(after.accounts! - rows.accounts!, after.authenticators! - rows.authenticators!);
    assert.ok(!lines.some((l) => l.includes("Unexpected error")), lines.join("\n"));
  } finally {
    await stack.stop();
  }
});

for (const strategy of ["jwt", "database"] as const) {
  Deno.test(`with TOTP enrolled, a passkey sign-in is complete without a code; a magic link is not (${strategy} sessions)`, async () => {
    const stack = await startTestStack(
      { ...PASSKEYS, AUTH_MFA: "true", AUTH_SESSION_STRATEGY: strategy },
      { oidc: false },
    );
    try {
      const laptop = await signInWithMagicLink(stack, "ada@example.com");
      const ada = await sessionOf(stack, laptop);
      await enrolTotp(stack, laptop); // the laptop's session is now aal2
      const authenticator = new SoftAuthenticator({ origin: FRONTEND });
      const registered = await register(stack, laptop, authenticator);
      assert.equal(registered.status, 200, JSON.stringify(registered.body));

      // A magic link alone: partial, no user, no access token.
      const tablet = await signInWithMagicLink(stack, "ada@example.com");
      const partial = await sessionOf(stack, tablet);
      assert.equal(partial.mfaRequired, true);
      assert.equal(partial.user, undefined);
      const refused = await tablet.get(`${stack.functionsUrl}/access-token`);
      assert.equal(refused.status, 403);
      assert.equal((await refused.json()).error, "second_factor_required");

      // The passkey alone: the whole session, at aal2, with webauthn in its methods.
      const phone = new Client();
      const signedIn = await passkeySignIn(stack, phone, authenticator);
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
      const session = await sessionOf(stack, phone);
      assert.equal(session.user.id, ada.user.id);
      assert.equal(session.aal, "aal2");
      const issued = await phone.get(`${stack.functionsUrl}/access-token`);
      assert.equal(issued.status, 200, await issued.clone().text());
      const claims = decodeJwt((await issued.json()).access_token);
      assert.equal(claims.aal, "aal2");
      assert.deepEqual((claims.amr as { method: string }[]).map((e) => e.method), ["webauthn"]);
    } finally {
      await stack.stop();
    }
  });
}
