import assert from "node:assert/strict";
import {
  base32Decode,
  base32Encode,
  hotp,
  otpauthUri,
  totp,
  type TotpAlgorithm,
  totpStep,
  verifyTotp,
} from "./totp.ts";

const ascii = (text: string) => new TextEncoder().encode(text);

Deno.test("base32 matches RFC 4648 §10's test vectors both ways", () => {
  const vectors: [string, string][] = [
    ["", ""],
    ["f", "MY======"],
    ["fo", "MZXQ===="],
    ["foo", "MZXW6==="],
    ["foob", "MZXW6YQ="],
    ["fooba", "MZXW6YTB"],
    ["foobar", "MZXW6YTBOI======"],
  ];
  for (const [plain, encoded] of vectors) {
    assert.equal(base32Encode(ascii(plain), { padding: true }), encoded);
    assert.equal(base32Encode(ascii(plain)), encoded.replace(/=+$/, ""));
    assert.equal(new TextDecoder().decode(base32Decode(encoded)), plain);
    assert.equal(new TextDecoder().decode(base32Decode(encoded.toLowerCase())), plain);
  }
  assert.deepEqual(base32Decode("mzxw 6ytb oi"), ascii("foobar"), "spaces and case forgiven");
  assert.throws(() => base32Decode("MZXW1"), /unexpected character "1"/);
  assert.throws(() => base32Decode("MZXW6YTBO"), /truncated/, "leftover non-zero bits");
  const random = crypto.getRandomValues(new Uint8Array(20));
  assert.deepEqual(base32Decode(base32Encode(random)), random);
  assert.equal(base32Encode(random).length, 32, "a 160-bit secret is 32 characters");
});

Deno.test("hotp() gives RFC 4226 Appendix D's values", async () => {
  const secret = ascii("12345678901234567890");
  const expected = [
    "755224",
    "287082",
    "359152",
    "969429",
    "338314",
    "254676",
    "287922",
    "162583",
    "399871",
    "520489",
  ];
  for (const [counter, code] of expected.entries()) {
    assert.equal(await hotp(secret, counter), code, `counter ${counter}`);
  }
});

Deno.test("totp() gives every RFC 6238 Appendix B value (SHA-1, SHA-256, SHA-512, 8 digits)", async () => {
  // The RFC's seeds: the ASCII digits repeated to 20, 32 and 64 bytes.
  const seeds: Record<TotpAlgorithm, Uint8Array<ArrayBuffer>> = {
    "SHA-1": ascii("12345678901234567890"),
    "SHA-256": ascii("12345678901234567890123456789012"),
    "SHA-512": ascii("1234567890123456789012345678901234567890123456789012345678901234"),
  };
  const table: [number, string, string, string][] = [
    [59, "94287082", "46119246", "90693936"],
    [1111111109, "07081804", "68084774", "25091201"],
    [1111111111, "14050471", "67062674", "99943326"],
    [1234567890, "89005924", "91819424", "93441116"],
    [2000000000, "69279037", "90698825", "38618901"],
    [20000000000, "65353130", "77737706", "47863826"],
  ];
  for (const [time, sha1, sha256, sha512] of table) {
    const expected = { "SHA-1": sha1, "SHA-256": sha256, "SHA-512": sha512 };
    for (const algorithm of ["SHA-1", "SHA-256", "SHA-512"] as const) {
      assert.equal(
        await totp(seeds[algorithm], time, { algorithm, digits: 8, period: 30 }),
        expected[algorithm],
        `${algorithm} at T=${time}`,
      );
    }
  }
  // 6 digits are the last six of the same value.
  assert.equal(await totp(seeds["SHA-1"], 1111111109), "081804");
});

Deno.test("verifyTotp() takes one step of skew either way, not two, and names the step", async () => {
  const secret = crypto.getRandomValues(new Uint8Array(20));
  const now = 1_800_000_015;
  const step = totpStep(now);
  const at = (offset: number) => totp(secret, now + offset * 30);
  assert.equal(await verifyTotp(secret, await at(0), now), step);
  assert.equal(await verifyTotp(secret, await at(-1), now), step - 1);
  assert.equal(await verifyTotp(secret, await at(1), now), step + 1);
  const earlier = await at(-2);
  const later = await at(2);
  // A code two steps away is refused (unless it happens to equal a nearer one: 1 in 10^6).
  if (![await at(-1), await at(0), await at(1)].includes(earlier)) {
    assert.equal(await verifyTotp(secret, earlier, now), null);
  }
  if (![await at(-1), await at(0), await at(1)].includes(later)) {
    assert.equal(await verifyTotp(secret, later, now), null);
  }
  assert.equal(await verifyTotp(secret, "12345", now), null, "wrong length");
  assert.equal(await verifyTotp(secret, "12a456", now), null, "not digits");
  assert.equal(await verifyTotp(secret, await at(0), now, { window: 0 }), step);
});

Deno.test("otpauthUri() writes the Key URI format authenticator apps scan", () => {
  const secret = ascii("12345678901234567890");
  const uri = otpauthUri({ issuer: "Acme Inc", account: "ada@example.com", secret });
  assert.equal(
    uri,
    "otpauth://totp/Acme%20Inc:ada%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" +
      "&issuer=Acme%20Inc&algorithm=SHA1&digits=6&period=30",
  );
  const parsed = new URL(uri);
  assert.equal(parsed.protocol, "otpauth:");
  assert.equal(parsed.searchParams.get("issuer"), "Acme Inc");
});
