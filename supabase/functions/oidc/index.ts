import { createOidcHandler } from "../_shared/oidc_handler.ts";

Deno.serve(createOidcHandler());
