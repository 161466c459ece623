-- The next_auth schema: the tables of the community Supabase adapter (same names, same
-- quoted camelCase columns, so existing data carries over) plus passkey authenticators.
-- Only service_role (what the Edge Functions connect as through the REST driver) and the
-- owner may touch it; anon and authenticated get nothing.

create schema if not exists next_auth;

revoke all on schema next_auth from public;
grant usage on schema next_auth to service_role;

create table if not exists next_auth.users (
  id uuid not null default gen_random_uuid(),
  name text,
  email text,
  "emailVerified" timestamptz,
  image text,
  constraint users_pkey primary key (id),
  constraint email_unique unique (email)
);

create table if not exists next_auth.sessions (
  id uuid not null default gen_random_uuid(),
  expires timestamptz not null,
  "sessionToken" text not null,
  "userId" uuid,
  constraint sessions_pkey primary key (id),
  constraint "sessionToken_unique" unique ("sessionToken"),
  constraint "sessions_userId_fkey" foreign key ("userId")
    references next_auth.users (id) on delete cascade
);
create index if not exists "sessions_userId_idx" on next_auth.sessions ("userId");

create table if not exists next_auth.accounts (
  id uuid not null default gen_random_uuid(),
  type text not null,
  provider text not null,
  "providerAccountId" text not null,
  refresh_token text,
  access_token text,
  expires_at bigint,
  token_type text,
  scope text,
  id_token text,
  session_state text,
  oauth_token_secret text,
  oauth_token text,
  "userId" uuid,
  constraint accounts_pkey primary key (id),
  constraint provider_unique unique (provider, "providerAccountId"),
  constraint "accounts_userId_fkey" foreign key ("userId")
    references next_auth.users (id) on delete cascade
);
create index if not exists "accounts_userId_idx" on next_auth.accounts ("userId");

create table if not exists next_auth.verification_tokens (
  identifier text,
  token text,
  expires timestamptz not null,
  constraint verification_tokens_pkey primary key (token),
  constraint token_unique unique (token),
  constraint token_identifier_unique unique (token, identifier)
);

-- Passkeys (WebAuthn), as Auth.js's Authenticator model describes them.
create table if not exists next_auth.authenticators (
  "credentialID" text not null,
  "userId" uuid not null,
  "providerAccountId" text not null,
  "credentialPublicKey" text not null,
  counter bigint not null,
  "credentialDeviceType" text not null,
  "credentialBackedUp" boolean not null,
  transports text,
  constraint authenticators_pkey primary key ("userId", "credentialID"),
  constraint "authenticators_credentialID_unique" unique ("credentialID"),
  constraint "authenticators_userId_fkey" foreign key ("userId")
    references next_auth.users (id) on delete cascade
);

-- The signed-in user's id for RLS policies, from the claims PostgREST sets per request.
create or replace function next_auth.uid() returns uuid
  language sql stable
  as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

revoke all on all tables in schema next_auth from public, anon, authenticated;
grant all on all tables in schema next_auth to service_role;
revoke all on function next_auth.uid() from public;
-- Policies evaluate uid() as the querying role, so the API roles may call it (it reads only
-- their own request settings).
grant usage on schema next_auth to anon, authenticated;
grant execute on function next_auth.uid() to anon, authenticated, service_role;
