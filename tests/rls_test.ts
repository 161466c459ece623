/**
 * The RLS bridge end to end: a real magic-link sign-in, an access token from the
 * `access-token` function, verified against the JWKS that the `oidc` function's discovery
 * points to, and its claims used in Postgres exactly as PostgREST uses them
 * (`set local role authenticated` + `request.jwt.claims`). Runs on PGlite and PostgreSQL.
 */
import assert from "node:assert/strict";
import { createRemoteJWKSet, decodeProtectedHeader, type JWTPayload, jwtVerify } from "jose";
import type postgres from "postgres";
import { connect } from "./support/db.ts";
import { Client } from "./support/http.ts";
import { signInWithMagicLink } from "./support/sign_in.ts";
import { startTestStack } from "./support/stack.ts";

type Sql = ReturnType<typeof connect>;
type Tx = postgres.TransactionSql;

/** Runs `fn` in a transaction as PostgREST runs a request: API role + the token's claims. */
function as<T>(
  sql: Sql,
  role: "anon" | "authenticated" | "service_role",
  claims: JWTPayload | null,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', ${
      claims ? JSON.stringify(claims) : ""
    }, true)`;
    await tx.unsafe(`set local role ${role}`);
    return await fn(tx);
  }) as Promise<T>;
}

/** The SQLSTATE a statement fails with (undefined when it succeeds). */
async function sqlState(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

const INSUFFICIENT_PRIVILEGE = "42501";

Deno.test("an access token from a real session reads exactly the user's rows under RLS", async (t) => {
  const stack = await startTestStack();
  const sql = connect(stack.databaseUrl);
  try {
    const ada = await signInWithMagicLink(stack, "ada@example.com");
    const bob = await signInWithMagicLink(stack, "bob@example.com");
    const ids = Object.fromEntries(
      (await sql`select id, email from next_auth.users`).map((r) => [r.email, r.id as string]),
    );

    const issue = async (client: Client) => {
      const response = await client.get(`${stack.functionsUrl}/access-token`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("Cache-Control"), "no-store");
      return await response.json();
    };

    let adaClaims!: JWTPayload;
    let bobClaims!: JWTPayload;
    await t.step("the token verifies against the JWKS served by OIDC discovery", async () => {
      const body = await issue(ada);
      assert.equal(body.token_type, "bearer");
      assert.equal(body.expires_in, 300);
      assert.equal(body.user.id, ids["ada@example.com"]);

      const discovery = await (await fetch(
        `${stack.functionsUrl}/oidc/.well-known/openid-configuration`,
      )).json();
      assert.equal(discovery.issuer, `${stack.functionsUrl}/oidc`);
      assert.deepEqual(discovery.id_token_signing_alg_values_supported, ["ES256"]);
      const jwksResponse = await fetch(discovery.jwks_uri);
      const jwks = await jwksResponse.json();
      assert.equal(jwks.keys.length, 1);
      assert.equal(jwks.keys[0].d, undefined, "the JWKS holds no private part");
      assert.equal(decodeProtectedHeader(body.access_token).kid, jwks.keys[0].kid);

      const { payload, protectedHeader } = await jwtVerify(
        body.access_token,
        createRemoteJWKSet(new URL(discovery.jwks_uri)),
        { issuer: discovery.issuer, audience: "authenticated", algorithms: ["ES256"] },
      );
      assert.equal(protectedHeader.alg, "ES256");
      assert.equal(payload.sub, ids["ada@example.com"]);
      assert.equal(payload.role, "authenticated");
      assert.equal(payload.email, "ada@example.com");
      assert.equal(payload.exp! - payload.iat!, 300);
      adaClaims = payload;

      const bobToken = await issue(bob);
      bobClaims = (await jwtVerify(
        bobToken.access_token,
        createRemoteJWKSet(new URL(discovery.jwks_uri)),
        { issuer: discovery.issuer, audience: "authenticated" },
      )).payload;
      assert.equal(bobClaims.sub, ids["bob@example.com"]);
    });

    await t.step(
      "a protected function takes the access token as bearer (functions.invoke)",
      async () => {
        const { access_token } = await issue(ada);
        const response = await new Client().get(`${stack.functionsUrl}/example-protected`, {
          Authorization: `Bearer ${access_token}`,
        });
        assert.equal(response.status, 200);
        assert.equal((await response.json()).user.id, ids["ada@example.com"]);
      },
    );

    await t.step("without a session there is no token", async () => {
      const response = await new Client().get(`${stack.functionsUrl}/access-token`);
      assert.equal(response.status, 401);
      assert.equal((await response.json()).error, "session_missing");
    });

    await t.step("each user writes rows that default to their own id", async () => {
      await as(
        sql,
        "authenticated",
        adaClaims,
        (tx) => tx`insert into public.notes (body) values ('ada 1'), ('ada 2')`,
      );
      await as(
        sql,
        "authenticated",
        bobClaims,
        (tx) => tx`insert into public.notes (body) values ('bob 1')`,
      );
      const owners = await sql`select user_id, count(*)::int as n from public.notes
        group by user_id order by n desc`;
      assert.deepEqual(owners.map((r) => [r.user_id, r.n]), [
        [ids["ada@example.com"], 2],
        [ids["bob@example.com"], 1],
      ]);
    });

    await t.step("a user sees only their rows; another user none of them", async () => {
      const adaRows = await as(
        sql,
        "authenticated",
        adaClaims,
        (tx) => tx`select body, user_id from public.notes order by body`,
      );
      assert.deepEqual(adaRows.map((r) => r.body), ["ada 1", "ada 2"]);
      const bobRows = await as(
        sql,
        "authenticated",
        bobClaims,
        (tx) => tx`select body from public.notes order by body`,
      );
      assert.deepEqual(bobRows.map((r) => r.body), ["bob 1"]);
      const stranger = await as(
        sql,
        "authenticated",
        { ...adaClaims, sub: crypto.randomUUID() },
        (tx) => tx`select body from public.notes`,
      );
      assert.equal(stranger.length, 0);
    });

    await t.step("a user cannot write, change or delete another's rows", async () => {
      const forged = await sqlState(() =>
        as(
          sql,
          "authenticated",
          adaClaims,
          (tx) =>
            tx`insert into public.notes (body, user_id) values ('x', ${ids["bob@example.com"]!})`,
        )
      );
      assert.equal(forged, INSUFFICIENT_PRIVILEGE, "insert for another user is refused");
      const updated = await as(
        sql,
        "authenticated",
        adaClaims,
        (tx) => tx`update public.notes set body = 'hacked' where body = 'bob 1' returning id`,
      );
      assert.equal(updated.length, 0);
      const deleted = await as(
        sql,
        "authenticated",
        adaClaims,
        (tx) => tx`delete from public.notes where body = 'bob 1' returning id`,
      );
      assert.equal(deleted.length, 0);
      const [bobNote] = await sql`select body from public.notes where user_id = ${ids[
        "bob@example.com"
      ]!}`;
      assert.equal(bobNote!.body, "bob 1");
    });

    await t.step("anon sees no notes", async () => {
      assert.equal(
        await sqlState(() => as(sql, "anon", null, (tx) => tx`select * from public.notes`)),
        INSUFFICIENT_PRIVILEGE,
      );
    });

    await t.step("nobody but service_role reads next_auth, whatever their claims", async () => {
      const tables = (await sql`select tablename from pg_tables where schemaname = 'next_auth'
        order by tablename`).map((r) => r.tablename as string);
      assert.ok(tables.includes("users") && tables.includes("sessions"));
      for (const table of tables) {
        for (const [role, claims] of [["anon", null], ["authenticated", adaClaims]] as const) {
          for (
            const statement of [
              `select * from next_auth.${table}`,
              `delete from next_auth.${table}`,
            ]
          ) {
            assert.equal(
              await sqlState(() => as(sql, role, claims, (tx) => tx.unsafe(statement))),
              INSUFFICIENT_PRIVILEGE,
              `${role}: ${statement}`,
            );
          }
        }
        await as(sql, "service_role", null, (tx) => tx.unsafe(`select * from next_auth.${table}`));
      }
      const [row] = await as(
        sql,
        "service_role",
        null,
        (tx) => tx`select count(*)::int as n from next_auth.users`,
      );
      assert.equal(row?.n, 2);
    });
  } finally {
    await sql.end();
    await stack.stop();
  }
});
