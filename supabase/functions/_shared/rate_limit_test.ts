import assert from "node:assert/strict";
import { clientIp } from "./rate_limit.ts";

const from = (value: string | undefined, header = "x-forwarded-for") =>
  clientIp(
    new Request("http://x/", { headers: value === undefined ? {} : { [header]: value } }),
    header,
  );

Deno.test("clientIp() takes the first X-Forwarded-For entry, only when it is an IP", () => {
  assert.equal(from("203.0.113.7"), "203.0.113.7");
  assert.equal(from("203.0.113.7, 10.0.0.1, 127.0.0.1"), "203.0.113.7");
  assert.equal(from(" 2001:DB8::1 , 10.0.0.1"), "2001:db8::1");
  assert.equal(from(undefined), undefined);
  assert.equal(from(""), undefined);
  assert.equal(from("unknown, 10.0.0.1"), undefined);
  assert.equal(from("'; drop table x; --"), undefined);
  assert.equal(from("1".repeat(100)), undefined);
  assert.equal(from("198.51.100.1", "cf-connecting-ip"), "198.51.100.1");
  assert.equal(
    clientIp(new Request("http://x/", { headers: { "x-forwarded-for": "1.2.3.4" } }), null),
    undefined,
  );
});
