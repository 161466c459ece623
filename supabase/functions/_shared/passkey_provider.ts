/**
 * Auth.js's Passkey provider (`@auth/core/providers/passkey`, backed by
 * `@simplewebauthn/server`), bound to the configured relying party. Loaded only when
 * `AUTH_PASSKEYS=true` (`auth_runtime.ts` imports this module on demand): SimpleWebAuthn
 * takes ~80 ms to load, which functions without passkeys should not pay.
 *
 * Two changes from Auth.js's defaults, both for safety:
 * - no user is ever looked up or created from an email address in the request
 *   (`getUserInfo` answers null): a passkey is registered only by a signed-in user, for
 *   that user. Auth.js would otherwise let anyone create an account for any unverified
 *   address, and tell who has an account (and their credential ids) to anyone who asks;
 * - the relying party is fixed by configuration (the frontend's origin and RP ID), never
 *   taken from the request's URL, which is the functions' host.
 *
 * @example
 * ```ts
 * const provider = createPasskeyProvider(config.passkeys!);
 * provider.id; // "passkey"
 * ```
 */
import Passkey from "@auth/core/providers/passkey";
import type { WebAuthnConfig } from "@auth/core/providers/webauthn";
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import type { PasskeyConfig } from "./config.ts";

/** The provider id: `/webauthn-options/passkey`, `/callback/passkey`. */
export const PASSKEY_PROVIDER_ID = "passkey";

export function createPasskeyProvider(passkeys: PasskeyConfig): WebAuthnConfig {
  const relyingParty = { id: passkeys.rpId, name: passkeys.rpName, origin: passkeys.origin };
  return Passkey({
    id: PASSKEY_PROVIDER_ID,
    relayingParty: relyingParty, // (sic: Auth.js's spelling)
    getRelayingParty: () => relyingParty,
    getUserInfo: () => Promise.resolve(null),
    // The same functions Auth.js would import, named here so that the import map's pinned
    // version is the one bundled (Auth.js lists the package only as an optional peer).
    simpleWebAuthn: {
      generateAuthenticationOptions,
      generateRegistrationOptions,
      verifyAuthenticationResponse,
      verifyRegistrationResponse,
    },
    // Auth.js's own sign-in page: one button, no address to type (nothing reads it).
    formFields: {},
    enableConditionalUI: false,
  });
}
