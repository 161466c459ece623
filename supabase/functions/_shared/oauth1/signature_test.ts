/**
 * RFC 5849's own examples, X's documented example and OAuth Core 1.0's, reproduced exactly.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import {
  authorizationHeader,
  baseStringUri,
  collectParameters,
  createSignature,
  normalizeParameters,
  type Param,
  percentEncode,
  signatureBaseString,
  signRequest,
} from "./signature.ts";

/** The request of RFC 5849 §3.1 / §3.4.1.1 (protocol parameters as in its header). */
const RFC_REQUEST = {
  method: "POST",
  url: new URL("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b"),
  form: "c2&a3=2+q",
  oauth: [
    ["realm", "Example"],
    ["oauth_consumer_key", "9djdj82h48djs9d2"],
    ["oauth_token", "kkk9d7dh3k39sjv7"],
    ["oauth_signature_method", "HMAC-SHA1"],
    ["oauth_timestamp", "137131201"],
    ["oauth_nonce", "7d8f3e4a"],
    ["oauth_signature", "djosJKDKJSD8743243/jdk33klY="],
  ] as Param[],
};

Deno.test("percentEncode() follows RFC 5849 §3.6", () => {
  assert.equal(percentEncode("AZaz09-._~"), "AZaz09-._~");
  assert.equal(percentEncode("r b"), "r%20b");
  assert.equal(percentEncode("=%3D"), "%3D%253D");
  assert.equal(percentEncode("c@"), "c%40");
  // Characters encodeURIComponent leaves alone, and `+` (never a space here).
  assert.equal(percentEncode("!*'()+"), "%21%2A%27%28%29%2B");
  // UTF-8 octets, uppercase hex.
  assert.equal(percentEncode("é☃😀"), "%C3%A9%E2%98%83%F0%9F%98%80");
});

Deno.test("baseStringUri() follows RFC 5849 §3.4.1.2's examples", () => {
  assert.equal(
    baseStringUri(new URL("http://EXAMPLE.COM:80/r%20v/X?id=123")),
    "http://example.com/r%20v/X",
  );
  assert.equal(
    baseStringUri(new URL("https://www.example.net:8080/?q=1")),
    "https://www.example.net:8080/",
  );
  assert.equal(baseStringUri(new URL("https://example.net:443/a#frag")), "https://example.net/a");
});

Deno.test("collectParameters() and normalizeParameters() give RFC 5849 §3.4.1.3.2's string", () => {
  const params = collectParameters(RFC_REQUEST.url, RFC_REQUEST.oauth, RFC_REQUEST.form);
  // §3.4.1.3.1: fully decoded; realm and oauth_signature left out; "+" in a form is a space.
  assert.deepEqual(
    [...params].sort(),
    [
      ["b5", "=%3D"],
      ["a3", "a"],
      ["c@", ""],
      ["a2", "r b"],
      ["oauth_consumer_key", "9djdj82h48djs9d2"],
      ["oauth_token", "kkk9d7dh3k39sjv7"],
      ["oauth_signature_method", "HMAC-SHA1"],
      ["oauth_timestamp", "137131201"],
      ["oauth_nonce", "7d8f3e4a"],
      ["c2", ""],
      ["a3", "2 q"],
    ].sort(),
  );
  assert.equal(
    normalizeParameters(params),
    "a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2" +
      "&oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201" +
      "&oauth_token=kkk9d7dh3k39sjv7",
  );
});

Deno.test("signatureBaseString() gives RFC 5849 §3.4.1.1's base string exactly", () => {
  const params = collectParameters(RFC_REQUEST.url, RFC_REQUEST.oauth, RFC_REQUEST.form);
  assert.equal(
    signatureBaseString("POST", RFC_REQUEST.url, params),
    "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q" +
      "%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_" +
      "key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m" +
      "ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk" +
      "9d7dh3k39sjv7",
  );
});

