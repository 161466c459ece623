/**
 * The audit log: who signed in, out, was created or linked, failed, or was rate limited,
 * from which IP and user agent, in `next_auth.audit_log`. Writing never fails a request:
 * a row that cannot be written is reported to the log instead.
 *
 * Only allow-listed, scalar `detail` values are kept, and any key that could hold a
 * credential (`token`, `secret`, `password`, `code`, `verifier`, `key`) is dropped, so a
 * careless caller cannot put a secret in the trail.
 *
 * @example
 * ```ts
 * const audit = createAudit(store, log);
 * await audit("signin_failed", { ip, userAgent, provider: "password", detail: { error: "CredentialsSignin" } });
 * ```
 */
import { describe } from "./errors.ts";
import type { AuditEntry, Store } from "./store/mod.ts";

/** The events written; others may add theirs (snake_case, past tense or noun). */
export type AuditEvent =
  | "signin"
  | "signout"
  | "user_created"
  | "account_linked"
  | "signin_failed"
  | "rate_limited"
  | (string & Record<never, never>);

export type AuditFields = Omit<AuditEntry, "event">;

export type Audit = (event: AuditEvent, fields?: AuditFields) => Promise<void>;

const SECRET_KEY = /token|secret|password|passwd|code|verifier|key|cookie|authorization/i;

export function createAudit(
  store: Pick<Store, "appendAudit">,
  log: (line: string) => void,
): Audit {
  return async (event, fields = {}) => {
    try {
      await store.appendAudit({ ...fields, event, detail: cleanDetail(fields.detail) });
    } catch (error) {
      log(`Cannot write audit event "${event}": ${describe(error)}`);
    }
  };
}

function cleanDetail(detail: AuditEntry["detail"]): AuditEntry["detail"] {
  const out: NonNullable<AuditEntry["detail"]> = {};
  for (const [key, value] of Object.entries(detail ?? {})) {
    if (SECRET_KEY.test(key)) continue;
    out[key] = typeof value === "string" ? value.slice(0, 200) : value;
  }
  return out;
}
