/**
 * The Auth.js adapter conformance suite (the expectations of next-auth's
 * `packages/utils/adapter.ts`, method by method), plus authenticators and the guarantees
 * this project adds: one-shot verification tokens under concurrency, no half-written rows.
 * Every store driver runs it.
 */
import assert from "node:assert/strict";
import { createHash, randomInt, randomUUID } from "node:crypto";
import type { Store } from "../../supabase/functions/_shared/store/mod.ts";

type Row = Record<string, unknown>;

/** Direct reads of the tables, bypassing the store under test. */
export interface DbReader {
  user(id: string): Promise<Row | null>;
  session(sessionToken: string): Promise<Row | null>;
  account(
    key: { provider: string; providerAccountId: string },
  ): Promise<Row | null>;
  verificationToken(
    key: { identifier: string; token: string },
  ): Promise<Row | null>;
  authenticator(credentialID: string): Promise<Row | null>;
}

const ONE_MONTH = 1000 * 60 * 60 * 24 * 30;
const at = (ms: number) => {
  const d = new Date(Date.now() + ms);
  d.setMilliseconds(0);
  return d;
};
const hashToken = (token: string) => createHash("sha256").update(`${token}anything`).digest("hex");

/** `expected` ⊆ `actual`, as vitest's toMatchObject. */
function assertMatches(actual: unknown, expected: Row) {
  assert.ok(actual && typeof actual === "object", "expected an object");
  for (const [key, value] of Object.entries(expected)) {
    assert.deepEqual((actual as Row)[key], value, `field "${key}"`);
  }
}

