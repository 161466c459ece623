import { encode } from "@auth/core/jwt";
import { createHandler } from "./supabase/functions/_shared/handler.ts";
const SECRET = "benchmark-secret-0123456789-abcdefghijklmnop";
const env = {
  AUTH_SECRET: SECRET,
  AUTH_URL: "http://127.0.0.1:54321/functions/v1",
  DATABASE_URL: "postgres://x@127.0.0.1:1/x",
};
const h = createHandler("session", { env, log: () => {} });
const jwe = await encode({
  token: { sub: "u", email: "bench@example.com" },
  secret: SECRET,
  salt: "authjs.session-token",
});
const mk = () =>
  new Request("http://x/session", { headers: { Cookie: `authjs.session-token=${jwe}` } });
for (let i = 0; i < 30000; i++) await (await h(mk())).text();
