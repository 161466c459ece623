import { createPasswordHandler } from "../_shared/password_handler.ts";

Deno.serve(createPasswordHandler());
