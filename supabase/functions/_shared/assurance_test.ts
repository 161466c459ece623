import assert from "node:assert/strict";
import {
  aalOf,
  addMethod,
  needsSecondFactor,
  readAmr,
  SECOND_FACTOR_WINDOW_SEC,
  secondFactorExpired,
  signInClaims,
  signInMethod,
  storedAssurance,
} from "./assurance.ts";

Deno.test("a session is partial exactly when its user has a factor and it was not proven with one", () => {
  const at = Date.UTC(2026, 11, 4);
  const claims = signInClaims({ account: { type: "email" }, enrolled: true, now: at });
  assert.deepEqual(claims, {
    aal: "aal1",
    amr: [{ method: "magiclink", timestamp: at / 1000 }],
    mfa: true,
  });
  assert.equal(needsSecondFactor(storedAssurance(claims)), true);
  const raised = { ...claims, amr: addMethod(claims.amr, { method: "totp", timestamp: 1 }) };
  assert.equal(needsSecondFactor(storedAssurance(raised)), false);
  assert.equal(needsSecondFactor(storedAssurance({ ...claims, mfa: false })), false);
  // A database row at aal2 counts even if its amr was lost.
  assert.equal(needsSecondFactor(storedAssurance({ aal: "aal2", mfa: true })), false);
  assert.equal(needsSecondFactor(storedAssurance({ mfa: true })), true);
});

Deno.test("amr names sign-ins as Supabase does, keeps one entry per method, drops junk", () => {
  const names = [
    [{ type: "email" }, "magiclink"],
    [{ type: "oauth" }, "oauth"],
    [{ type: "oidc" }, "oauth"],
    [{ type: "credentials" }, "password"],
    [{ type: "webauthn" }, "webauthn"],
    [undefined, "unknown"],
  ] as const;
  for (const [account, method] of names) assert.equal(signInMethod(account, 0).method, method);
  // A passkey sign-in (user verification required) is multi-factor on its own.
  assert.equal(aalOf([{ method: "webauthn", timestamp: 0 }]), "aal2");
  assert.equal(aalOf([{ method: "magiclink", timestamp: 0 }]), "aal1");
  assert.equal(aalOf([{ method: "recovery", timestamp: 0 }]), "aal2");
  const amr = addMethod(
    [{ method: "magiclink", timestamp: 1 }, { method: "totp", timestamp: 2 }],
    { method: "totp", timestamp: 3 },
  );
  assert.deepEqual(amr.map((e) => [e.method, e.timestamp]), [["magiclink", 1], ["totp", 3]]);
  assert.deepEqual(readAmr([{ method: "totp", timestamp: 1 }, { method: 5 }, "x", null]), [
    { method: "totp", timestamp: 1 },
  ]);
  assert.deepEqual(readAmr("nope"), []);
});

Deno.test("a partial session has SECOND_FACTOR_WINDOW_SEC from its sign-in, then it is over", () => {
  const signIn = { method: "magiclink", timestamp: 1_000_000 };
  const partial = { enrolled: true, aal: "aal1" as const, amr: [signIn] };
  const at = (seconds: number) => 1_000_000 + seconds;
  assert.equal(secondFactorExpired(partial, at(SECOND_FACTOR_WINDOW_SEC)), false);
  assert.equal(secondFactorExpired(partial, at(SECOND_FACTOR_WINDOW_SEC + 1)), true);
  // Since when is unknown (a database session older than the enrolment): over.
  assert.equal(secondFactorExpired({ ...partial, amr: [] }, at(0)), true);
  // Full sessions, and users without a factor, have no such deadline.
  const full = { ...partial, aal: "aal2" as const };
  assert.equal(secondFactorExpired(full, at(86_400)), false);
  assert.equal(secondFactorExpired({ ...partial, enrolled: false }, at(86_400)), false);
});
