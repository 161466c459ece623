import { createMfaHandler } from "../_shared/mfa_handler.ts";

Deno.serve(createMfaHandler());
