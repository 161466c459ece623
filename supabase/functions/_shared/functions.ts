/**
 * Every deployable function by name, with the factory of its handler: the Auth.js actions
 * (one `createHandler` each) and the functions beyond them. The local gateway builds its
 * handlers from here; each `supabase/functions/<name>/index.ts` calls the same factory.
 *
 * @example
 * ```ts
 * const handler = FUNCTION_FACTORIES.password?.({ config });
 * ```
 */
import { createHandler, FUNCTION_GROUPS, type FunctionGroup, type HandlerDeps } from "./handler.ts";
import { createAccessTokenHandler } from "./access_token_handler.ts";
import { createAccountHandler } from "./account_handler.ts";
import { createMfaHandler } from "./mfa_handler.ts";
import { exampleProtected } from "./example_protected.ts";
import { createOidcHandler } from "./oidc_handler.ts";
import { createOAuth1Handler } from "./oauth1/handler.ts";
import { createPasswordHandler } from "./password_handler.ts";
import { createSessionGuard, protect } from "./protect.ts";
import { createTokenHandler } from "./token.ts";
import { loadConfig } from "./config.ts";

export type HandlerFactory = (deps: HandlerDeps) => (req: Request) => Promise<Response>;

export const FUNCTION_FACTORIES: Record<string, HandlerFactory> = {
  ...Object.fromEntries(
    (Object.keys(FUNCTION_GROUPS) as FunctionGroup[]).map((group) => [
      group,
      (deps: HandlerDeps) => createHandler(group, deps),
    ]),
  ),
  password: createPasswordHandler,
  "access-token": createAccessTokenHandler,
  account: createAccountHandler,
  mfa: createMfaHandler,
  token: createTokenHandler,
  oidc: createOidcHandler,
  oauth1: createOAuth1Handler,
  "example-protected": ({ config = loadConfig(Deno.env.toObject()), log }) =>
    protect(exampleProtected, { config, guard: createSessionGuard(config), log }),
};
