import assert from "node:assert/strict";
import { hashPassword, PASSWORD_HASH_PARAMS, verifyPassword } from "./password_hash.ts";

Deno.test("hashPassword() stores algorithm and parameters; verifyPassword() checks them", async () => {
  const stored = await hashPassword("correct horse battery staple");
  assert.match(stored, new RegExp(`^\\$pbkdf2-sha256\\$i=${PASSWORD_HASH_PARAMS.iterations}\\$`));
  assert.notEqual(stored, await hashPassword("correct horse battery staple"), "salted");
  assert.deepEqual(await verifyPassword("correct horse battery staple", stored), {
    ok: true,
    rehash: false,
  });
  assert.deepEqual(await verifyPassword("correct horse battery stapler", stored), {
    ok: false,
    rehash: false,
  });
});

Deno.test("verifyPassword() asks to rehash a hash made with weaker parameters", async () => {
  const old = await hashPassword("a long enough password", { iterations: 1_000 });
  assert.deepEqual(await verifyPassword("a long enough password", old), { ok: true, rehash: true });
});

Deno.test("verifyPassword() refuses missing, malformed and hostile hashes", async () => {
  assert.equal((await verifyPassword("x", null)).ok, false);
  assert.equal((await verifyPassword("x", "plaintext")).ok, false);
  assert.equal((await verifyPassword("x", "$pbkdf2-sha256$i=999999999$AAAA$AAAA")).ok, false);
  const stored = await hashPassword("x1234567");
  assert.equal((await verifyPassword("x1234567", stored.slice(0, -4))).ok, false);
});
