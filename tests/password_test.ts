/**
 * Username/password over HTTP through the gateway, with mail through the real SMTP mail
 * catcher: sign-up, address verification, sign-in (Auth.js's Credentials provider), reset,
 * and what must not leak (whether an address has an account) or be half written.
 */
import assert from "node:assert/strict";
import { connect, countRows } from "./support/db.ts";
import { linkIn } from "./support/email.ts";
import { Client } from "./support/http.ts";
import { type LocalStack, startTestStack } from "./support/stack.ts";

const PASSWORD_ENV = { AUTH_PASSWORD: "true" };
const CHECK_EMAIL = {
  status: "check_email",
  message: "If the address can receive mail, a message with the next step is on its way",
};

function postJson(client: Client, url: string, body: unknown, headers: HeadersInit = {}) {
  return client.fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

async function signUp(stack: LocalStack, client: Client, email: string, password: string) {
  const csrfToken = await client.csrfToken(stack.functionsUrl);
  return postJson(client, `${stack.functionsUrl}/password/signup`, {
    email,
    password,
    name: "Ada",
    csrfToken,
  });
}

async function requestReset(stack: LocalStack, client: Client, email: string) {
  const csrfToken = await client.csrfToken(stack.functionsUrl);
  return postJson(client, `${stack.functionsUrl}/password/reset-request`, { email, csrfToken });
}

/** The link in the newest mail to `email` whose subject matches. */
async function linkFromMail(stack: LocalStack, email: string, subject: RegExp): Promise<URL> {
  const mail = await stack.mail.waitFor((m) => m.to.includes(email) && subject.test(m.subject));
  const all = stack.mail.messages().filter((m) => m.to.includes(email) && subject.test(m.subject));
  const newest = all.at(-1) ?? mail;
  return linkIn(newest.text);
}

async function signIn(stack: LocalStack, client: Client, email: string, password: string) {
  const csrfToken = await client.csrfToken(stack.functionsUrl);
  return client.postForm(`${stack.functionsUrl}/callback/password`, {
    email,
    password,
    csrfToken,
    callbackUrl: `${stack.functionsUrl}/session`,
  });
}

async function assertError(response: Response, status: number, code: string) {
  const text = await response.text();
  assert.equal(response.status, status, `status for ${code}: ${text}`);
  assert.equal(JSON.parse(text).error, code);
}

Deno.test("password sign-up → verify → sign-in → reset → sign-in with the new password", async (t) => {
  const stack = await startTestStack(PASSWORD_ENV);
  const sql = connect(stack.databaseUrl);
  const url = stack.functionsUrl;
  const email = "ada@example.com";
  const first = "first correct horse";
  const second = "second battery staple";
  try {
    const client = new Client();
    let userId!: string;

    await t.step("sign-up stores a hash with its parameters and mails a link", async () => {
      const response = await signUp(stack, client, " Ada@Example.com ", first);
      assert.equal(response.status, 202);
      assert.deepEqual(await response.json(), CHECK_EMAIL);
      const [user] = await sql`select * from next_auth.users where email = ${email}`;
      assert.ok(user, "user created with the normalized address");
      assert.equal(user.emailVerified, null);
      assert.equal(user.name, "Ada");
      userId = user.id;
      const [password] = await sql`select hash from next_auth.passwords where "userId" = ${userId}`;
      assert.match(password!.hash, /^\$pbkdf2-sha256\$i=600000\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
      assert.ok(!password!.hash.includes(first));
    });

    await t.step("sign-in before verification is refused with its own code", async () => {
      const response = await signIn(stack, client, email, first);
      assert.equal(response.status, 302);
      const location = new URL(response.headers.get("Location")!);
      // Auth.js sends credential failures back to the sign-in page.
      assert.equal(location.pathname, new URL(`${url}/signin`).pathname);
      assert.equal(location.searchParams.get("error"), "CredentialsSignin");
      assert.equal(location.searchParams.get("code"), "email_not_verified");
      assert.equal(client.cookies.has("authjs.session-token"), false);
    });

    await t.step(
      "the verification link: a GET consumes nothing, the POST verifies once",
      async () => {
        const link = await linkFromMail(stack, email, /Confirm your email/);
        assert.equal(`${link.origin}${link.pathname}`, `${url}/password/verify`);
        const [stored] = await sql`select token from next_auth.password_tokens
        where "userId" = ${userId} and purpose = 'verify'`;
        assert.notEqual(stored!.token, link.searchParams.get("token"), "stored hashed");

        const scanner = new Client();
        const page = await scanner.get(link);
        assert.equal(page.status, 200);
        assert.match(page.headers.get("Content-Type")!, /text\/html/);
        assert.ok((await page.text()).includes(`method="post" action="${link.href}"`));
        const json = await scanner.get(link, { Accept: "application/json" });
        assert.deepEqual(await json.json(), {
          confirm: { method: "POST", url: link.href, fields: [] },
        });
        const [still] = await sql`select count(*)::int as n from next_auth.password_tokens
        where "userId" = ${userId}`;
        assert.equal(still!.n, 1, "prefetching left the token");

        // The page's form: a browser gets a page back, with the way to sign in.
        const confirmed = await client.postForm(link, {});
        assert.equal(confirmed.status, 200);
        const html = await confirmed.text();
        assert.ok(html.includes("Your email address is confirmed"));
        assert.ok(html.includes(`href="${url}/signin"`));
        const [user] = await sql`select "emailVerified" from next_auth.users where id = ${userId}`;
        assert.ok(user!.emailVerified instanceof Date);
        await assertError(await client.postForm(link, {}), 400, "invalid_token");
      },
    );

    await t.step("sign-in with the password gives a session", async () => {
      const response = await signIn(stack, client, email, first);
      assert.equal(response.status, 302);
      assert.equal(response.headers.get("Location"), `${url}/session`);
      assert.ok(client.cookies.has("authjs.session-token"));
      const session = await (await client.get(`${url}/session`)).json();
      assert.equal(session.user.email, email);
      assert.equal(session.user.id, userId);
    });

    await t.step("a reset link sets a new password, once", async () => {
      const other = new Client();
      const response = await requestReset(stack, other, email);
      assert.equal(response.status, 202);
      assert.deepEqual(await response.json(), CHECK_EMAIL);
      const link = await linkFromMail(stack, email, /Reset your password/);
      assert.equal(`${link.origin}${link.pathname}`, `${url}/password/reset`);
      const page = await new Client().get(link);
      assert.ok((await page.text()).includes('name="password" type="password"'));
      // A refused password does not burn the link.
      await assertError(await other.postForm(link, { password: "short" }), 400, "weak_password");
      // A fetch client gets JSON.
      const reset = await other.postForm(link, { password: second }, {
        Accept: "application/json",
      });
      assert.equal(reset.status, 200);
      assert.deepEqual(await reset.json(), {
        status: "password_reset",
        message: "Your password is changed",
      });
      await assertError(await other.postForm(link, { password: second }), 400, "invalid_token");
    });

    await t.step("the old password no longer works, the new one does", async () => {
      const old = new Client();
      const refused = await signIn(stack, old, email, first);
      assert.equal(refused.status, 302);
      assert.equal(
        new URL(refused.headers.get("Location")!).searchParams.get("error"),
        "CredentialsSignin",
      );
      assert.equal(old.cookies.has("authjs.session-token"), false);
      const fresh = new Client();
      const accepted = await signIn(stack, fresh, email, second);
      assert.equal(accepted.headers.get("Location"), `${url}/session`);
      const session = await (await fresh.get(`${url}/session`)).json();
      assert.equal(session.user.id, userId);
    });
  } finally {
    await sql.end();
    await stack.stop();
  }
});

Deno.test("a wrong password and an unknown email get the same answer", async (t) => {
  const stack = await startTestStack(PASSWORD_ENV);
  const sql = connect(stack.databaseUrl);
  try {
    const email = "grace@example.com";
    const password = "a long enough password";
    const client = new Client();
    assert.equal((await signUp(stack, client, email, password)).status, 202);
    await client.postForm(await linkFromMail(stack, email, /Confirm/), {});

    await t.step("sign-in: same status, Location and body", async () => {
      const answer = async (who: string, secret: string, headers: HeadersInit = {}) => {
        const c = new Client();
        const csrfToken = await c.csrfToken(stack.functionsUrl);
        const response = await c.postForm(`${stack.functionsUrl}/callback/password`, {
          email: who,
          password: secret,
          csrfToken,
        }, headers);
        assert.equal(c.cookies.has("authjs.session-token"), false);
        return {
          status: response.status,
          location: response.headers.get("Location"),
          body: await response.text(),
        };
      };
      const wrong = await answer(email, "not the password at all");
      const unknown = await answer("nobody@example.com", "not the password at all");
      assert.equal(wrong.status, 302);
      assert.match(wrong.location!, /error=CredentialsSignin&code=credentials/);
      assert.deepEqual(unknown, wrong);
      const json = { "X-Auth-Return-Redirect": "1" };
      const wrongJson = await answer(email, "not the password at all", json);
      assert.equal(wrongJson.status, 200);
      assert.match(JSON.parse(wrongJson.body).url, /error=CredentialsSignin/);
      assert.deepEqual(await answer("nobody@example.com", "x", json), wrongJson);
    });

    await t.step(
      "sign-up with a taken address: same answer, nothing changed, owner told",
      async () => {
        const [before] = await sql`select p.hash from next_auth.passwords p
        join next_auth.users u on u.id = p."userId" where u.email = ${email}`;
        const taken = await signUp(stack, new Client(), email, "attacker chosen password");
        const fresh = await signUp(
          stack,
          new Client(),
          "new.person@example.com",
          "another good password",
        );
        assert.equal(taken.status, fresh.status);
        assert.deepEqual(await taken.json(), await fresh.json());
        const [after] = await sql`select p.hash from next_auth.passwords p
        join next_auth.users u on u.id = p."userId" where u.email = ${email}`;
        assert.equal(after!.hash, before!.hash, "the password was not replaced");
        const notice = await linkFromMail(stack, email, /already have an account/);
        assert.equal(notice.pathname.endsWith("/password/reset"), true);
      },
    );

    await t.step("reset request for an unknown address: same answer", async () => {
      const known = await requestReset(stack, new Client(), email);
      const unknown = await requestReset(stack, new Client(), "ghost@example.com");
      assert.equal(known.status, 202);
      assert.equal(unknown.status, known.status);
      assert.deepEqual(await unknown.json(), await known.json());
      await stack.mail.waitFor((m) => m.to.includes("ghost@example.com"));
      const [tokens] = await sql`select count(*)::int as n from next_auth.password_tokens t
        join next_auth.users u on u.id = t."userId" where u.email = 'ghost@example.com'`;
      assert.equal(tokens!.n, 0);
    });
  } finally {
    await sql.end();
    await stack.stop();
  }
});

Deno.test("bad password input gets a 4xx JSON code and writes nothing", async (t) => {
  const stack = await startTestStack(PASSWORD_ENV);
  const url = stack.functionsUrl;
  try {
    const client = new Client();
    const csrfToken = await client.csrfToken(url);
    const signup = (body: Record<string, unknown>) =>
      postJson(client, `${url}/password/signup`, { csrfToken, ...body });

    await t.step("weak passwords", async () => {
      for (
        const password of [
          "short",
          "password123",
          "aaaaaaaaaaaa",
          "ada@example.com",
          "x".repeat(300),
        ]
      ) {
        await assertError(
          await signup({ email: "ada@example.com", password }),
          400,
          "weak_password",
        );
      }
      await assertError(await signup({ email: "ada@example.com" }), 400, "weak_password");
      await assertError(
        await signup({ email: "ada@example.com", password: 12345678 }),
        400,
        "weak_password",
      );
    });

    await t.step("malformed addresses and names", async () => {
      for (
        const email of ["ada", "ada@", "@example.com", "a b@example.com", "a@b,c@example.com", 7]
      ) {
        await assertError(
          await signup({ email, password: "a good long password" }),
          400,
          "invalid_email",
        );
      }
      await assertError(
        await signup({ email: "ada@example.com", password: "a good long password", name: 5 }),
        400,
        "invalid_name",
      );
    });

    await t.step("CSRF, routes, methods and tokens", async () => {
      await assertError(
        await postJson(new Client(), `${url}/password/signup`, {
          email: "ada@example.com",
          password: "a good long password",
        }),
        403,
        "csrf_token_missing",
      );
      await assertError(
        await postJson(client, `${url}/password/reset-request`, {
          email: "ada@example.com",
          csrfToken: "forged",
        }),
        403,
        "csrf_token_mismatch",
      );
      await assertError(await client.get(`${url}/password/nope`), 404, "unknown_action");
      await assertError(await client.get(`${url}/password`), 404, "unknown_action");
      await assertError(await client.get(`${url}/password/signup`), 405, "method_not_allowed");
      await assertError(
        await client.postForm(`${url}/password/verify?token=forged`, {}),
        400,
        "invalid_token",
      );
      await assertError(
        await client.postForm(`${url}/password/reset`, { password: "a good long password" }),
        400,
        "invalid_token",
      );
    });

    await t.step("nothing was written and no mail was sent", async () => {
      const rows = await countRows(stack.databaseUrl);
      assert.equal(rows.users, 0);
      assert.equal(rows.passwords, 0);
      assert.equal(rows.password_tokens, 0);
      assert.equal(stack.mail.messages().length, 0);
    });
  } finally {
    await stack.stop();
  }
});
