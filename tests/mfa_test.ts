/**
 * The TOTP second factor over HTTP through the gateway, with real sign-ins (magic link,
 * password, token mode) and both session strategies: a user with an authenticator gets only
 * a partial session — no user on either `/session` path, no access token, no protected
 * function, no session management — until a code or a recovery code (each once) completes
 * it. Skew and replay are driven by an injected clock, never by sleeping.
 */
import assert from "node:assert/strict";
import { encode } from "@auth/core/jwt";
import { base64url, decodeJwt } from "jose";
import { loadConfig } from "../supabase/functions/_shared/config.ts";
import { createHandler } from "../supabase/functions/_shared/handler.ts";
import { createMfaHandler } from "../supabase/functions/_shared/mfa_handler.ts";
import { totp, totpStep } from "../supabase/functions/_shared/totp.ts";
import { connect } from "./support/db.ts";
import { linkIn } from "./support/email.ts";
import { Client } from "./support/http.ts";
import { assertError, Authenticator, enrolTotp, mfaPost, wrongCode } from "./support/mfa.ts";
import { decodeSvgQr } from "./support/qr.ts";
import { signInWithMagicLink } from "./support/sign_in.ts";
import { type LocalStack, startTestStack } from "./support/stack.ts";
import { TEST_SECRET } from "./support/env.ts";

const MFA_ENV = {
  AUTH_MFA: "true",
  AUTH_MFA_ISSUER: "Acme Test",
  AUTH_RATE_LIMIT_EMAIL_ADDRESS: "off",
  AUTH_RATE_LIMIT_MFA_USER: "off",
};

