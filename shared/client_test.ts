import assert from "node:assert/strict";
import { createAuthClient, type KeyValueStorage, s256 } from "./client.ts";

function memory(): KeyValueStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  };
}

Deno.test("s256() is the RFC 7636 example challenge", async () => {
  assert.equal(
    await s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
  );
});

Deno.test("token mode sends the bearer token, keeps a renewed one, and notifies subscribers", async () => {
  const storage = memory();
  storage.setItem("authjs.session-token", "old");
  const seen: string[] = [];
  const client = createAuthClient({
    baseUrl: "https://fn.example/functions/v1/",
    mode: "token",
    storage,
    broadcast: false,
    fetch: (input, init) => {
      seen.push(`${input} ${new Headers(init?.headers).get("Authorization")} ${init?.credentials}`);
      return Promise.resolve(Response.json({
        user: { email: "a@example.com" },
        expires: "2099-01-01T00:00:00Z",
        sessionToken: "new",
      }));
    },
  });
  const states: string[] = [];
  client.subscribe((s) => states.push(s.status));
  const session = await client.getSession();
  assert.deepEqual(seen, ["https://fn.example/functions/v1/session Bearer old omit"]);
  assert.equal(session?.user.email, "a@example.com");
  assert.equal("sessionToken" in session!, false, "the token never reaches callers");
  assert.equal(storage.getItem("authjs.session-token"), "new");
  assert.deepEqual(states, ["loading", "authenticated"]);
  client.destroy();
});

Deno.test("handleRedirectCallback() exchanges only a code whose state it started", async () => {
  const storage = memory();
  const bodies: unknown[] = [];
  const client = createAuthClient({
    baseUrl: "https://fn.example/functions/v1",
    mode: "token",
    storage,
    broadcast: false,
    fetch: (input, init) => {
      if (String(input).endsWith("/token")) {
        bodies.push(JSON.parse(String(init?.body)));
        return Promise.resolve(Response.json({ tokenType: "Bearer", sessionToken: "t1" }));
      }
      return Promise.resolve(Response.json({ user: { id: "u1" }, expires: "2099-01-01" }));
    },
  });
  assert.equal(
    await client.handleRedirectCallback("https://app.example/?code=x&state=nope"),
    false,
  );
  storage.setItem(
    "authjs.pending.s1",
    JSON.stringify({ verifier: "v".repeat(43), redirectUri: "https://app.example/" }),
  );
  assert.equal(await client.handleRedirectCallback("https://app.example/?code=c1&state=s1"), true);
  assert.deepEqual(bodies, [{
    code: "c1",
    code_verifier: "v".repeat(43),
    redirect_uri: "https://app.example/",
  }]);
  assert.equal(storage.getItem("authjs.session-token"), "t1");
  assert.equal(storage.getItem("authjs.pending.s1"), null, "a state is used once");
  client.destroy();
});

Deno.test("cookie mode sends credentials and the CSRF token on sign-out", async () => {
  const calls: string[] = [];
  const client = createAuthClient({
    baseUrl: "https://fn.example/functions/v1",
    broadcast: false,
    fetch: (input, init) => {
      calls.push(`${init?.method ?? "GET"} ${input} ${init?.credentials} ${init?.body ?? ""}`);
      if (String(input).endsWith("/csrf")) {
        return Promise.resolve(Response.json({ csrfToken: "c" }));
      }
      return Promise.resolve(Response.json({ url: "https://fn.example/functions/v1/signout" }));
    },
  });
  await client.signOut({ callbackUrl: "https://app.example/" });
  assert.equal(calls.length, 2);
  assert.match(calls[1]!, /^POST .*\/signout include .*csrfToken=c/);
  assert.equal(client.state.status, "unauthenticated");
  client.destroy();
});
