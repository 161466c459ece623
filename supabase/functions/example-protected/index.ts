import { exampleProtected } from "../_shared/example_protected.ts";
import { protect } from "../_shared/protect.ts";

// Signed-in users only: the Auth.js session (cookie or Bearer) is checked locally, no
// round trip to /session. Deploy with --no-verify-jwt (it is not a Supabase JWT).
Deno.serve(protect(exampleProtected));