/** `/session` from both paths: the fast path (gateway) and Auth.js itself, answers equal. */
async function sessionBothWays(
  stack: LocalStack,
  slow: (req: Request) => Promise<Response>,
  client: Client,
): Promise<Record<string, unknown> | null> {
  const fast = await (await client.get(`${stack.functionsUrl}/session`)).json();
  const cookie = [...client.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  const viaAuthJs = await (await slow(
    new Request(`${stack.functionsUrl}/session`, { headers: { Cookie: cookie } }),
  )).json();
  // Auth.js slides `expires` on every read, the fast path once a day: compare the rest.
  const drop = (s: Record<string, unknown> | null) => s && { ...s, expires: typeof s.expires };
  assert.deepEqual(drop(viaAuthJs), drop(fast), "both session paths answer alike");
  return fast;
}

async function accessTokenOf(stack: LocalStack, client: Client) {
  const response = await client.get(`${stack.functionsUrl}/access-token`);
  assert.equal(response.status, 200, await response.clone().text());
  return decodeJwt((await response.json()).access_token);
}

const methods = (claims: Record<string, unknown>) =>
  (claims.amr as { method: string }[]).map((e) => e.method);

for (const strategy of ["jwt", "database"] as const) {
  Deno.test(`${strategy} sessions: with TOTP a sign-in is partial until a code or a recovery code completes it`, async (t) => {
    const stack = await startTestStack({ ...MFA_ENV, AUTH_SESSION_STRATEGY: strategy }, {
      oidc: false,
    });
    const slow = createHandler("session", { config: { ...stack.config, fastSession: false } });
    const sql = connect(stack.databaseUrl);
    const url = stack.functionsUrl;
    try {
      const email = `ada-${strategy}@example.com`;
      const ada = await signInWithMagicLink(stack, email);
      const earlier = await signInWithMagicLink(stack, email);
      let auth!: Authenticator;
      let recoveryCodes!: string[];

      await t.step("without a factor a sign-in is a full session at aal1", async () => {
        const session = await sessionBothWays(stack, slow, ada);
        assert.equal((session?.user as { email: string }).email, email);
        assert.equal(session?.aal, "aal1");
        assert.deepEqual(await (await ada.get(`${url}/mfa`)).json(), {
          enrolled: false,
          enrollmentPending: false,
          aal: "aal1",
          mfaRequired: false,
          recoveryCodesLeft: 0,
        });
        const claims = await accessTokenOf(stack, ada);
        assert.equal(claims.aal, "aal1");
        assert.deepEqual(methods(claims), ["magiclink"]);
      });

      await t.step(
        "enrol: a secret, its otpauth URI and a QR code of it; stored sealed",
        async () => {
          const first = await (await mfaPost(stack, ada, "/totp/enroll")).json();
          const response = await mfaPost(stack, ada, "/totp/enroll");
          assert.equal(response.status, 200);
          const body = await response.json();
          assert.notEqual(body.secret, first.secret, "enrolling again replaces a pending setup");
          assert.match(body.secret, /^[A-Z2-7]{32}$/);
          assert.equal(
            body.uri,
            `otpauth://totp/Acme%20Test:${encodeURIComponent(email)}?secret=${body.secret}` +
              "&issuer=Acme%20Test&algorithm=SHA1&digits=6&period=30",
          );
          assert.equal(decodeSvgQr(body.qr), body.uri, "the QR code holds the URI");
          const rows = await sql`select secret, "confirmedAt" from next_auth.mfa_factors`;
          assert.equal(rows.length, 1);
          assert.equal(rows[0]!.confirmedAt, null);
          assert.ok(!rows[0]!.secret.includes(body.secret), "not stored in clear");
          assert.ok(!rows[0]!.secret.includes(first.secret));
          auth = new Authenticator(body.secret);
          const status = await (await ada.get(`${url}/mfa`)).json();
          assert.equal(status.enrollmentPending, true);
          assert.equal(status.enrolled, false);
          // A pending setup changes nothing yet: a new sign-in is still full.
          const other = await signInWithMagicLink(stack, email);
          assert.ok((await sessionBothWays(stack, slow, other))?.user);
        },
      );

      await t.step(
        "confirm: wrong and malformed codes refused; the right one confirms and raises this session",
        async () => {
          await assertError(
            await mfaPost(stack, ada, "/totp/confirm", { code: await wrongCode(auth) }),
            400,
            "invalid_code",
          );
          await assertError(
            await mfaPost(stack, ada, "/totp/confirm", { code: "12ab56" }),
            400,
            "malformed_code",
          );
          const response = await mfaPost(stack, ada, "/totp/confirm", { code: await auth.code() });
          assert.equal(response.status, 200);
          const body = await response.json();
          assert.equal(body.aal, "aal2");
          assert.equal(body.sessionToken, undefined, "cookie clients never see a token");
          recoveryCodes = body.recoveryCodes;
          assert.equal(recoveryCodes.length, 10);
          assert.equal(new Set(recoveryCodes).size, 10);
          const stored = await sql`select "codeHash" from next_auth.mfa_recovery_codes`;
          assert.equal(stored.length, 10);
          const dump = JSON.stringify(stored);
          for (const code of recoveryCodes) {
            assert.ok(!dump.includes(code.replaceAll("-", "")), "stored hashed");
          }
          const session = await sessionBothWays(stack, slow, ada);
          assert.equal(session?.aal, "aal2");
          const claims = await accessTokenOf(stack, ada);
          assert.equal(claims.aal, "aal2");
          assert.deepEqual(methods(claims), ["magiclink", "totp"]);
          await assertError(await mfaPost(stack, ada, "/totp/enroll"), 409, "mfa_already_enrolled");
        },
      );

      await t.step(
        strategy === "jwt"
          ? "a JWT session from before the enrolment stays as it was (aal1)"
          : "a database session from before the enrolment becomes partial",
        async () => {
          const session = await sessionBothWays(stack, slow, earlier);
          if (strategy === "jwt") {
            assert.equal(session?.aal, "aal1");
            assert.ok(session?.user);
            // It cannot remove the factor: that needs a session proven with it.
            await assertError(
              await mfaPost(stack, earlier, "/totp/remove"),
              403,
              "second_factor_required",
            );
          } else {
            assert.deepEqual(Object.keys(session!).sort(), ["expires", "mfaRequired"]);
          }
        },
      );

      const partial = await signInWithMagicLink(stack, email);
      await t.step(
        "a new sign-in is partial: no user, no access token, no protected function",
        async () => {
          const session = await sessionBothWays(stack, slow, partial);
          assert.deepEqual(Object.keys(session!).sort(), ["expires", "mfaRequired"]);
          assert.equal(session!.mfaRequired, true);
          await assertError(
            await partial.get(`${url}/access-token`),
            403,
            "second_factor_required",
          );
          await assertError(
            await partial.get(`${url}/example-protected`),
            403,
            "second_factor_required",
          );
          if (strategy === "database") {
            await assertError(
              await partial.get(`${url}/account/sessions`),
              403,
              "second_factor_required",
            );
          }
          assert.deepEqual(await (await partial.get(`${url}/mfa`)).json(), {
            enrolled: true,
            enrollmentPending: false,
            aal: "aal1",
            mfaRequired: true,
            recoveryCodesLeft: 10,
          });
          await assertError(
            await mfaPost(stack, partial, "/totp/enroll"),
            403,
            "second_factor_required",
          );
          await assertError(
            await mfaPost(stack, partial, "/recovery-codes"),
            403,
            "second_factor_required",
          );
          await assertError(
            await mfaPost(stack, partial, "/totp/remove"),
            403,
            "second_factor_required",
          );
        },
      );

      await t.step(
        "verify: a wrong code is refused, the right one completes the session",
        async () => {
          await assertError(
            await mfaPost(stack, partial, "/verify", { code: await wrongCode(auth) }),
            400,
            "invalid_code",
          );
          const response = await mfaPost(stack, partial, "/verify", { code: await auth.code() });
          assert.equal(response.status, 200);
          assert.equal((await response.json()).aal, "aal2");
          const session = await sessionBothWays(stack, slow, partial);
          assert.equal((session?.user as { email: string }).email, email);
          assert.equal(session?.aal, "aal2");
          const claims = await accessTokenOf(stack, partial);
          assert.equal(claims.aal, "aal2");
          assert.deepEqual(methods(claims), ["magiclink", "totp"]);
          const protectedAnswer = await partial.get(`${url}/example-protected`);
          assert.equal(protectedAnswer.status, 200);
        },
      );

      await t.step("a recovery code completes a sign-in, and works only once", async () => {
        const first = await signInWithMagicLink(stack, email);
        // As people type them: upper case, spaces for hyphens.
        const typed = recoveryCodes[0]!.toUpperCase().replaceAll("-", " ");
        const response = await mfaPost(stack, first, "/verify", { recoveryCode: typed });
        assert.equal(response.status, 200, await response.clone().text());
        assert.deepEqual(await response.json(), { aal: "aal2", recoveryCodesLeft: 9 });
        assert.ok((await sessionBothWays(stack, slow, first))?.user);
        assert.deepEqual(methods(await accessTokenOf(stack, first)), ["magiclink", "recovery"]);

        const second = await signInWithMagicLink(stack, email);
        await assertError(
          await mfaPost(stack, second, "/verify", { recoveryCode: recoveryCodes[0] }),
          400,
          "invalid_code",
        );
        assert.equal((await sessionBothWays(stack, slow, second))?.mfaRequired, true);
        const [row] = await sql`select count(*)::int as n from next_auth.mfa_recovery_codes`;
        assert.equal(row!.n, 9);
      });

      await t.step("new recovery codes need aal2 and end the old ones", async () => {
        const response = await mfaPost(stack, partial, "/recovery-codes");
        assert.equal(response.status, 200);
        const fresh = (await response.json()).recoveryCodes as string[];
        assert.equal(fresh.length, 10);
        const next = await signInWithMagicLink(stack, email);
        await assertError(
          await mfaPost(stack, next, "/verify", { recoveryCode: recoveryCodes[1] }),
          400,
          "invalid_code",
        );
        assert.equal((await (await partial.get(`${url}/mfa`)).json()).recoveryCodesLeft, 10);
        recoveryCodes = fresh;
      });

      await t.step("removing the factor needs aal2; then sign-ins are full again", async () => {
        const response = await partial.fetch(`${url}/mfa/totp`, {
          method: "DELETE",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ csrfToken: await partial.csrfToken(url) }),
        });
        assert.equal(response.status, 200);
        assert.deepEqual(await response.json(), { enrolled: false });
        const [row] = await sql`
          select (select count(*)::int from next_auth.mfa_factors) as factors,
                 (select count(*)::int from next_auth.mfa_recovery_codes) as codes`;
        assert.deepEqual([row!.factors, row!.codes], [0, 0]);
        const after = await signInWithMagicLink(stack, email);
        const session = await sessionBothWays(stack, slow, after);
        assert.ok(session?.user);
        assert.equal(session?.aal, "aal1");
      });

      await t.step("the audit log tells the story, without codes or secrets", async () => {
        const rows = await sql`select event, detail from next_auth.audit_log
          where event like 'mfa_%' order by id`;
        const events = rows.map((r) => r.event);
        for (
          const event of [
            "mfa_failed",
            "mfa_enrolled",
            "mfa_verified",
            "mfa_recovery_regenerated",
            "mfa_removed",
          ]
        ) {
          assert.ok(events.includes(event), `${event} logged`);
        }
        const text = JSON.stringify(rows);
        for (const code of recoveryCodes) assert.ok(!text.includes(code));
      });
    } finally {
      await sql.end();
      await stack.stop();
    }
  });
}

