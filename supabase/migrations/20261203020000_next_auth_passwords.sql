-- Username/password sign-in: one password hash per user, and the single-use tokens that
-- verify an address or reset a password. Hashes carry their algorithm and parameters
-- ($pbkdf2-sha256$i=...$salt$hash); tokens are stored as SHA-256 hex of the emailed value,
-- so a database dump gives no usable link. Only service_role (and the owner) may touch them.

create table if not exists next_auth.passwords (
  "userId" uuid not null,
  hash text not null,
  "updatedAt" timestamptz not null default now(),
  constraint passwords_pkey primary key ("userId"),
  constraint "passwords_userId_fkey" foreign key ("userId")
    references next_auth.users (id) on delete cascade
);

create table if not exists next_auth.password_tokens (
  token text not null,
  "userId" uuid not null,
  purpose text not null,
  expires timestamptz not null,
  constraint password_tokens_pkey primary key (token),
  constraint password_tokens_purpose_check check (purpose in ('verify', 'reset')),
  constraint "password_tokens_userId_fkey" foreign key ("userId")
    references next_auth.users (id) on delete cascade
);
create index if not exists "password_tokens_userId_idx" on next_auth.password_tokens ("userId");

revoke all on next_auth.passwords, next_auth.password_tokens from public, anon, authenticated;
grant all on next_auth.passwords, next_auth.password_tokens to service_role;
