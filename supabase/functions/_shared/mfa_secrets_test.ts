import assert from "node:assert/strict";
import {
  createSecretBox,
  generateRecoveryCodes,
  hashRecoveryCode,
  normalizeRecoveryCode,
} from "./mfa_secrets.ts";
import { base32Encode } from "./totp.ts";

const OLD = "old-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const NEW = "new-secret-9876543210-zyxwvutsrqponmlkjihgfedcba";
const USER = "6f1c2d3e-0000-4000-8000-000000000001";
const OTHER = "6f1c2d3e-0000-4000-8000-000000000002";

Deno.test("a sealed TOTP secret opens for its user only and shows no trace of the secret", async () => {
  const box = createSecretBox([NEW]);
  const secret = crypto.getRandomValues(new Uint8Array(20));
  const sealed = await box.seal(secret, USER);
  assert.match(sealed, /^v1\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
  assert.ok(!sealed.includes(base32Encode(secret)), "not the base32 secret");
  assert.notEqual(await box.seal(secret, USER), sealed, "a fresh IV each time");
  const opened = await box.open(sealed, USER);
  assert.deepEqual(opened.secret, secret);
  assert.equal(opened.current, true);
  await assert.rejects(box.open(sealed, OTHER), /altered or belongs to another user/);
  const [v, kid, iv, ct] = sealed.split(".");
  const flipped = ct!.slice(0, -2) + (ct!.at(-2) === "A" ? "B" : "A") + ct!.at(-1);
  await assert.rejects(box.open([v, kid, iv, flipped].join("."), USER), /altered/);
  await assert.rejects(box.open("plain", USER), /not a sealed secret/);
});

Deno.test("secret rotation: old seals still open (marked not current), new seals use the newest", async () => {
  const secret = crypto.getRandomValues(new Uint8Array(20));
  const before = await createSecretBox([OLD]).seal(secret, USER);
  const rotated = createSecretBox([NEW, OLD]);
  const opened = await rotated.open(before, USER);
  assert.deepEqual(opened.secret, secret);
  assert.equal(opened.current, false, "re-seal it with the newest key");
  const after = await rotated.seal(secret, USER);
  assert.equal((await rotated.open(after, USER)).current, true);
  await assert.rejects(createSecretBox([NEW]).open(before, USER), /no longer configured/);
});

Deno.test("recovery codes: 10 distinct 80-bit codes, normalised as people type them, hashed per user", async () => {
  const codes = generateRecoveryCodes();
  assert.equal(codes.length, 10);
  assert.equal(new Set(codes).size, 10);
  for (const code of codes) {
    assert.match(code, /^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
  }
  const code = "7k3m-q9zd-1a0b-cdef";
  assert.equal(normalizeRecoveryCode(" 7K3M Q9ZD-IAOB-cdef "), "7k3mq9zd1a0bcdef");
  assert.equal(normalizeRecoveryCode("7k3m-q9zd-1a0b"), null, "too short");
  assert.equal(normalizeRecoveryCode("7k3m-q9zd-1a0b-cdeu"), null, "u is not in the alphabet");
  const hash = await hashRecoveryCode(USER, code);
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.equal(await hashRecoveryCode(USER, "7K3MQ9ZDIAOBCDEF"), hash);
  assert.notEqual(await hashRecoveryCode(OTHER, code), hash, "bound to the user");
  assert.ok(!hash.includes("7k3m"));
});
