import { createAccountHandler } from "../_shared/account_handler.ts";

Deno.serve(createAccountHandler());
