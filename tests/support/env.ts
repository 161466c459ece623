/**
 * What every test needs to know about where it runs.
 */

/** A PostgreSQL server to test against; the embedded PGlite when unset. */
export const SERVER_URL = Deno.env.get("DATABASE_URL") || undefined;

/** A strong secret for tests (never used outside them). */
export const TEST_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
