import { createAccessTokenHandler } from "../_shared/access_token_handler.ts";

Deno.serve(createAccessTokenHandler());
