/**
 * Reads a QR code back from the SVG the `mfa` function serves: the path's dark runs are
 * painted into pixels and decoded by `jsqr`, an independent QR reader.
 */
import jsqr from "jsqr";

// jsqr is CommonJS with an ES default in its types: Deno hands over `module.exports`, whose
// `default` is the function.
type JsQr = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
const jsQR = (jsqr as unknown as { default: JsQr }).default;

/** The text of the QR code drawn by `qr_svg.ts`, or null when it does not decode. */
export function decodeSvgQr(svg: string, scale = 4): string | null {
  const size = Number(svg.match(/viewBox="0 0 (\d+) \1"/)?.[1]);
  const path = svg.match(/<path[^>]* d="([^"]*)"/)?.[1];
  if (!size || path === undefined) return null;
  const width = size * scale;
  const pixels = new Uint8ClampedArray(width * width * 4).fill(255);
  for (const [, x, y, run] of path.matchAll(/M(\d+) (\d+)h(\d+)v1h-\3z/g)) {
    for (let dx = 0; dx < Number(run) * scale; dx++) {
      for (let dy = 0; dy < scale; dy++) {
        const offset = ((Number(y) * scale + dy) * width + Number(x) * scale + dx) * 4;
        pixels.fill(0, offset, offset + 3);
      }
    }
  }
  return jsQR(pixels, width, width)?.data ?? null;
}
