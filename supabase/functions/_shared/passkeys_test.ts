import assert from "node:assert/strict";
import { loadConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { describePasskey, fromCredentialId, toCredentialId } from "./passkeys.ts";

const base = {
  AUTH_SECRET: "s3cret-value-with-enough-entropy-0123456789",
  AUTH_URL: "https://abc.supabase.co/functions/v1",
  SUPABASE_DB_URL: "postgres://postgres:pw@db.abc.supabase.co:5432/postgres",
};

function refused(env: Record<string, string>, message: RegExp) {
  assert.throws(() => loadConfig({ ...base, ...env }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /^Cannot start: /);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("loadConfig(): passkeys are off unless AUTH_PASSKEYS=true", () => {
  assert.equal(loadConfig(base).passkeys, undefined);
  assert.equal(loadConfig({ ...base, AUTH_PASSKEYS: "false" }).passkeys, undefined);
  refused({ AUTH_PASSKEYS: "yes" }, /AUTH_PASSKEYS must be one of "true", "false"/);
  refused(
    { AUTH_WEBAUTHN_RP_ID: "example.com" },
    /AUTH_WEBAUTHN_RP_ID is set but AUTH_PASSKEYS is not "true"/,
  );
});

Deno.test("loadConfig(): the relying party defaults to the one frontend, not the functions' host", () => {
  const config = loadConfig({
    ...base,
    AUTH_PASSKEYS: "true",
    AUTH_ALLOWED_ORIGINS: "https://app.example.com",
  });
  assert.deepEqual(config.passkeys, {
    rpId: "app.example.com",
    rpName: "app.example.com",
    origin: "https://app.example.com",
  });
  refused({ AUTH_PASSKEYS: "true" }, /needs AUTH_WEBAUTHN_RP_ORIGIN .*lists none/);
  refused(
    {
      AUTH_PASSKEYS: "true",
      AUTH_ALLOWED_ORIGINS: "https://app.example.com,https://admin.example.com",
    },
    /needs AUTH_WEBAUTHN_RP_ORIGIN .*lists several/,
  );
});

Deno.test("loadConfig(): an explicit relying party is checked as browsers would", () => {
  const allowed = {
    AUTH_PASSKEYS: "true",
    AUTH_ALLOWED_ORIGINS: "https://app.example.com,https://admin.example.com,http://localhost:5173",
  };
  const config = loadConfig({
    ...base,
    ...allowed,
    AUTH_WEBAUTHN_RP_ORIGIN: "https://app.example.com",
    AUTH_WEBAUTHN_RP_ID: "Example.com",
    AUTH_WEBAUTHN_RP_NAME: "Example",
  });
  assert.deepEqual(config.passkeys, {
    rpId: "example.com",
    rpName: "Example",
    origin: "https://app.example.com",
  });
  assert.equal(
    loadConfig({ ...base, ...allowed, AUTH_WEBAUTHN_RP_ORIGIN: "http://localhost:5173" })
      .passkeys?.rpId,
    "localhost",
  );
  refused(
    { ...allowed, AUTH_WEBAUTHN_RP_ORIGIN: "https://other.example.com" },
    /must be in AUTH_ALLOWED_ORIGINS/,
  );
  refused(
    { ...allowed, AUTH_WEBAUTHN_RP_ORIGIN: "https://app.example.com/login" },
    /AUTH_WEBAUTHN_RP_ORIGIN must list bare origins/,
  );
  refused(
    {
      AUTH_PASSKEYS: "true",
      AUTH_ALLOWED_ORIGINS: "http://127.0.0.1:3000",
    },
    /refuses IP addresses/,
  );
  refused(
    { AUTH_PASSKEYS: "true", AUTH_ALLOWED_ORIGINS: "http://app.example.com" },
    /need an https frontend/,
  );
  for (const rpId of ["other.com", "pp.example.com", "com", "admin.example.com", "a b"]) {
    refused(
      { ...allowed, AUTH_WEBAUTHN_RP_ORIGIN: "https://app.example.com", AUTH_WEBAUTHN_RP_ID: rpId },
      /AUTH_WEBAUTHN_RP_ID must be "app\.example\.com" or a parent domain/,
    );
  }
  refused(
    {
      ...allowed,
      AUTH_WEBAUTHN_RP_ORIGIN: "https://app.example.com",
      AUTH_WEBAUTHN_RP_NAME: "x".repeat(65),
    },
    /AUTH_WEBAUTHN_RP_NAME is longer than 64/,
  );
});

Deno.test("credential ids: the browser's base64url and Auth.js's stored base64 convert both ways", () => {
  assert.equal(toCredentialId("q83v+/8="), "q83v-_8");
  assert.equal(fromCredentialId("q83v-_8"), "q83v+/8=");
  assert.equal(fromCredentialId("q83v+/8="), "q83v+/8=");
  const bytes = crypto.getRandomValues(new Uint8Array(33));
  const stored = btoa(String.fromCharCode(...bytes));
  assert.equal(fromCredentialId(toCredentialId(stored)), stored);
  for (const bad of [undefined, 5, "", "a", "not base64!", "a".repeat(1400), "ab=c"]) {
    assert.equal(fromCredentialId(bad), undefined, String(bad));
  }
});

Deno.test("describePasskey() shows what the owner may see, never the key", () => {
  const described = describePasskey({
    credentialID: "q83v+/8=",
    deviceType: "multiDevice",
    backedUp: true,
    transports: ["internal", "hybrid"],
    createdAt: new Date("2026-12-04T01:00:00Z"),
    lastUsedAt: null,
  });
  assert.deepEqual(described, {
    id: "q83v-_8",
    deviceType: "multiDevice",
    backedUp: true,
    transports: ["internal", "hybrid"],
    createdAt: "2026-12-04T01:00:00.000Z",
    lastUsedAt: null,
  });
});
