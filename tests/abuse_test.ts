/**
 * Hostile input at every function: tampered and garbage cookies and JWEs, chunked-cookie
 * abuse, huge headers and bodies, wrong content types, invalid JSON and forms, unicode and
 * SQL-looking emails, open-redirect `callbackUrl`s, CSRF-less and cross-origin POSTs, then a
 * seeded generator of a few thousand random requests. Nothing may become a 5xx, leak a
 * secret or a stack, or write a user or a session.
 *
 * `ABUSE_INPUTS` sets how many generated requests to try (default 2000); `ABUSE_SEED` the seed.
 */
import assert from "node:assert/strict";
import { FUNCTION_GROUPS } from "../supabase/functions/_shared/handler.ts";
import { connect, countRows } from "./support/db.ts";
import { TEST_SECRET } from "./support/env.ts";
import { signIn } from "./support/flows.ts";
import { Client } from "./support/http.ts";
import { type LocalStack, startTestStack } from "./support/stack.ts";

const FRONTEND = "http://app.localhost:3000";
const INPUTS = Number(Deno.env.get("ABUSE_INPUTS") ?? 2000);
const SEED = Number(Deno.env.get("ABUSE_SEED") ?? 20261203);
const SESSION = "authjs.session-token";

/** No secret, no stack trace; a JSON error has a stable snake_case code. */
async function assertSafe(response: Response, what: string, secrets: string[] = []) {
  const text = await response.text();
  assert.ok(response.status < 500, `${what}: ${response.status} ${text.slice(0, 300)}`);
  for (const secret of [TEST_SECRET, ...secrets]) {
    assert.ok(!text.includes(secret), `${what}: a secret in the body`);
  }
  assert.ok(!/\bat .+:\d+:\d+/.test(text), `${what}: a stack trace in the body`);
  if (
    response.status >= 400 && text !== "" &&
    response.headers.get("Content-Type")?.includes("json")
  ) {
    const body = JSON.parse(text);
    if (body !== null) {
      assert.match(String(body.error), /^[a-z_]+$/, `${what}: stable code`);
    }
  }
  return text;
}

async function assertCode(response: Response, status: number, code: string) {
  const text = await assertSafe(response, code);
  assert.equal(response.status, status, `${code}: ${text}`);
  assert.equal(JSON.parse(text).error, code);
}

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
  return { next, int, pick };
}