Deno.test("HMAC-SHA1 over RFC 5849 §3.1's request, checked against node:crypto", async () => {
  const params = collectParameters(RFC_REQUEST.url, RFC_REQUEST.oauth, RFC_REQUEST.form);
  const base = signatureBaseString("POST", RFC_REQUEST.url, params);
  const signature = await createSignature("HMAC-SHA1", base, "j49sk3j29djd", "dh893hdasih9");
  // The RFC prints "bYT5CMsGcbgUdFHObYMEfcx6bsw=" for this request with client secret
  // "j49sk3j29djd" and token secret "dh893hdasih9"; that value cannot be reproduced from its
  // own (correct) base string. This one was computed independently, with Python's hmac:
  //   base64(hmac.new(b"j49sk3j29djd&dh893hdasih9", base, sha1).digest())
  // and is recomputed here with node:crypto, outside the WebCrypto path under test.
  assert.equal(signature, "r6/TJjbCOr97/+UU0NsvSne7s5g=");
  assert.equal(
    signature,
    createHmac("sha1", "j49sk3j29djd&dh893hdasih9").update(base).digest("base64"),
  );
});

Deno.test("HMAC-SHA1 reproduces the three signatures of RFC 5849 §1.2", async () => {
  const consumer = { key: "dpf43f3p2l4k3l03", secret: "kd94hf93k423kf44" };
  const sign = async (
    method: string,
    url: string,
    oauth: Param[],
    tokenSecret: string,
  ) => {
    const target = new URL(url);
    const base = signatureBaseString(
      method,
      target,
      collectParameters(target, [["realm", "Photos"], ...oauth]),
    );
    return await createSignature("HMAC-SHA1", base, consumer.secret, tokenSecret);
  };
  // Temporary credentials (POST /initiate, over HTTPS).
  assert.equal(
    await sign("POST", "https://photos.example.net/initiate", [
      ["oauth_consumer_key", consumer.key],
      ["oauth_signature_method", "HMAC-SHA1"],
      ["oauth_timestamp", "137131200"],
      ["oauth_nonce", "wIjqoS"],
      ["oauth_callback", "http://printer.example.com/ready"],
    ], ""),
    "74KNZJeDHnMBp0EMJ9ZHt/XKycU=",
  );
  // Token credentials (POST /token with the verifier), signed with the temporary secret.
  assert.equal(
    await sign("POST", "https://photos.example.net/token", [
      ["oauth_consumer_key", consumer.key],
      ["oauth_token", "hh5s93j4hdidpola"],
      ["oauth_signature_method", "HMAC-SHA1"],
      ["oauth_timestamp", "137131201"],
      ["oauth_nonce", "walatlh"],
      ["oauth_verifier", "hfdp7dh39dks9884"],
    ], "hdhd0244k9j7ao03"),
    "gKgrFCywp7rO0OXSjdot/IHF7IU=",
  );
  // The protected resource, with its query signed.
  assert.equal(
    await sign("GET", "http://photos.example.net/photos?file=vacation.jpg&size=original", [
      ["oauth_consumer_key", consumer.key],
      ["oauth_token", "nnch734d00sl2jdk"],
      ["oauth_signature_method", "HMAC-SHA1"],
      ["oauth_timestamp", "137131202"],
      ["oauth_nonce", "chapoH"],
    ], "pfkkdhi9sl3r4s00"),
    "MdpQcU8iPSUjWoN/UDMsK2sui9I=",
  );
});

