/**
 * Password sign-in through Auth.js's Credentials provider (`POST /callback/password` with the
 * CSRF token, `email` and `password`). An unknown address and a wrong password get the same
 * answer after the same work (a full hash either way); a right password on an unverified
 * address says so, which tells nothing to someone who does not know the password.
 *
 * @example
 * ```ts
 * const providers = createPasswordProviders(config, store); // [] unless AUTH_PASSWORD=true
 * ```
 */
import { CredentialsSignin } from "@auth/core/errors";
import type { Provider } from "@auth/core/providers";
import Credentials from "@auth/core/providers/credentials";
import type { AppConfig } from "./config.ts";
import { hashPassword, verifyPassword } from "./password_hash.ts";
import { MAX_PASSWORD_LENGTH, normalizeEmail } from "./password_rules.ts";
import type { Store } from "./store/mod.ts";

/** Auth.js puts `code` in the error redirect: `/error?error=CredentialsSignin&code=...`. */
export class EmailNotVerified extends CredentialsSignin {
  override code = "email_not_verified";
}

export function createPasswordProviders(
  config: Pick<AppConfig, "password">,
  store: Store,
): Provider[] {
  if (!config.password) return [];
  return [
    Credentials({
      id: "password",
      name: "Password",
      credentials: {
        email: { label: "Email", type: "email", required: true },
        password: { label: "Password", type: "password", required: true },
      },
      async authorize(credentials) {
        const email = typeof credentials.email === "string"
          ? normalizeEmail(credentials.email)
          : null;
        const password = typeof credentials.password === "string" &&
            credentials.password.length <= MAX_PASSWORD_LENGTH
          ? credentials.password
          : "";
        const found = email ? await store.passwords.findByEmail(email) : null;
        const { ok, rehash } = await verifyPassword(password, found?.hash ?? null);
        if (!ok || !found || password === "") return null;
        if (!found.emailVerified) throw new EmailNotVerified();
        if (rehash) await store.passwords.updateHash(found.id, await hashPassword(password));
        return { id: found.id, email: found.email, name: found.name };
      },
    }),
  ];
}
