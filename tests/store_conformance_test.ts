import postgres from "postgres";
import { createClient } from "@supabase/supabase-js";
import { openDatabase } from "../dev/database.ts";
import { createRestStore } from "../supabase/functions/_shared/store/rest.ts";
import { createSqlStore } from "../supabase/functions/_shared/store/sql.ts";
import { SERVER_URL } from "./support/env.ts";
import { type DbReader, storeConformance } from "./support/store_conformance.ts";

type Row = Record<string, unknown>;
const compact = (row: Row | undefined) =>
  row ? Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null)) : null;

const openSqlStore = (lightClient: boolean) => async () => {
  const database = await openDatabase({
    serverUrl: SERVER_URL,
    fresh: true,
    quiet: true,
  });
  const store = createSqlStore({ url: database.url, lightClient });
  const sql = postgres(database.url, {
    max: 1,
    onnotice: () => {},
    types: {
      int8: { to: 20, from: [20], serialize: String, parse: Number },
    },
  });
  const first = (rows: readonly Row[]) => (rows[0] as Row | undefined) ?? null;
  const db: DbReader = {
    user: async (id) => first(await sql`select * from next_auth.users where id = ${id}`),
    session: async (token) =>
      first(
        // Auth.js's columns (the table also keeps device and last-seen for session management).
        await sql`select id, "sessionToken", "userId", expires from next_auth.sessions
            where "sessionToken" = ${token}`,
      ),
    account: async ({ provider, providerAccountId }) =>
      compact(
        (await sql`select * from next_auth.accounts
          where provider = ${provider} and "providerAccountId" = ${providerAccountId}`)[
          0
        ],
      ),
    verificationToken: async ({ identifier, token }) =>
      first(
        await sql`select * from next_auth.verification_tokens
        where identifier = ${identifier} and token = ${token}`,
      ),
    authenticator: async (id) =>
      first(
        await sql`select * from next_auth.authenticators where "credentialID" = ${id}`,
      ),
  };
  return {
    store,
    db,
    async close() {
      await sql.end();
      await store.close();
      await database.close();
    },
  };
};

// Twice: the session statements over the light client (wire.ts), then over npm:postgres.
const SERVER = SERVER_URL ? "PostgreSQL" : "embedded PGlite";
storeConformance(`sql (${SERVER})`, openSqlStore(true));
storeConformance(`sql without the light client (${SERVER})`, openSqlStore(false));

// The rest driver needs a real Supabase Data API (PostgREST), which cannot run here without
// Docker: it runs against `supabase start` (or a throw-away project) when both are set.
const SUPABASE_URL = Deno.env.get("SUPABASE_URL");
const SERVICE_ROLE_KEY = Deno.env.get("SUPABASE_SERVICE_ROLE_KEY");
const REST_SKIPPED = "skipped: no Supabase API (set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY)";

if (SUPABASE_URL && SERVICE_ROLE_KEY) {
  storeConformance(`rest (${SUPABASE_URL})`, async () => {
    const store = createRestStore({ url: SUPABASE_URL, serviceRoleKey: SERVICE_ROLE_KEY });
    const api = createClient(SUPABASE_URL, SERVICE_ROLE_KEY, {
      db: { schema: "next_auth" },
      auth: { persistSession: false, autoRefreshToken: false },
    });
    // Rows as Postgres holds them, read around the store under test; JSON timestamps as Dates.
    const read = async (table: string, match: Record<string, string>) => {
      const { data, error } = await api.from(table).select().match(match).maybeSingle();
      if (error) throw new Error(`Cannot read ${table}: ${error.message}`);
      if (!data) return null;
      const row: Row = { ...data };
      for (const key of ["emailVerified", "expires"]) {
        if (typeof row[key] === "string") row[key] = new Date(row[key] as string);
      }
      return row;
    };
    // The suite's fixed addresses, left by an earlier run against the same database.
    await api.from("users").delete().or("email.like.%@example.com,email.eq.fill@murray.com");
    await api.from("verification_tokens").delete().like("identifier", "%@example.com");
    const db: DbReader = {
      user: (id) => read("users", { id }),
      session: async (sessionToken) => {
        const row = await read("sessions", { sessionToken });
        if (!row) return row;
        const { id, userId, expires } = row as Record<string, unknown>;
        return { id, sessionToken, userId, expires };
      },
      account: async (key) => compact((await read("accounts", key)) ?? undefined),
      verificationToken: (key) => read("verification_tokens", key),
      authenticator: (credentialID) => read("authenticators", { credentialID }),
    };
    return { store, db, close: () => store.close() };
  });
} else {
  console.log(`rest store conformance ${REST_SKIPPED}`);
  Deno.test({
    name: `rest store passes the Auth.js adapter conformance suite (${REST_SKIPPED})`,
    ignore: true,
    fn() {},
  });
}
