/**
 * What `example-protected` answers: a stand-in for your own API, reachable only with a
 * valid session. Copy `supabase/functions/example-protected/` to start a protected function.
 *
 * @example
 * ```ts
 * Deno.serve(protect(exampleProtected));
 * ```
 */
import type { ProtectedHandler } from "./protect.ts";

export const exampleProtected: ProtectedHandler = (_req, session) =>
  Response.json({ message: `Hello, ${session.user.email ?? session.user.id}`, user: session.user });
