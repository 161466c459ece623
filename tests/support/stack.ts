/**
 * Starts the local stack for a test file, on free ports, against the embedded database or
 * a fresh database on `DATABASE_URL`'s server.
 */
import { type LocalStack, type LocalStackOptions, startLocalStack } from "../../dev/stack.ts";
import type { Env } from "../../supabase/functions/_shared/config.ts";
import { SERVER_URL, TEST_SECRET } from "./env.ts";

export type { LocalStack };

export function startTestStack(
  env: Env = {},
  options: Pick<LocalStackOptions, "log" | "databaseProxy"> = {},
): Promise<LocalStack> {
  return startLocalStack({
    databaseUrl: SERVER_URL,
    freshDatabase: true,
    dbPort: 0,
    gatewayPort: 0,
    smtpPort: 0,
    mailPort: 0,
    env: { AUTH_SECRET: TEST_SECRET, ...env },
    load: "handlers",
    quiet: true,
    ...options,
  });
}