export function storeConformance(
  name: string,
  open: () => Promise<{ store: Store; db: DbReader; close(): Promise<void> }>,
) {
  Deno.test(`${name} store passes the Auth.js adapter conformance suite`, async (t) => {
    const { store: adapter, db, close } = await open();
    try {
      let user: Row = {
        id: randomUUID(),
        email: "fill@murray.com",
        image: "https://www.fillmurray.com/460/300",
        name: "Fill Murray",
        emailVerified: at(0),
      };
      const session: Row = {
        sessionToken: randomUUID(),
        expires: at(1000 * 60 * 60 * 24 * 7),
      };
      const account: Row = {
        provider: "github",
        providerAccountId: randomUUID(),
        type: "oauth",
        access_token: randomUUID(),
        expires_at: ONE_MONTH / 1000,
        id_token: randomUUID(),
        refresh_token: randomUUID(),
        token_type: "bearer",
        scope: "user",
        session_state: randomUUID(),
      };

      await t.step(
        "every Adapter method exists, including getAccount and authenticators",
        () => {
          for (
            const method of [
              "createUser",
              "getUser",
              "getUserByEmail",
              "getUserByAccount",
              "updateUser",
              "deleteUser",
              "linkAccount",
              "unlinkAccount",
              "getAccount",
              "createSession",
              "getSessionAndUser",
              "updateSession",
              "deleteSession",
              "createVerificationToken",
              "useVerificationToken",
              "getAuthenticator",
              "createAuthenticator",
              "listAuthenticatorsByUserId",
              "updateAuthenticatorCounter",
            ] as const
          ) {
            assert.equal(typeof adapter[method], "function", method);
          }
        },
      );

      await t.step("createUser", async () => {
        // deno-lint-ignore no-explicit-any
        const { id } = await adapter.createUser(user as any);
        const dbUser = await db.user(id);
        assert.deepEqual(dbUser, { ...user, id });
        user = dbUser!;
        session.userId = user.id;
        account.userId = user.id;
      });

      await t.step("getUser", async () => {
        assert.equal(await adapter.getUser(randomUUID()), null);
        assert.equal(await adapter.getUser("not-a-uuid"), null);
        assert.deepEqual(await adapter.getUser(user.id as string), user);
      });

      await t.step("getUserByEmail", async () => {
        assert.equal(await adapter.getUserByEmail("non-existent-email"), null);
        assert.deepEqual(
          await adapter.getUserByEmail(user.email as string),
          user,
        );
      });

      await t.step("createSession", async () => {
        // deno-lint-ignore no-explicit-any
        const { sessionToken } = await adapter.createSession(session as any);
        const dbSession = await db.session(sessionToken);
        assert.deepEqual(dbSession, { ...session, id: dbSession!.id });
        session.id = dbSession!.id;
      });

      await t.step("getSessionAndUser", async () => {
        assert.equal(await adapter.getSessionAndUser("invalid-token"), null);
        assert.deepEqual(
          await adapter.getSessionAndUser(session.sessionToken as string),
          {
            user,
            session,
          },
        );
      });

      await t.step("getSessionsAndUsers: many sessions in one query", async () => {
        assert.equal((await adapter.getSessionsAndUsers([])).size, 0);
        const found = await adapter.getSessionsAndUsers([
          "invalid-token",
          session.sessionToken as string,
          session.sessionToken as string,
        ]);
        assert.deepEqual([...found.keys()], [session.sessionToken]);
        assert.deepEqual(found.get(session.sessionToken as string), { user, session });
      });

      await t.step("updateUser", async () => {
        const returned = await adapter.updateUser({
          id: user.id as string,
          name: "Updated Name",
        });
        assert.equal(returned.name, "Updated Name");
        assert.equal((await db.user(user.id as string))!.name, "Updated Name");
        user.name = "Updated Name";
        // Fields not given are left alone.
        assert.equal(returned.email, user.email);
      });

      await t.step("updateSession", async () => {
        const expires = at(ONE_MONTH);
        let dbSession = await db.session(session.sessionToken as string);
        assert.notEqual(
          (dbSession!.expires as Date).valueOf(),
          expires.valueOf(),
        );
        await adapter.updateSession({
          sessionToken: session.sessionToken as string,
          expires,
        });
        dbSession = await db.session(session.sessionToken as string);
        assert.equal((dbSession!.expires as Date).valueOf(), expires.valueOf());
        session.expires = expires;
        assert.equal(
          await adapter.updateSession({ sessionToken: "missing", expires }),
          null,
        );
      });

      await t.step("linkAccount", async () => {
        // deno-lint-ignore no-explicit-any
        await adapter.linkAccount(account as any);
        const dbAccount = await db.account({
          provider: account.provider as string,
          providerAccountId: account.providerAccountId as string,
        });
        assert.deepEqual(dbAccount, { ...account, id: dbAccount!.id });
      });

      await t.step("getUserByAccount", async () => {
        assert.equal(
          await adapter.getUserByAccount({
            provider: "invalid-provider",
            providerAccountId: "invalid-provider-account-id",
          }),
          null,
        );
        assert.deepEqual(
          await adapter.getUserByAccount({
            provider: account.provider as string,
            providerAccountId: account.providerAccountId as string,
          }),
          user,
        );
      });

      await t.step("deleteSession", async () => {
        await adapter.deleteSession(session.sessionToken as string);
        assert.equal(await db.session(session.sessionToken as string), null);
      });

      await t.step("createVerificationToken", async () => {
        const token = {
          token: hashToken(randomUUID()),
          identifier: "info@example.com",
          expires: at(15 * 60_000),
        };
        await adapter.createVerificationToken(token);
        assert.deepEqual(await db.verificationToken(token), token);
      });

      await t.step("useVerificationToken", async () => {
        const identifier = "info@example.com";
        const token = {
          token: hashToken(randomUUID()),
          identifier,
          expires: at(15 * 60_000),
        };
        await adapter.createVerificationToken(token);
        assert.deepEqual(
          await adapter.useVerificationToken({
            identifier,
            token: token.token,
          }),
          token,
        );
        assert.equal(
          await adapter.useVerificationToken({
            identifier,
            token: token.token,
          }),
          null,
        );
        await adapter.createVerificationToken(token);
        assert.equal(
          await adapter.useVerificationToken({
            identifier: "invalid@identifier.com",
            token: token.token,
          }),
          null,
        );
      });

      await t.step(
        "useVerificationToken: concurrent uses, exactly one wins",
        async () => {
          const identifier = "race@example.com";
          const token = {
            token: hashToken(randomUUID()),
            identifier,
            expires: at(15 * 60_000),
          };
          await adapter.createVerificationToken(token);
          const results = await Promise.all(
            Array.from(
              { length: 8 },
              () =>
                adapter.useVerificationToken({
                  identifier,
                  token: token.token,
                }),
            ),
          );
          assert.equal(
            results.filter((r) => r !== null).length,
            1,
          );
        },
      );

      await t.step("unlinkAccount", async () => {
        const key = {
          provider: account.provider as string,
          providerAccountId: account.providerAccountId as string,
        };
        assert.deepEqual(await db.account(key), {
          ...account,
          id: (await db.account(key))!.id,
        });
        await adapter.unlinkAccount(key);
        assert.equal(await db.account(key), null);
      });

      await t.step(
        "deleteUser removes the user's sessions and accounts",
        async () => {
          assert.deepEqual(await db.user(user.id as string), user);
          delete session.id;
          // deno-lint-ignore no-explicit-any
          await adapter.createSession(session as any);
          // deno-lint-ignore no-explicit-any
          await adapter.linkAccount(account as any);
          await adapter.deleteUser(user.id as string);
          assert.equal(await db.user(user.id as string), null);
          assert.equal(await db.session(session.sessionToken as string), null);
          assert.equal(
            await db.account({
              provider: account.provider as string,
              providerAccountId: account.providerAccountId as string,
            }),
            null,
          );
        },
      );

      const newUser = (email: string) =>
        adapter.createUser({ id: randomUUID(), email, emailVerified: null });
      const newAuthenticator = async (
        userId: string,
        transports = "usb,ble,nfc",
      ) => {
        const credentialID = randomUUID();
        await adapter.linkAccount({
          provider: "webauthn",
          providerAccountId: credentialID,
          type: "webauthn",
          userId,
        });
        const data = {
          credentialID,
          providerAccountId: credentialID,
          userId,
          counter: randomInt(100),
          credentialBackedUp: true,
          credentialDeviceType: "platform",
          credentialPublicKey: randomUUID(),
          transports,
        };
        return { data, created: await adapter.createAuthenticator(data) };
      };

      await t.step("getAccount", async () => {
        const providerAccountId = randomUUID();
        const provider = "auth0";
        const local = await newUser("getAccount@example.com");
        await adapter.linkAccount({
          provider,
          providerAccountId,
          type: "oauth",
          userId: local.id,
        });
        assert.equal(
          await adapter.getAccount(
            "invalid-provider-account-id",
            "invalid-provider",
          ),
          null,
        );
        assert.equal(
          await adapter.getAccount(providerAccountId, "invalid-provider"),
          null,
        );
        assert.equal(
          await adapter.getAccount("invalid-provider-account-id", provider),
          null,
        );
        const valid = await adapter.getAccount(providerAccountId, provider);
        assert.notEqual(valid, null);
        assertMatches(
          await db.account({ provider, providerAccountId }),
          valid as Row,
        );
      });

      await t.step("createAuthenticator", async () => {
        const local = await newUser("createAuthenticator@example.com");
        const { data, created } = await newAuthenticator(local.id);
        assertMatches(created, data);
        assertMatches(
          await db.authenticator(data.credentialID),
          created as unknown as Row,
        );
      });

      await t.step("getAuthenticator", async () => {
        const local = await newUser("getAuthenticator@example.com");
        const { data } = await newAuthenticator(local.id);
        assert.equal(
          await adapter.getAuthenticator("invalid-credential-id"),
          null,
        );
        const valid = await adapter.getAuthenticator(data.credentialID);
        assert.notEqual(valid, null);
        assertMatches(
          await db.authenticator(data.credentialID),
          valid as unknown as Row,
        );
      });

      await t.step("listAuthenticatorsByUserId", async () => {
        const user1 = await newUser("listAuthenticatorsByUserId1@example.com");
        const user2 = await newUser("listAuthenticatorsByUserId2@example.com");
        const a1 = await newAuthenticator(user1.id);
        const a2 = await newAuthenticator(user1.id, "usb,nfc");
        const a3 = await newAuthenticator(user2.id, "usb,ble");
        assert.deepEqual(
          await adapter.listAuthenticatorsByUserId("invalid-user-id"),
          [],
        );
        const list1 = await adapter.listAuthenticatorsByUserId(user1.id);
        assert.equal(list1.length, 2);
        const byId = (id: string) => list1.find((a) => a.credentialID === id);
        assertMatches(byId(a1.data.credentialID), a1.created as unknown as Row);
        assertMatches(byId(a2.data.credentialID), a2.created as unknown as Row);
        const list2 = await adapter.listAuthenticatorsByUserId(user2.id);
        assert.equal(list2.length, 1);
        assertMatches(list2[0], a3.created as unknown as Row);
      });

      await t.step("updateAuthenticatorCounter", async () => {
        const local = await newUser("updateAuthenticatorCounter@example.com");
        const { created } = await newAuthenticator(local.id);
        await assert.rejects(() => adapter.updateAuthenticatorCounter("invalid-credential-id", 5));
        const counter = created.counter + randomInt(100);
        const updated = await adapter.updateAuthenticatorCounter(
          created.credentialID,
          counter,
        );
        assert.equal(updated.counter, counter);
      });

      const newPasskey = (userId: string, credentialID = randomUUID()) =>
        adapter.createPasskey(
          { provider: "passkey", providerAccountId: credentialID, type: "webauthn", userId },
          {
            credentialID,
            providerAccountId: credentialID,
            userId,
            counter: 0,
            credentialBackedUp: false,
            credentialDeviceType: "singleDevice",
            credentialPublicKey: randomUUID(),
            transports: "internal",
          },
        );

      await t.step("createPasskey writes the account and the authenticator together", async () => {
        const local = await newUser("createPasskey@example.com");
        const created = await newPasskey(local.id);
        assertMatches(await db.authenticator(created.credentialID), created as unknown as Row);
        assertMatches(
          await db.account({ provider: "passkey", providerAccountId: created.credentialID }),
          { userId: local.id, type: "webauthn" },
        );
        // The same credential again: the authenticator insert fails, so the account does too.
        const again = randomUUID();
        await newPasskey(local.id, again);
        await adapter.unlinkAccount({ provider: "passkey", providerAccountId: again });
        await assert.rejects(() => newPasskey(local.id, again));
        assert.equal(await db.account({ provider: "passkey", providerAccountId: again }), null);
      });

      await t.step("listPasskeys shows a user's own, without their keys", async () => {
        const owner = await newUser("listPasskeys@example.com");
        const other = await newUser("listPasskeys-other@example.com");
        const mine = await newPasskey(owner.id);
        await newPasskey(other.id);
        await adapter.updateAuthenticatorCounter(mine.credentialID, 3);
        const listed = await adapter.listPasskeys(owner.id);
        assert.equal(listed.length, 1);
        assert.equal(listed[0]!.credentialID, mine.credentialID);
        assert.deepEqual(listed[0]!.transports, ["internal"]);
        assert.ok(listed[0]!.createdAt instanceof Date);
        assert.ok(listed[0]!.lastUsedAt instanceof Date, "a counter update is a use");
        assert.equal("credentialPublicKey" in listed[0]!, false);
        assert.deepEqual(await adapter.listPasskeys("invalid-user-id"), []);
      });

      await t.step("deletePasskey removes only the owner's, with its account row", async () => {
        const owner = await newUser("deletePasskey@example.com");
        const other = await newUser("deletePasskey-other@example.com");
        const created = await newPasskey(owner.id);
        const key = { provider: "passkey", providerAccountId: created.credentialID };
        assert.equal(await adapter.deletePasskey(other.id, created.credentialID), false);
        assert.equal(await adapter.deletePasskey("invalid-user-id", created.credentialID), false);
        assert.notEqual(await db.authenticator(created.credentialID), null);
        assert.equal(await adapter.deletePasskey(owner.id, created.credentialID), true);
        assert.equal(await db.authenticator(created.credentialID), null);
        assert.equal(await db.account(key), null);
        assert.equal(await adapter.deletePasskey(owner.id, created.credentialID), false);
      });

      await t.step("a failed write leaves no row behind", async () => {
        const local = await newUser("dupe@example.com");
        await assert.rejects(() => newUser("dupe@example.com"));
        const accountKey = {
          provider: "github",
          providerAccountId: randomUUID(),
        };
        await adapter.linkAccount({
          ...accountKey,
          type: "oauth",
          userId: local.id,
        });
        await assert.rejects(() =>
          adapter.linkAccount({
            ...accountKey,
            type: "oauth",
            userId: local.id,
          })
        );
        assert.notEqual(await db.account(accountKey), null);
      });
    } finally {
      await close();
    }
  });
}
