/**
 * A QR code as a small SVG, for the `otpauth://` URI an authenticator app scans. The module
 * matrix comes from the `qr` package (zero dependencies); the SVG is ours: one path of
 * dark runs on a white background with the four-module quiet zone the QR standard asks for,
 * drawn crisp at any size.
 *
 * @example
 * ```ts
 * const svg = qrSvg("otpauth://totp/Example:ada%40example.com?secret=…");
 * // '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 45 45" …><path d="M4 4h7v1h-7z…"/></svg>'
 * ```
 */
import encodeQR from "qr";

/** Modules of white around the symbol (ISO/IEC 18004 §6.3.8). */
export const QUIET_ZONE = 4;

/** The dark/light modules of the QR code for `text` (error correction M), quiet zone included. */
export function qrMatrix(text: string): boolean[][] {
  return encodeQR(text, "raw", { ecc: "medium", border: QUIET_ZONE });
}

export function qrSvg(text: string, { title = "QR code" }: { title?: string } = {}): string {
  const matrix = qrMatrix(text);
  const size = matrix.length;
  let path = "";
  for (const [y, row] of matrix.entries()) {
    for (let x = 0; x < row.length; x++) {
      if (!row[x]) continue;
      let run = 1;
      while (row[x + run]) run++;
      path += `M${x} ${y}h${run}v1h-${run}z`;
      x += run - 1;
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" ` +
    `shape-rendering="crispEdges" role="img" aria-label="${escapeXml(title)}">` +
    `<rect width="${size}" height="${size}" fill="#fff"/>` +
    `<path fill="#000" d="${path}"/></svg>`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
