import assert from "node:assert/strict";
import { BUILTIN_PROVIDER_IDS } from "./builtin_provider_ids.ts";
import { BUILTIN_PROVIDERS } from "./builtin_providers.ts";

Deno.test("the built-in provider ids name exactly the built-in provider modules", () => {
  assert.deepEqual([...BUILTIN_PROVIDER_IDS].sort(), Object.keys(BUILTIN_PROVIDERS).sort());
});
