import assert from "node:assert/strict";
import { actionSegments, toPublicUrl } from "./public_url.ts";

const PUBLIC = new URL("https://abc.supabase.co/functions/v1");

Deno.test("toPublicUrl() puts the stripped prefix back on the public origin", () => {
  const url = toPublicUrl(
    new URL("http://kong:8000/callback/email?token=t&email=a%40b.c"),
    PUBLIC,
  );
  assert.equal(
    url.href,
    "https://abc.supabase.co/functions/v1/callback/email?token=t&email=a%40b.c",
  );
});

Deno.test("toPublicUrl() keeps a path that already carries the base path", () => {
  const url = toPublicUrl(
    new URL("http://localhost/functions/v1/session"),
    PUBLIC,
  );
  assert.equal(url.href, "https://abc.supabase.co/functions/v1/session");
});

Deno.test("toPublicUrl() works with a root base path (custom domain)", () => {
  const url = toPublicUrl(
    new URL("http://kong:8000/csrf"),
    new URL("https://auth.example.com"),
  );
  assert.equal(url.href, "https://auth.example.com/csrf");
});

Deno.test("toPublicUrl() keeps the public origin whatever the path looks like", () => {
  for (const root of [PUBLIC, new URL("https://auth.example.com")]) {
    for (const path of ["//evil.example/x", "/\\evil.example/x", "/a/%2e%2e/b", "/@evil.example"]) {
      const url = toPublicUrl(new URL(`http://kong:8000${path}?q=%2F#frag`), root);
      assert.equal(url.origin, root.origin, path);
      assert.equal(url.search, "?q=%2F");
      assert.equal(url.hash, "");
    }
  }
  assert.equal(
    toPublicUrl(new URL("http://kong:8000//evil.example/x"), new URL("https://auth.example.com"))
      .href,
    "https://auth.example.com//evil.example/x",
  );
});

Deno.test("actionSegments() splits action and provider", () => {
  assert.deepEqual(
    actionSegments(
      new URL("https://x/functions/v1/callback/email"),
      "/functions/v1",
    ),
    ["callback", "email"],
  );
  assert.deepEqual(
    actionSegments(new URL("https://x/functions/v1/session/"), "/functions/v1"),
    [
      "session",
    ],
  );
});