Deno.test("password sign-in with TOTP: partial until the code, then full", async () => {
  const stack = await startTestStack({ ...MFA_ENV, AUTH_PASSWORD: "true" }, { oidc: false });
  const url = stack.functionsUrl;
  try {
    const email = "pat@example.com";
    const password = "correct horse battery";
    const client = new Client();
    const csrfToken = await client.csrfToken(url);
    const signup = await client.fetch(`${url}/password/signup`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password, csrfToken }),
    });
    assert.equal(signup.status, 202);
    const mail = await stack.mail.waitFor((m) => m.to.includes(email));
    const verified = await fetch(linkIn(mail.text), {
      method: "POST",
      headers: { Accept: "application/json" },
    });
    assert.equal(verified.status, 200);
    const signIn = async () => {
      const browser = new Client();
      const response = await browser.postForm(`${url}/callback/password`, {
        email,
        password,
        csrfToken: await browser.csrfToken(url),
      });
      await response.body?.cancel();
      assert.equal(response.status, 302);
      assert.ok(browser.cookies.has("authjs.session-token"));
      return browser;
    };
    const first = await signIn();
    const { auth } = await enrolTotp(stack, first);

    const second = await signIn();
    const partial = await (await second.get(`${url}/session`)).json();
    assert.equal(partial.mfaRequired, true);
    assert.equal(partial.user, undefined);
    await assertError(await second.get(`${url}/access-token`), 403, "second_factor_required");
    const verify = await mfaPost(stack, second, "/verify", { code: await auth.code() });
    assert.equal(verify.status, 200);
    const full = await (await second.get(`${url}/session`)).json();
    assert.equal(full.user.email, email);
    assert.equal(full.aal, "aal2");
    const claims = await accessTokenOf(stack, second);
    assert.deepEqual(methods(claims), ["password", "totp"]);
  } finally {
    await stack.stop();
  }
});

