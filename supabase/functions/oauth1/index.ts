import { createOAuth1Handler } from "../_shared/oauth1/handler.ts";

Deno.serve(createOAuth1Handler());
