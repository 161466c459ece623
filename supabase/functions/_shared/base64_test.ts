/** Base64 both ways, native and portable alike, against the encodings' known answers. */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { fromBase64, fromBase64Url, portableBase64, toBase64, toBase64Url } from "./base64.ts";

Deno.test("base64 and base64url agree with Node's Buffer, native and portable alike", () => {
  for (let length = 0; length < 70; length++) {
    const bytes = crypto.getRandomValues(new Uint8Array(length));
    const standard = Buffer.from(bytes).toString("base64");
    const url = Buffer.from(bytes).toString("base64url");
    for (
      const [what, impl] of [["native", { toBase64, toBase64Url }], [
        "portable",
        portableBase64,
      ]] as const
    ) {
      assert.equal(impl.toBase64(bytes), standard, `${what} ${length}`);
      assert.equal(impl.toBase64(bytes, { omitPadding: true }), standard.replace(/=+$/, ""));
      assert.equal(impl.toBase64Url(bytes), url, `${what} ${length}`);
    }
    for (const decode of [fromBase64, portableBase64.fromBase64]) {
      assert.deepEqual(decode(standard), bytes);
      assert.deepEqual(decode(standard.replace(/=+$/, "")), bytes, "padding is optional");
    }
    for (const decode of [fromBase64Url, portableBase64.fromBase64Url]) {
      assert.deepEqual(decode(url), bytes);
    }
  }
});

Deno.test("what is not base64url (or base64) is a SyntaxError", () => {
  for (const bad of ["ab=", "a+b", "a/b", "a b", "é", "ab\n"]) {
    assert.throws(() => fromBase64Url(bad), SyntaxError, bad);
  }
  for (const bad of ["a-b", "a_b", "a b", "a===", "=abc"]) {
    assert.throws(() => fromBase64(bad), SyntaxError, bad);
  }
});
