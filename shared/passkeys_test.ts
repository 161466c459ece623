import assert from "node:assert/strict";
import {
  authenticationJSON,
  creationOptions,
  fromBase64Url,
  registrationJSON,
  requestOptions,
  toBase64Url,
} from "./passkeys.ts";

Deno.test("base64url: RFC 4648 §5 without padding, both ways", () => {
  assert.equal(toBase64Url(new Uint8Array([0xfb, 0xff])), "-_8");
  assert.equal(toBase64Url(new Uint8Array([])), "");
  assert.deepEqual([...fromBase64Url("-_8")], [0xfb, 0xff]);
  assert.deepEqual([...fromBase64Url("-_8=")], [0xfb, 0xff]);
  const bytes = crypto.getRandomValues(new Uint8Array(97));
  assert.deepEqual(fromBase64Url(toBase64Url(bytes.buffer)), bytes);
  assert.throws(() => fromBase64Url("a+b/"), /not base64url/);
});

Deno.test("options JSON becomes what navigator.credentials takes", () => {
  const created = creationOptions({
    challenge: "AQID",
    rp: { id: "app.example.com", name: "App" },
    // @simplewebauthn/server 9 sends the user handle as a plain string.
    user: { id: "a1b2", name: "ada@example.com", displayName: "Ada" },
    excludeCredentials: [{ id: "BAU", type: "public-key", transports: ["internal"] }],
    timeout: 1000,
  });
  assert.deepEqual([...(created.challenge as Uint8Array)], [1, 2, 3]);
  assert.deepEqual(new TextDecoder().decode(created.user.id as Uint8Array), "a1b2");
  assert.deepEqual([...(created.excludeCredentials![0]!.id as Uint8Array)], [4, 5]);
  assert.equal(created.excludeCredentials![0]!.transports![0], "internal");
  assert.equal(created.timeout, 1000);

  const requested = requestOptions({ challenge: "AQID", rpId: "app.example.com" });
  assert.deepEqual([...(requested.challenge as Uint8Array)], [1, 2, 3]);
  assert.equal(requested.allowCredentials, undefined);
  assert.equal(requested.rpId, "app.example.com");
});

Deno.test("credentials become the JSON the functions verify", () => {
  const bytes = (...b: number[]) => new Uint8Array(b).buffer;
  const base = {
    id: "AQ",
    rawId: bytes(1),
    type: "public-key",
    authenticatorAttachment: "platform",
    getClientExtensionResults: () => ({}),
  };
  const registration = registrationJSON({
    ...base,
    response: {
      clientDataJSON: bytes(2),
      attestationObject: bytes(3),
      getTransports: () => ["internal", "hybrid"],
    },
  } as unknown as PublicKeyCredential);
  assert.deepEqual(registration, {
    id: "AQ",
    rawId: "AQ",
    type: "public-key",
    response: { clientDataJSON: "Ag", attestationObject: "Aw", transports: ["internal", "hybrid"] },
    clientExtensionResults: {},
    authenticatorAttachment: "platform",
  });
  const assertion = authenticationJSON({
    ...base,
    response: {
      clientDataJSON: bytes(2),
      authenticatorData: bytes(4),
      signature: bytes(5),
      userHandle: null,
    },
  } as unknown as PublicKeyCredential);
  assert.deepEqual(assertion.response, {
    clientDataJSON: "Ag",
    authenticatorData: "BA",
    signature: "BQ",
    userHandle: undefined,
  });
});
