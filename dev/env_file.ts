/**
 * `.env` files as `supabase functions serve --env-file` and `supabase secrets set
 * --env-file` read them: `NAME=value` lines, optional `export`, optional quotes, `#`
 * comments.
 *
 * @example
 * ```ts
 * readEnvFile('AUTH_SECRET="abc"\n# comment\nexport AUTH_DEBUG=true');
 * // { AUTH_SECRET: "abc", AUTH_DEBUG: "true" }
 * ```
 */
export function readEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = line.match(
      /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/,
    );
    if (!m) continue;
    let value = m[2]!;
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    out[m[1]!] = value;
  }
  return out;
}