Deno.test("signRequest() reproduces OAuth Core 1.0's Appendix A.5 signature", async () => {
  // Often quoted as RFC 5849's; it is the example of the community specification it replaced.
  const url = new URL("http://photos.example.net/photos?file=vacation.jpg&size=original");
  const { params, baseString } = await signRequest({
    method: "GET",
    url,
    consumerKey: "dpf43f3p2l4k3l03",
    consumerSecret: "kd94hf93k423kf44",
    token: "nnch734d00sl2jdk",
    tokenSecret: "pfkkdhi9sl3r4s00",
    timestamp: 1191242096,
    nonce: "kllo9940pd9333jh",
  });
  assert.equal(
    baseString,
    "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key" +
      "%3Ddpf43f3p2l4k3l03%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA1" +
      "%26oauth_timestamp%3D1191242096%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version%3D1.0" +
      "%26size%3Doriginal",
  );
  assert.deepEqual(params.find(([name]) => name === "oauth_signature"), [
    "oauth_signature",
    "tR3+Ty81lMeYAr/Fid0kMTYa/WM=",
  ]);
});

Deno.test("signRequest() reproduces X's 'Creating a signature' example (query and form body)", async () => {
  const request = {
    method: "POST",
    form: "status=Hello%20Ladies%20%2b%20Gentlemen%2c%20a%20signed%20OAuth%20request%21",
    consumerKey: "xvz1evFS4wEEPTGEFPHBog",
    consumerSecret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
    token: "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
    tokenSecret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
    timestamp: 1318622958,
    nonce: "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
  };
  const v1 = await signRequest({
    ...request,
    url: new URL("https://api.twitter.com/1/statuses/update.json?include_entities=true"),
  });
  assert.equal(
    v1.baseString,
    "POST&https%3A%2F%2Fapi.twitter.com%2F1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue" +
      "%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uY" +
      "SQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958" +
      "%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version" +
      "%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed" +
      "%2520OAuth%2520request%2521",
  );
  assert.match(v1.authorization, /oauth_signature="tnnArxj06cWHq44gCs1OSKk%2FjLY%3D"/);
  const v11 = await signRequest({
    ...request,
    url: new URL("https://api.twitter.com/1.1/statuses/update.json?include_entities=true"),
  });
  assert.match(v11.authorization, /oauth_signature="hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D"/);
});

Deno.test("PLAINTEXT is the encoded key itself (RFC 5849 §2.1 and §2.3)", async () => {
  assert.equal(await createSignature("PLAINTEXT", "ignored", "ja893SD9"), "ja893SD9&");
  assert.equal(
    await createSignature("PLAINTEXT", "ignored", "ja893SD9", "xyz4992k83j47x0b"),
    "ja893SD9&xyz4992k83j47x0b",
  );
  assert.equal(await createSignature("PLAINTEXT", "", "a b", "c&d"), "a%20b&c%26d");
});

Deno.test("authorizationHeader() encodes names and values (RFC 5849 §3.5.1)", () => {
  assert.equal(
    authorizationHeader([
      ["oauth_consumer_key", "0685bd9184jfhq22"],
      ["oauth_signature", "wOJIO9A2W5mFwDgiDvZbTSMK/PY="],
      ["oauth_callback", "http://client.example.net/cb?x=1"],
    ], "Example"),
    'OAuth realm="Example", oauth_consumer_key="0685bd9184jfhq22", ' +
      'oauth_signature="wOJIO9A2W5mFwDgiDvZbTSMK%2FPY%3D", ' +
      'oauth_callback="http%3A%2F%2Fclient.example.net%2Fcb%3Fx%3D1"',
  );
});

Deno.test("signRequest() sends a fresh nonce and the current time", async () => {
  const sign = () =>
    signRequest({
      method: "GET",
      url: new URL("https://example.com/"),
      consumerKey: "k",
      consumerSecret: "s",
    });
  const [a, b] = [await sign(), await sign()];
  const get = (params: Param[], name: string) => params.find(([n]) => n === name)![1];
  assert.notEqual(get(a.params, "oauth_nonce"), get(b.params, "oauth_nonce"));
  assert.match(get(a.params, "oauth_nonce"), /^[0-9a-f]{32}$/);
  assert.ok(Math.abs(Number(get(a.params, "oauth_timestamp")) - Date.now() / 1000) < 60);
});
