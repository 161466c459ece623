/**
 * What the session codec (`session_token.ts`) needs from `jose`, behind a relative path: the
 * codec loads it with `import("./session_jose.ts")` only for a token it cannot open itself (a
 * rotated secret, legacy A256GCM) or when it re-issues one. Deno resolves a dynamic import of a
 * bare npm specifier (`import("jose")`) as soon as the importing module loads, lazy dynamic
 * imports or not: ~0.45 ms of every cold start of the `session` function, measured; a relative
 * specifier it leaves alone until the import runs.
 */
export { EncryptJWT, jwtDecrypt } from "jose";