Deno.test("hostile input never becomes a 5xx, a leak or a row", async (t) => {
  const lines: string[] = [];
  const stack = await startTestStack({
    AUTH_ALLOWED_ORIGINS: FRONTEND,
    AUTH_RATE_LIMIT_EMAIL_ADDRESS: "off",
    AUTH_RATE_LIMIT_EMAIL_IP: "off",
    AUTH_RATE_LIMIT_SIGNIN_IP: "off",
    AUTH_RATE_LIMIT_CALLBACK_IP: "off",
  }, { log: (line) => lines.push(line) });
  const url = stack.functionsUrl;
  const sql = connect(stack.databaseUrl);
  try {
    // One real session, to tamper with.
    const owner = new Client();
    await signIn(stack, owner, "owner@example.com");
    const jwe = owner.cookies.get(SESSION)!;
    const csrfToken = await owner.csrfToken(url);
    const csrfCookie = owner.cookies.get("authjs.csrf-token")!;
    const secrets = [jwe, csrfCookie.split("|")[1]!];
    const before = await countRows(stack.databaseUrl);
    const session = (cookie: string) => new Client().get(`${url}/session`, { Cookie: cookie });

    await t.step("garbage and tampered session cookies read as no session", async () => {
      const flip = (s: string, i: number) =>
        s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
      const cookies = [
        `${SESSION}=garbage`,
        `${SESSION}=`,
        `${SESSION}=${"A".repeat(5000)}`,
        `${SESSION}=${jwe.split(".").slice(0, 3).join(".")}`,
        `${SESSION}=${flip(jwe, 10)}`,
        `${SESSION}=${flip(jwe, jwe.length - 5)}`,
        `${SESSION}=${jwe}.${jwe}`,
        `${SESSION}=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.`,
        `${SESSION}=%E0%A4%A`,
        `${SESSION}=${encodeURIComponent("'; select pg_sleep(10); --")}`,
        `__Secure-${SESSION}=${jwe}`,
      ];
      for (const cookie of cookies) {
        const response = await session(cookie);
        const text = await assertSafe(response, cookie.slice(0, 40), secrets);
        assert.equal(response.status, 200);
        assert.equal(JSON.parse(text), null, cookie.slice(0, 40));
      }
      // The genuine one still works.
      const ok = await (await session(`${SESSION}=${jwe}`)).json();
      assert.equal(ok.user.email, "owner@example.com");
    });

    await t.step("chunked-cookie abuse: garbage chunks, hundreds of chunks", async () => {
      const half = Math.ceil(jwe.length / 2);
      const cases = [
        `${SESSION}.0=${jwe.slice(0, half)}; ${SESSION}.1=garbage`,
        `${SESSION}.1=${jwe.slice(half)}; ${SESSION}.0=${jwe.slice(0, half)}; ${SESSION}.7=x`,
        `${SESSION}.0=x; ${SESSION}.99999999999999999999=y; ${SESSION}.-1=z; ${SESSION}.a=q`,
        Array.from({ length: 500 }, (_, i) => `${SESSION}.${i}=${"x".repeat(100)}`).join("; "),
        Array.from({ length: 2000 }, (_, i) => `${SESSION}.${i}=y`).join("; "),
        Array.from({ length: 300 }, (_, i) => `${SESSION}.0${i}=y`).join("; "),
        `${SESSION}=${jwe}; ` +
        Array.from({ length: 300 }, (_, i) => `${SESSION}.${i}=z`).join("; "),
      ];
      for (const cookie of cases) {
        const response = await session(cookie);
        // Junk chunks are dropped, not answered with hundreds of clearing cookies.
        // (16 chunks and the unchunked name at most, plus the CSRF and callback-url cookies)
        const setCookies = response.headers.getSetCookie().length;
        assert.ok(setCookies <= 19, `${setCookies} Set-Cookie headers`);
        const text = await assertSafe(response, `chunks ${cookie.length} bytes`, secrets);
        assert.ok(response.status === 200 || response.status === 400, `${response.status}`);
        if (response.status === 200) {
          const body = JSON.parse(text);
          // A whole genuine token beside junk chunks may still read; junk alone never does.
          assert.ok(body === null || body.user?.email === "owner@example.com");
        }
      }
    });

    await t.step("huge headers and bodies", async () => {
      for (const size of [16_000, 60_000, 200_000]) {
        const response = await new Client().get(`${url}/session`, { "X-Junk": "j".repeat(size) });
        await assertSafe(response, `header of ${size} bytes`);
      }
      for (const size of [70_000, 5_000_000]) {
        await assertCode(
          await owner.fetch(`${url}/signin/email`, {
            method: "POST",
            headers: { "Content-Type": "application/x-www-form-urlencoded" },
            body: `csrfToken=${csrfToken}&email=${"a".repeat(size)}`,
          }),
          413,
          "body_too_large",
        );
      }
      // No Content-Length: a stream that never stops being large.
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          sent += 16_384;
          if (sent > 1_000_000) controller.close();
          else controller.enqueue(new Uint8Array(16_384).fill(97));
        },
      });
      await assertCode(
        await owner.fetch(`${url}/signin/email`, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: stream,
        }),
        413,
        "body_too_large",
      );
    });

    await t.step("wrong content types, invalid JSON and forms", async () => {
      const post = (body: BodyInit, type: string) =>
        owner.fetch(`${url}/signin/email`, {
          method: "POST",
          headers: { "Content-Type": type },
          body,
        });
      await assertCode(
        await post("x", "multipart/form-data; boundary=x"),
        415,
        "unsupported_content_type",
      );
      await assertCode(await post("<a/>", "application/xml"), 415, "unsupported_content_type");
      await assertCode(await post("null", "application/json"), 400, "malformed_body");
      await assertCode(await post('"csrfToken"', "application/json"), 400, "malformed_body");
      await assertCode(await post('{"a":1', "application/json"), 400, "malformed_body");
      await assertCode(
        await post(JSON.stringify({ csrfToken: { $ne: 1 } }), "application/json"),
        403,
        "csrf_token_missing",
      );
      await assertCode(
        await post(JSON.stringify({ csrfToken, email: ["a@example.com"] }), "application/json"),
        400,
        "invalid_email",
      );
      await assertCode(
        await post(`csrfToken=${csrfToken}&email=%E0%A4%A`, "application/x-www-form-urlencoded"),
        400,
        "invalid_email",
      );
      await assertCode(
        await post(`csrfToken=${csrfToken}`, "application/x-www-form-urlencoded"),
        400,
        "invalid_email",
      );
    });

    await t.step("unicode and SQL-looking emails: refused or stored verbatim", async () => {
      const refused = [
        "a@b@example.com",
        '"a@evil.example"@example.com',
        "a@example.com,evil@example.net",
        "a@example.com\r\nBcc: evil@example.net",
        "x'); drop table next_auth.users; --@example.com",
        "a\u0000@example.com",
        "a\uff20example.com@evil.example",
        "@example.com",
        `${"a".repeat(300)}@example.com`,
      ];
      for (const email of refused) {
        await assertCode(
          await owner.postForm(`${url}/signin/email`, { csrfToken, email }),
          400,
          "invalid_email",
        );
      }
      const accepted = ["o'brien+test@example.com", "ünïcødé@exämple.com", "1=1--@example.com"];
      for (const email of accepted) {
        const response = await owner.postForm(`${url}/signin/email`, { csrfToken, email });
        await assertSafe(response, email);
        assert.equal(response.status, 302, email);
      }
      const rows = await sql`select identifier from next_auth.verification_tokens
        where identifier = any(${accepted.map((e) => e.normalize("NFKC").toLowerCase())})`;
      assert.equal(rows.length, accepted.length, "stored verbatim, as parameters");
      await sql`delete from next_auth.verification_tokens where identifier <> 'owner@example.com'`;
    });

    await t.step("open-redirect callbackUrls fall back to the functions' own origin", async () => {
      const origin = new URL(url).origin;
      const hostile = [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "\\/evil.example",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "%2F%2Fevil.example",
        "/%2F%2Fevil.example",
        "https:evil.example",
        "https://app.localhost:3000@evil.example",
        "https://app.localhost:3000.evil.example",
        "http://evil.example#" + FRONTEND,
        " //evil.example",
        "\t//evil.example",
        "/\t/evil.example",
        "https://evil.example/" + origin,
        "http://127.0.0.1.nip.io",
      ];
      for (const callbackUrl of hostile) {
        const response = await owner.postForm(
          `${url}/signout`,
          { csrfToken, callbackUrl },
          { "X-Auth-Return-Redirect": "1" },
        );
        const text = await assertSafe(response, callbackUrl);
        const target = new URL(JSON.parse(text).url);
        assert.ok(
          target.origin === origin || target.origin === FRONTEND,
          `${JSON.stringify(callbackUrl)} redirected to ${target.href}`,
        );
        assert.ok(target.protocol === "http:" || target.protocol === "https:");
        // Sign-out cleared the cookie: put it back for the next round.
        owner.cookies.set(SESSION, jwe);
      }
      for (const callbackUrl of hostile) {
        // As a query parameter, Auth.js would call a non-http(s) one a server error.
        const response = await new Client().get(
          `${url}/signin?callbackUrl=${encodeURIComponent(callbackUrl)}`,
        );
        const text = await assertSafe(response, callbackUrl);
        if (response.status === 400) {
          assert.equal(JSON.parse(text).error, "invalid_callback_url");
        } else {
          assert.equal(response.status, 200, `${callbackUrl}: ${response.status}`);
          // The page posts a callbackUrl on only if it is on an allowed origin.
          for (const [, value] of text.matchAll(/name="callbackUrl" value="([^"]*)"/g)) {
            const posted = new URL(value!.replaceAll("&amp;", "&"), origin);
            assert.ok(
              posted.origin === origin || posted.origin === FRONTEND,
              `${JSON.stringify(callbackUrl)} posts ${posted.href}`,
            );
          }
        }
      }
      await assertCode(
        await new Client().get(`${url}/session?callbackUrl=javascript:alert(1)`),
        400,
        "invalid_callback_url",
      );
      const allowed = await owner.postForm(
        `${url}/signout`,
        { csrfToken, callbackUrl: `${FRONTEND}/done` },
        { "X-Auth-Return-Redirect": "1" },
      );
      assert.equal((await allowed.json()).url, `${FRONTEND}/done`);
      owner.cookies.set(SESSION, jwe);
      // The link mailed for a hostile callbackUrl carries only a safe one.
      const response = await owner.postForm(`${url}/signin/email`, {
        csrfToken,
        email: "redirect@example.com",
        callbackUrl: "//evil.example",
      });
      await response.body?.cancel();
      const mail = await stack.mail.waitFor((m) => m.to.includes("redirect@example.com"));
      const link = new URL(mail.text.match(/https?:\/\/\S+/)![0]);
      assert.equal(new URL(link.searchParams.get("callbackUrl")!).origin, origin);
    });

    await t.step("CSRF-less and cross-origin POSTs are refused", async () => {
      const stranger = new Client({ Origin: "https://evil.example" });
      for (const path of ["signin/email", "signout", "session"]) {
        const response = await stranger.postForm(`${url}/${path}`, { email: "x@example.com" });
        assert.equal(response.headers.get("Access-Control-Allow-Origin"), null);
        await assertCode(response, 403, "csrf_token_missing");
      }
      // A token stolen without its cookie is useless.
      await assertCode(
        await stranger.postForm(`${url}/signin/email`, { csrfToken, email: "x@example.com" }),
        403,
        "csrf_cookie_invalid",
      );
    });

    let tried = 0;
    let statuses = new Map<number, number>();
    await t.step(`generated requests (seed ${SEED})`, async () => {
      const rnd = prng(SEED);
      const groups = Object.keys(FUNCTION_GROUPS);
      const alphabet = [
        "a",
        "Z",
        "0",
        "/",
        "\\",
        "%",
        "%00",
        "%2e%2e",
        "..",
        "?",
        "#",
        "&",
        "=",
        ";",
        ",",
        "'",
        '"',
        "<",
        ">",
        " ",
        "\u00e9",
        "\u202e",
        "\ud83d\ude00",
        "\uff20",
        "@",
        "*",
        "$",
      ];
      const junk = (max: number) =>
        Array.from({ length: rnd.int(max) }, () => rnd.pick(alphabet)).join("");
      const mutate = (s: string) => {
        const i = rnd.int(s.length);
        switch (rnd.int(4)) {
          case 0:
            return s.slice(0, i);
          case 1:
            return s.slice(0, i) + junk(4) + s.slice(i + 1);
          case 2:
            return s + s.slice(i);
          default:
            return s.split("").reverse().join("");
        }
      };
      const cookieJar = () => {
        const parts: string[] = [];
        for (let i = rnd.int(4); i > 0; i--) {
          switch (rnd.int(6)) {
            case 0:
              parts.push(`${SESSION}=${mutate(jwe)}`);
              break;
            case 1:
              parts.push(`${SESSION}.${rnd.int(300)}=${junk(40)}`);
              break;
            case 2:
              parts.push(`authjs.csrf-token=${mutate(csrfCookie)}`);
              break;
            case 3:
              parts.push(`authjs.csrf-token=${csrfCookie}`);
              break;
            case 4:
              parts.push(`authjs.callback-url=${encodeURIComponent(junk(20))}`);
              break;
            default:
              parts.push(`${junk(8)}=${junk(20)}`);
          }
        }
        return parts.join("; ");
      };
      const email = () =>
        rnd.pick([
          () => `${junk(8)}@${junk(8)}`,
          () => `fuzz${rnd.int(1e6)}@example.com`,
          () => junk(30),
          () => `${junk(4)}'--@example.com`,
        ])();
      const body = (): [BodyInit | undefined, string | undefined] => {
        const fields: Record<string, string> = {};
        if (rnd.int(3) > 0) fields.csrfToken = rnd.int(2) ? csrfToken : mutate(csrfToken);
        if (rnd.int(2)) fields.email = email();
        if (rnd.int(3) === 0) {
          fields.callbackUrl = rnd.pick([junk(20), "//evil.example", `${FRONTEND}/x`]);
        }
        if (rnd.int(4) === 0) fields[junk(6)] = junk(20);
        switch (rnd.int(7)) {
          case 0:
            return [undefined, undefined];
          case 1:
            return [JSON.stringify(fields), "application/json"];
          case 2:
            return [junk(60), "application/json"];
          case 3:
            return [
              new Uint8Array(Array.from({ length: rnd.int(200) }, () => rnd.int(256))),
              "application/x-www-form-urlencoded",
            ];
          case 4:
            return [
              new URLSearchParams(fields).toString(),
              rnd.pick([
                "text/plain",
                "multipart/form-data",
                "",
                "application/x-www-form-urlencoded; charset=latin1",
              ]),
            ];
          default:
            return [new URLSearchParams(fields).toString(), "application/x-www-form-urlencoded"];
        }
      };
      const one = async () => {
        const group = rnd.pick(groups);
        // Mostly methods the function serves, so most inputs get past routing.
        const method = rnd.int(4) > 0
          ? rnd.pick(FUNCTION_GROUPS[group as keyof typeof FUNCTION_GROUPS].methods)
          : rnd.pick(["OPTIONS", "PUT", "DELETE", "HEAD", "PATCH"]);
        const path = rnd.int(3) === 0 ? `${group}/${rnd.pick(["email", "nope", junk(6)])}` : group;
        const query = rnd.int(2)
          ? `?${rnd.pick(["callbackUrl", "token", "email", "error", junk(4)])}=${
            encodeURIComponent(junk(20))
          }`
          : "";
        const headers: Record<string, string> = {};
        if (rnd.int(2)) headers.Cookie = cookieJar();
        if (rnd.int(4) === 0) {
          headers.Origin = rnd.pick([FRONTEND, "https://evil.example", "null", junk(10)]);
        }
        if (rnd.int(4) === 0) {
          headers["X-Forwarded-For"] = rnd.pick(["1.2.3.4", junk(10), "::1", "999.1.1.1"]);
        }
        if (rnd.int(6) === 0) headers["X-Auth-Return-Redirect"] = "1";
        if (rnd.int(6) === 0) headers.Authorization = `Bearer ${mutate(jwe)}`;
        let [payload, type] = method === "POST" || rnd.int(8) === 0
          ? body()
          : [undefined, undefined];
        if (method === "GET" || method === "HEAD") payload = undefined;
        if (type !== undefined) headers["Content-Type"] = type;
        // Header values are bytes: keep Latin-1, as a raw client could send.
        for (const [k, v] of Object.entries(headers)) {
          headers[k] = v.replace(/[^\x20-\xff]/g, "\xa4");
        }
        let target: string;
        try {
          target = new URL(`${url}/${path}${query}`).href;
        } catch {
          return;
        }
        const response = await fetch(target, {
          method,
          headers,
          body: payload,
          redirect: "manual",
        });
        tried++;
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        await assertSafe(
          response,
          `${method} /${path}${query} ${JSON.stringify(headers).slice(0, 200)}`,
          secrets,
        );
      };
      const workers = 8;
      await Promise.all(Array.from({ length: workers }, async () => {
        while (tried < INPUTS) await one();
      }));
      statuses = new Map([...statuses].sort((a, b) => a[0] - b[0]));
      console.log(
        `abuse: ${tried} generated inputs tried (seed ${SEED}), statuses ${
          JSON.stringify(Object.fromEntries(statuses))
        }, 5xx: 0`,
      );
    });

    await t.step(
      "no user, account or session was written; nothing leaked to the logs",
      async () => {
        const after = await countRows(stack.databaseUrl);
        assert.equal(after.users, before.users);
        assert.equal(after.accounts, before.accounts);
        assert.equal(after.sessions, before.sessions);
        const log = lines.join("\n");
        for (const secret of [TEST_SECRET, ...secrets]) assert.ok(!log.includes(secret));
        assert.ok(
          !log.includes("Unexpected error"),
          log.split("\n").find((l) => l.includes("Unexpected")),
        );
      },
    );
  } finally {
    await sql.end();
    await stack.stop();
  }
});

export type { LocalStack };
