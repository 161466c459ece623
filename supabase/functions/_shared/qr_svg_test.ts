import assert from "node:assert/strict";
import { decodeSvgQr } from "../../../tests/support/qr.ts";
import { qrMatrix, qrSvg, QUIET_ZONE } from "./qr_svg.ts";

Deno.test("qrSvg() draws a QR code that an independent reader decodes to the same text", () => {
  const uri =
    "otpauth://totp/Acme%20Inc:ada%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" +
    "&issuer=Acme%20Inc&algorithm=SHA1&digits=6&period=30";
  const svg = qrSvg(uri, { title: 'Scan "me" <now>' });
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 (\d+) \1"/);
  assert.ok(svg.includes('aria-label="Scan &#34;me&#34; &#60;now&#62;"'), "the title is escaped");
  assert.equal(decodeSvgQr(svg), uri);
  const matrix = qrMatrix(uri);
  assert.ok(svg.includes(`viewBox="0 0 ${matrix.length} `));
  const edge = [...matrix.slice(0, QUIET_ZONE), ...matrix.slice(-QUIET_ZONE)];
  assert.ok(edge.every((row) => row.every((dark) => !dark)), "four light rows top and bottom");
  assert.ok(
    matrix.every((row) => ![...row.slice(0, QUIET_ZONE), ...row.slice(-QUIET_ZONE)].some(Boolean)),
    "four light columns left and right",
  );
  assert.notEqual(decodeSvgQr(qrSvg("something else")), uri);
});
