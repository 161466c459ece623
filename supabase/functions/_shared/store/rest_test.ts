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
