import assert from "node:assert/strict";
import { UnavailableError } from "../errors.ts";
import {
  createRestStore,
  parseAccount,
  parseAuthenticator,
  parseSession,
  parseTimestamp,
  parseUser,
  parseVerificationToken,
  restError,
  serializeRow,
} from "./rest.ts";

Deno.test("rest rows (JSON from PostgREST) become the Dates and shapes Auth.js expects", () => {
  const user = parseUser({
    id: "1c9f1d1e-0000-4000-8000-000000000001",
    name: null,
    email: "ada@example.com",
    emailVerified: "2026-12-03T16:30:01.123+00:00",
    image: null,
  });
  assert.ok(user.emailVerified instanceof Date);
  assert.equal(user.emailVerified.toISOString(), "2026-12-03T16:30:01.123Z");
  assert.equal(parseUser({ id: "x", email: "a@b.c", emailVerified: null }).emailVerified, null);

  const session = parseSession({
    id: "s",
    sessionToken: "t",
    userId: "u",
    expires: "2027-01-01T00:00:00+00:00",
  });
  assert.deepEqual(session.expires, new Date("2027-01-01T00:00:00Z"));
  assert.deepEqual(
    parseVerificationToken({ identifier: "i", token: "t", expires: "2027-01-01T00:00:00Z" }),
    { identifier: "i", token: "t", expires: new Date("2027-01-01T00:00:00Z") },
  );
  assert.deepEqual(
    parseAccount({ id: "a", provider: "github", scope: null, expires_at: "1767225600" }),
    { id: "a", provider: "github", expires_at: 1767225600 },
  );
  assert.equal(parseAuthenticator({ credentialID: "c", counter: "7" }).counter, 7);
  assert.throws(() => parseTimestamp("not a date"), /Cannot read timestamp/);
});

Deno.test("rest writes keep only the table's columns, with Dates as ISO strings", () => {
  assert.deepEqual(
    serializeRow(
      { name: "Ada", emailVerified: new Date("2026-01-01T00:00:00Z"), extra: 1, image: undefined },
      ["name", "email", "emailVerified", "image"],
    ),
    { name: "Ada", emailVerified: "2026-01-01T00:00:00.000Z" },
  );
});

Deno.test("rest errors keep the Postgres code; an unreachable API is a 503", async () => {
  const unique = restError("create user", {
    name: "PostgrestError",
    code: "23505",
    message: "duplicate key value violates unique constraint",
    details: "",
    hint: "",
  } as never);
  assert.equal((unique as Error & { code?: string }).code, "23505");
  assert.match(unique.message, /^Cannot create user: duplicate key/);

  // A real connection refused: nothing listens on port 1. (A DELETE: supabase-js retries
  // failed GETs with backoff for seconds before giving up.)
  const store = createRestStore({ url: "http://127.0.0.1:1", serviceRoleKey: "unused" });
  try {
    await assert.rejects(
      () => store.deleteSession("any"),
      (error: unknown) => error instanceof UnavailableError && error.status === 503,
    );
  } finally {
    await store.close();
  }
});

Deno.test("rest passkeys: one rpc call each to write or remove both rows, a select to list", async () => {
  const seen: { method: string; url: URL; profile: string | null; body: unknown }[] = [];
  const userId = "1c9f1d1e-0000-4000-8000-000000000001";
  const store = createRestStore({
    url: "https://abc.supabase.co",
    serviceRoleKey: "service-role-key",
    fetch: async (input, init) => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      const text = await request.text();
      seen.push({
        method: request.method,
        url,
        profile: request.headers.get("Content-Profile") ?? request.headers.get("Accept-Profile"),
        body: text ? JSON.parse(text) : undefined,
      });
      if (url.pathname.endsWith("/rpc/create_passkey")) {
        return Response.json([{ credentialID: "q83v+/8=", counter: "0", userId }]);
      }
      if (url.pathname.endsWith("/rpc/delete_passkey")) return Response.json(1);
      return Response.json([{
        credentialID: "q83v+/8=",
        credentialDeviceType: "multiDevice",
        credentialBackedUp: true,
        transports: "internal,hybrid",
        createdAt: "2026-12-04T01:00:00+00:00",
        lastUsedAt: null,
      }]);
    },
  });
  try {
    const created = await store.createPasskey(
      { userId, type: "webauthn", provider: "passkey", providerAccountId: "q83v+/8=" },
      {
        userId,
        providerAccountId: "q83v+/8=",
        credentialID: "q83v+/8=",
        credentialPublicKey: "pk",
        counter: 0,
        credentialDeviceType: "multiDevice",
        credentialBackedUp: true,
        transports: "internal,hybrid",
      },
    );
    assert.equal(created.counter, 0);
    assert.equal(seen[0]!.method, "POST");
    assert.equal(seen[0]!.url.pathname, "/rest/v1/rpc/create_passkey");
    assert.equal(seen[0]!.profile, "next_auth");
    assert.deepEqual(seen[0]!.body, {
      p_user_id: userId,
      p_type: "webauthn",
      p_provider: "passkey",
      p_provider_account_id: "q83v+/8=",
      p_credential_id: "q83v+/8=",
      p_public_key: "pk",
      p_counter: 0,
      p_device_type: "multiDevice",
      p_backed_up: true,
      p_transports: "internal,hybrid",
    });

    const listed = await store.listPasskeys(userId);
    assert.equal(seen[1]!.url.pathname, "/rest/v1/authenticators");
    assert.equal(seen[1]!.url.searchParams.get("userId"), `eq.${userId}`);
    assert.ok(!seen[1]!.url.searchParams.get("select")!.includes("credentialPublicKey"));
    assert.deepEqual(listed, [{
      credentialID: "q83v+/8=",
      deviceType: "multiDevice",
      backedUp: true,
      transports: ["internal", "hybrid"],
      createdAt: new Date("2026-12-04T01:00:00Z"),
      lastUsedAt: null,
    }]);

    assert.equal(await store.deletePasskey(userId, "q83v+/8="), true);
    assert.equal(seen[2]!.url.pathname, "/rest/v1/rpc/delete_passkey");
    assert.deepEqual(seen[2]!.body, { p_user_id: userId, p_credential_id: "q83v+/8=" });

    assert.equal(await store.deletePasskey("not-a-uuid", "q83v+/8="), false);
    assert.deepEqual(await store.listPasskeys("not-a-uuid"), []);
    assert.equal(seen.length, 3, "ids that cannot match never reach the API");
  } finally {
    await store.close();
  }
});
