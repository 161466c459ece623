import postgres from "postgres";
import { openDatabase } from "../dev/database.ts";
import { createSqlStore } from "../supabase/functions/_shared/store/sql.ts";
import { SERVER_URL } from "./support/env.ts";
import { type DbReader, storeConformance } from "./support/store_conformance.ts";

type Row = Record<string, unknown>;
const compact = (row: Row | undefined) =>
  row ? Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null)) : null;

storeConformance(
  `sql (${SERVER_URL ? "PostgreSQL" : "embedded PGlite"})`,
  async () => {
    const database = await openDatabase({
      serverUrl: SERVER_URL,
      fresh: true,
      quiet: true,
    });
    const store = createSqlStore({ url: database.url });
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
          await sql`select * from next_auth.sessions where "sessionToken" = ${token}`,
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
  },
);