const FRONTEND = "http://app.localhost:5000";

Deno.test("token mode: the bearer session is partial until /mfa/verify returns the new token", async () => {
  const stack = await startTestStack({ ...MFA_ENV, AUTH_ALLOWED_ORIGINS: FRONTEND }, {
    oidc: false,
  });
  const url = stack.functionsUrl;
  try {
    const email = "tom@example.com";
    const { auth } = await enrolTotp(stack, await signInWithMagicLink(stack, email));

    const verifier = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
    const challenge = base64url.encode(
      new Uint8Array(
        await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)),
      ),
    );
    const lastId = stack.mail.messages().at(-1)?.id ?? 0;
    const start = await fetch(`${url}/token/authorize`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: FRONTEND },
      body: JSON.stringify({
        provider: "email",
        email,
        code_challenge: challenge,
        redirect_uri: `${FRONTEND}/done`,
        state: "s1",
      }),
    });
    assert.equal(start.status, 200);
    await start.body?.cancel();
    const mail = await stack.mail.waitFor((m) => m.id > lastId && m.to.includes(email));
    const browser = new Client();
    const callback = await browser.fetch(linkIn(mail.text), { method: "POST" });
    const done = await browser.get(callback.headers.get("Location")!);
    const target = new URL(done.headers.get("Location")!);
    assert.equal(target.searchParams.get("error"), null, "a partial session still gets a code");
    const exchanged = await fetch(`${url}/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: FRONTEND },
      body: JSON.stringify({
        code: target.searchParams.get("code"),
        code_verifier: verifier,
        redirect_uri: `${FRONTEND}/done`,
      }),
    });
    const { sessionToken } = await exchanged.json();
    const bearer = (token: string) => new Client({ Authorization: `Bearer ${token}` });

    const partial = await (await bearer(sessionToken).get(`${url}/session`)).json();
    assert.equal(partial.mfaRequired, true);
    assert.equal(partial.user, undefined);
    await assertError(
      await bearer(sessionToken).get(`${url}/access-token`),
      403,
      "second_factor_required",
    );
    // Bearer requests need no CSRF token.
    const verify = await bearer(sessionToken).fetch(`${url}/mfa/verify`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: await auth.code() }),
    });
    assert.equal(verify.status, 200);
    assert.equal(verify.headers.getSetCookie().length, 0, "no cookie for a bearer client");
    const body = await verify.json();
    assert.equal(body.aal, "aal2");
    assert.match(body.sessionToken, /^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/, "a JWE");
    const full = await (await bearer(body.sessionToken).get(`${url}/session`)).json();
    assert.equal(full.user.email, email);
    const token = await (await bearer(body.sessionToken).get(`${url}/access-token`)).json();
    assert.equal(decodeJwt(token.access_token).aal, "aal2");
    // The old token is still only partial.
    assert.equal(
      (await (await bearer(sessionToken).get(`${url}/session`)).json()).mfaRequired,
      true,
    );
  } finally {
    await stack.stop();
  }
});

Deno.test("codes: one step of clock skew either way, not two; a used step never again; concurrent uses win once", async (t) => {
  const stack = await startTestStack(MFA_ENV, { oidc: false });
  const url = stack.functionsUrl;
  const sql = connect(stack.databaseUrl);
  try {
    const client = await signInWithMagicLink(stack, "clock@example.com");
    // The mfa function with a clock the test sets: 15 s into a step.
    let clock = (totpStep(Date.now() / 1000) + 100) * 30_000 + 15_000;
    const mfa = createMfaHandler({ config: stack.config, now: () => clock });
    const call = async (path: string, body: Record<string, unknown>) => {
      const csrfToken = await client.csrfToken(url);
      const cookie = [...client.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
      return await mfa(
        new Request(`${url}/mfa${path}`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Cookie: cookie },
          body: JSON.stringify({ csrfToken, ...body }),
        }),
      );
    };
    const enrolled = await (await call("/totp/enroll", {})).json();
    const auth = new Authenticator(enrolled.secret);
    const at = (stepOffset: number) => totp(auth.secret, clock / 1000 + stepOffset * 30);
    const step = () => totpStep(clock / 1000);
    const lastUsed = async () =>
      Number((await sql`select "lastUsedStep" from next_auth.mfa_factors`)[0]!.lastUsedStep);
    const s0 = step();
    assert.equal((await call("/totp/confirm", { code: await at(0) })).status, 200);

    await t.step("the code just used is refused as a replay", async () => {
      await assertError(await call("/verify", { code: await at(0) }), 400, "code_already_used");
    });
    await t.step("two steps ahead or behind: refused", async () => {
      for (const offset of [2, -2]) {
        const code = await at(offset);
        if ([await at(-1), await at(0), await at(1)].includes(code)) continue; // 1 in 10^6
        await assertError(await call("/verify", { code }), 400, "invalid_code");
      }
    });
    await t.step("one step ahead (a fast phone): accepted", async () => {
      assert.equal((await call("/verify", { code: await at(1) })).status, 200);
      assert.equal(await lastUsed(), s0 + 1);
    });
    await t.step("three steps later, one step behind (a slow phone): accepted", async () => {
      clock += 3 * 30_000;
      assert.equal((await call("/verify", { code: await at(-1) })).status, 200);
      assert.equal(await lastUsed(), s0 + 2);
    });
    await t.step(
      "an older step than the last used, though within the window: refused",
      async () => {
        clock += 30_000; // now s0 + 4; s0 + 2 used; s0 + 3 is behind by one
        assert.equal((await call("/verify", { code: await at(0) })).status, 200);
        await assertError(await call("/verify", { code: await at(-1) }), 400, "code_already_used");
      },
    );
    await t.step("the same fresh code sent twice at once: exactly one succeeds", async () => {
      clock += 30_000;
      const code = await at(0);
      const answers = await Promise.all([call("/verify", { code }), call("/verify", { code })]);
      const statuses = answers.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 400]);
      for (const answer of answers) await answer.body?.cancel();
    });
  } finally {
    await sql.end();
    await stack.stop();
  }
});

Deno.test("guessing is rate limited per user: the sixth attempt in 5 minutes gets 429", async () => {
  const stack = await startTestStack(
    { AUTH_MFA: "true", AUTH_RATE_LIMIT_EMAIL_ADDRESS: "off" },
    { oidc: false },
  );
  try {
    const email = "guess@example.com";
    // Enrolment's own code counts too: 1 of 5.
    const { auth } = await enrolTotp(stack, await signInWithMagicLink(stack, email));
    const partial = await signInWithMagicLink(stack, email);
    for (let i = 0; i < 4; i++) {
      await assertError(
        await mfaPost(stack, partial, "/verify", { code: await wrongCode(auth) }),
        400,
        "invalid_code",
      );
    }
    const limited = await mfaPost(stack, partial, "/verify", { code: await auth.code() });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("Retry-After")) > 0);
    assert.equal((await limited.json()).error, "rate_limited");
    // Recovery codes count against the same budget.
    await assertError(
      await mfaPost(stack, partial, "/verify", { recoveryCode: "0000-0000-0000-0000" }),
      429,
      "rate_limited",
    );
    assert.equal(
      (await (await partial.get(`${stack.functionsUrl}/session`)).json()).mfaRequired,
      true,
    );
  } finally {
    await stack.stop();
  }
});

Deno.test("bad input to the mfa function: 4xx with a stable code, nothing written", async () => {
  const stack = await startTestStack(MFA_ENV, { oidc: false });
  const url = stack.functionsUrl;
  const sql = connect(stack.databaseUrl);
  try {
    const client = await signInWithMagicLink(stack, "bad@example.com");
    const count = async () =>
      (await sql`select (select count(*)::int from next_auth.mfa_factors) +
        (select count(*)::int from next_auth.mfa_recovery_codes) as n`)[0]!.n;
    await assertError(await new Client().get(`${url}/mfa`), 401, "session_missing");
    await assertError(
      await new Client({ Authorization: "Bearer forged" }).get(`${url}/mfa`),
      401,
      "session_invalid",
    );
    const access = await (await client.get(`${url}/access-token`)).json();
    await assertError(
      await new Client({ Authorization: `Bearer ${access.access_token}` }).get(`${url}/mfa`),
      401,
      "session_invalid",
    );
    await assertError(await client.get(`${url}/mfa/nope`), 404, "unknown_action");
    await assertError(await client.get(`${url}/mfa/verify`), 405, "method_not_allowed");
    await assertError(
      await client.postForm(`${url}/mfa/totp/enroll`, {}),
      403,
      "csrf_token_missing",
    );
    await assertError(
      await client.fetch(`${url}/mfa/verify`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{not json",
      }),
      400,
      "malformed_body",
    );
    await assertError(
      await client.fetch(`${url}/mfa/verify`, {
        method: "POST",
        body: "x",
        headers: { "Content-Type": "text/plain" },
      }),
      415,
      "unsupported_content_type",
    );
    await assertError(await mfaPost(stack, client, "/verify", {}), 400, "malformed_code");
    await assertError(
      await mfaPost(stack, client, "/verify", { code: "123456", recoveryCode: "x" }),
      400,
      "malformed_code",
    );
    await assertError(
      await mfaPost(stack, client, "/verify", { code: 123456 }),
      400,
      "malformed_code",
    );
    await assertError(
      await mfaPost(stack, client, "/verify", { recoveryCode: "short" }),
      400,
      "malformed_code",
    );
    await assertError(
      await mfaPost(stack, client, "/verify", { code: "123456" }),
      404,
      "mfa_not_enrolled",
    );
    await assertError(
      await mfaPost(stack, client, "/totp/confirm", { code: "123456" }),
      404,
      "mfa_not_enrolled",
    );
    await assertError(await mfaPost(stack, client, "/recovery-codes"), 404, "mfa_not_enrolled");
    await assertError(await mfaPost(stack, client, "/totp/remove"), 404, "mfa_not_enrolled");
    assert.equal(await count(), 0, "nothing written");

    const disabled = createMfaHandler({ config: { ...stack.config, mfa: false } });
    const off = await disabled(new Request(`${url}/mfa`));
    await assertError(off, 404, "mfa_disabled");
  } finally {
    await sql.end();
    await stack.stop();
  }
});

Deno.test("AUTH_MFA needs the sql store and a sane issuer name", () => {
  const base = {
    AUTH_SECRET: TEST_SECRET,
    AUTH_URL: "https://abc.supabase.co/functions/v1",
    DATABASE_URL: "postgres://postgres@127.0.0.1:1/unused",
  };
  assert.throws(
    () =>
      loadConfig({
        ...base,
        AUTH_MFA: "true",
        AUTH_STORE: "rest",
        SUPABASE_URL: "https://abc.supabase.co",
        SUPABASE_SERVICE_ROLE_KEY: "k",
      }),
    /Cannot start: AUTH_MFA needs AUTH_STORE="sql"/,
  );
  assert.throws(() => loadConfig({ ...base, AUTH_MFA: "yes" }), /AUTH_MFA must be one of/);
  assert.throws(
    () => loadConfig({ ...base, AUTH_MFA: "true", AUTH_MFA_ISSUER: "Acme: evil" }),
    /AUTH_MFA_ISSUER must be at most 64 printable characters, without a colon/,
  );
  const config = loadConfig({ ...base, AUTH_MFA: "true" });
  assert.equal(config.mfa, true);
  assert.equal(config.mfaIssuer, "abc.supabase.co", "the functions' host by default");
  assert.equal(loadConfig(base).mfa, false, "off by default");
});

Deno.test("RLS: a policy asking next_auth.aal() = 'aal2' lets only second-factor sessions' tokens through", async () => {
  const stack = await startTestStack(MFA_ENV, { oidc: false });
  const sql = connect(stack.databaseUrl);
  try {
    const email = "vault@example.com";
    const before = await signInWithMagicLink(stack, email); // a JWT session from before: aal1
    const proven = await signInWithMagicLink(stack, email);
    await enrolTotp(stack, proven); // raises `proven` to aal2
    const aal1 = await accessTokenOf(stack, before);
    const aal2 = await accessTokenOf(stack, proven);
    assert.deepEqual([aal1.aal, aal2.aal], ["aal1", "aal2"]);

    await sql.unsafe(`
      create table public.vault (
        user_id uuid not null default next_auth.uid(), body text not null
      );
      alter table public.vault enable row level security;
      create policy "vault: owners at aal2" on public.vault for select to authenticated
        using (user_id = next_auth.uid() and next_auth.aal() = 'aal2');
      revoke all on public.vault from public, anon, authenticated;
      grant select on public.vault to authenticated;
    `);
    await sql`insert into public.vault (user_id, body) values (${aal2.sub!}, 'secret')`;
    const read = (claims: Record<string, unknown>) =>
      sql.begin(async (tx) => {
        await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
        await tx.unsafe("set local role authenticated");
        return await tx`select body, next_auth.aal() as aal from public.vault`;
      });
    assert.deepEqual((await read(aal2)).map((r) => [r.body, r.aal]), [["secret", "aal2"]]);
    assert.equal((await read(aal1)).length, 0, "the same user at aal1 sees nothing");
  } finally {
    await sql.end();
    await stack.stop();
  }
});

for (const strategy of ["jwt", "database"] as const) {
  Deno.test(`${strategy} sessions: a partial session has 10 minutes to give its second factor`, async () => {
    const stack = await startTestStack({ ...MFA_ENV, AUTH_SESSION_STRATEGY: strategy }, {
      oidc: false,
    });
    const slow = createHandler("session", { config: { ...stack.config, fastSession: false } });
    const sql = connect(stack.databaseUrl);
    try {
      const email = `late-${strategy}@example.com`;
      const ada = await signInWithMagicLink(stack, email);
      const { auth } = await enrolTotp(stack, ada);
      const [user] = await sql`select id from next_auth.users where email = ${email}`;
      const nowSec = Math.floor(Date.now() / 1000);

      // A partial session signed in `ageSec` ago, as sign-in would have made it.
      const partial = async (ageSec: number) => {
        const amr = [{ method: "magiclink", timestamp: nowSec - ageSec }];
        const client = new Client();
        if (strategy === "jwt") {
          client.cookies.set(
            "authjs.session-token",
            await encode({
              token: { sub: user!.id, email, aal: "aal1", amr, mfa: true },
              secret: TEST_SECRET,
              salt: "authjs.session-token",
            }),
          );
        } else {
          const token = crypto.randomUUID();
          await sql`insert into next_auth.sessions
            ("sessionToken", "userId", expires, aal, amr)
            values (${token}, ${user!.id}, now() + interval '30 days', 'aal1',
              ${sql.json(amr)})`;
          client.cookies.set("authjs.session-token", token);
        }
        return client;
      };

      const fresh = await partial(9 * 60);
      assert.equal((await sessionBothWays(stack, slow, fresh))?.mfaRequired, true);
      const done = await mfaPost(stack, fresh, "/verify", { code: await auth.code() });
      assert.equal(done.status, 200, await done.clone().text());
      await done.body?.cancel();
      assert.equal((await sessionBothWays(stack, slow, fresh))?.aal, "aal2");

      const late = await partial(11 * 60);
      assert.equal(await sessionBothWays(stack, slow, late), null, "no session any more");
      await assertError(
        await mfaPost(stack, late, "/verify", { code: await auth.code() }),
        401,
        "second_factor_expired",
      );
      const token = await late.get(`${stack.functionsUrl}/access-token`);
      assert.equal(token.status, 403);
      await token.body?.cancel();
    } finally {
      await sql.end();
      await stack.stop();
    }
  });
}
