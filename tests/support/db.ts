/** Direct SQL access for asserting on stored rows. */
import postgres from "postgres";

export function connect(url: string) {
  return postgres(url, { max: 2, onnotice: () => {} });
}

/** Row counts of every next_auth table, to prove nothing was written. */
export async function countRows(url: string): Promise<Record<string, number>> {
  const sql = connect(url);
  try {
    const [row] = await sql`
      select (select count(*)::int from next_auth.users) as users,
             (select count(*)::int from next_auth.accounts) as accounts,
             (select count(*)::int from next_auth.sessions) as sessions,
             (select count(*)::int from next_auth.verification_tokens) as verification_tokens,
             (select count(*)::int from next_auth.authenticators) as authenticators,
             (select count(*)::int from next_auth.passwords) as passwords,
             (select count(*)::int from next_auth.password_tokens) as password_tokens`;
    return { ...row } as Record<string, number>;
  } finally {
    await sql.end();
  }
}
