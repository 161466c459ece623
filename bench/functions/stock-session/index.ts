/**
 * Stock Auth.js: `Auth()` from `@auth/core` answering every request, with the same secret,
 * session strategy and store as this project's `session` function — what a plain Auth.js
 * deployment on Deno does. It receives the public path (`/functions/v1/session`).
 */
import { Auth } from "@auth/core";
import Nodemailer from "@auth/core/providers/nodemailer";
import { createSqlStore } from "../../../supabase/functions/_shared/store/sql.ts";

const env = Deno.env.toObject();
// As an Auth.js deployment has it: an adapter over npm:postgres. BENCH_STOCK_LIGHT_CLIENT=true
// lends stock Auth() this project's light client too (the bench reports both).
const adapter = createSqlStore({
  url: env.DATABASE_URL!,
  max: 3,
  lightClient: env.BENCH_STOCK_LIGHT_CLIENT === "true",
});
const config = {
  basePath: "/functions/v1",
  secret: env.AUTH_SECRET!,
  trustHost: true,
  adapter,
  providers: [Nodemailer({ id: "email", server: "smtp://127.0.0.1:1", from: "a@b.c" })],
  session: { strategy: env.AUTH_SESSION_STRATEGY as "jwt" | "database" },
  logger: { error() {}, warn() {}, debug() {} },
};
Deno.serve((req) => Auth(req, config));
