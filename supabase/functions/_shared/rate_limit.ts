/**
 * Rate limits kept in Postgres, so they hold across stateless Edge isolates: each hit is one
 * atomic upsert on `next_auth.rate_limits` (bucket, key) that returns the window's count.
 * Over the limit, `limit()` throws a 429 `rate_limited` with `Retry-After`.
 *
 * For other modules (password sign-in, token exchange): call `limit()` before the work it
 * protects, once per key (client IP, then the identifier), with the rule from
 * `config.rateLimits` (`null` means the rule is off and nothing is counted).
 *
 * @example
 * ```ts
 * const ip = clientIp(req, config.clientIpHeader);
 * await limit(store, { bucket: "password_ip", key: ip, rule: config.rateLimits.password_ip });
 * await limit(store, { bucket: "code_exchange_ip", key: ip, max: 60, windowSec: 300 });
 * ```
 */
import { HttpError } from "./errors.ts";
import type { RateRule } from "./config.ts";
import type { Store } from "./store/mod.ts";

/** The 429 answer: its `bucket` says which rule was exceeded (for the audit log). */
export class RateLimitedError extends HttpError {
  constructor(
    readonly bucket: string,
    retryAfterSec: number,
    /** The first refused hit of its window: worth one audit row, the rest are not. */
    readonly first: boolean,
  ) {
    super(
      429,
      "rate_limited",
      `Too many requests: try again in ${retryAfterSec} seconds`,
      { headers: { "Retry-After": String(retryAfterSec) } },
    );
  }
}

export type LimitOptions =
  & { bucket: string; key: string | undefined | null }
  & ({ rule: RateRule | null } | RateRule);

/**
 * Counts one hit for `key` in `bucket`; throws `RateLimitedError` (429) once the window
 * holds more than `max` hits. A missing key (no client IP known) or a `null` rule counts
 * nothing.
 */
export async function limit(
  store: Pick<Store, "hitRateLimit">,
  options: LimitOptions,
): Promise<void> {
  const rule = "rule" in options ? options.rule : options;
  if (!rule || !options.key) return;
  const { hits, retryAfterSec } = await store.hitRateLimit({
    bucket: options.bucket,
    key: options.key.slice(0, 320),
    windowSec: rule.windowSec,
  });
  if (hits > rule.max) {
    throw new RateLimitedError(options.bucket, retryAfterSec, hits === rule.max + 1);
  }
}

/**
 * The client's IP from the configured header's first entry (on Supabase, `x-forwarded-for`
 * as the platform's proxy sets it), or undefined when absent or not an IP address. Only
 * syntactically valid addresses are used as keys, so a forged header cannot make arbitrary
 * rows; a client that forges a fresh IP each time is still bounded by the per-identifier
 * rules.
 */
export function clientIp(
  req: Request,
  header: string | null,
): string | undefined {
  if (!header) return undefined;
  const first = req.headers.get(header)?.split(",")[0]?.trim().toLowerCase();
  if (!first || first.length > 45) return undefined;
  if (/^(\d{1,3}\.){3}\d{1,3}$/.test(first)) return first;
  if (/^[0-9a-f:.]+$/.test(first) && first.includes(":")) return first;
  return undefined;
}
