-- Token mode: one-time codes a frontend exchanges (with its PKCE verifier) for a bearer
-- session. Only a SHA-256 hash of each code is kept; the session it stands for is stored
-- encrypted. Rows are consumed with DELETE ... RETURNING, so a code works at most once.
create table if not exists next_auth.token_codes (
  code_hash text primary key,
  code_challenge text not null,
  redirect_origin text not null,
  session text not null,
  expires timestamptz not null
);

create index if not exists token_codes_expires_idx on next_auth.token_codes (expires);

revoke all on next_auth.token_codes from public, anon, authenticated;
grant all on next_auth.token_codes to service_role;
