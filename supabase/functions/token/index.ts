import { createTokenHandler } from "../_shared/token.ts";

Deno.serve(createTokenHandler());
