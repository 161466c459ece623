-- Second factor (TOTP, RFC 6238) with single-use recovery codes, and the assurance level of
-- database sessions. The TOTP secret is stored encrypted (AES-256-GCM under a key derived
-- from AUTH_SECRET, bound to the user); recovery codes only as SHA-256 hashes. Only
-- service_role (and the owner) may touch either; anon and authenticated get nothing.

-- One TOTP factor per user: pending until confirmed with a first code ("confirmedAt").
-- "lastUsedStep" is the newest time step a code was accepted for: a code is taken only for
-- a later step, set in the same UPDATE that checks it, so no code works twice.
create table if not exists next_auth.mfa_factors (
  id uuid not null default gen_random_uuid(),
  "userId" uuid not null,
  type text not null default 'totp',
  secret text not null,
  "confirmedAt" timestamptz,
  "lastUsedStep" bigint,
  "createdAt" timestamptz not null default now(),
  constraint mfa_factors_pkey primary key (id),
  constraint mfa_factors_type_check check (type in ('totp')),
  constraint "mfa_factors_userId_type_unique" unique ("userId", type),
  constraint "mfa_factors_userId_fkey" foreign key ("userId")
    references next_auth.users (id) on delete cascade
);

-- Recovery codes: SHA-256 of "<userId>:<code>"; a use deletes the row (DELETE ... RETURNING).
create table if not exists next_auth.mfa_recovery_codes (
  "userId" uuid not null,
  "codeHash" text not null,
  "createdAt" timestamptz not null default now(),
  constraint mfa_recovery_codes_pkey primary key ("userId", "codeHash"),
  constraint "mfa_recovery_codes_userId_fkey" foreign key ("userId")
    references next_auth.users (id) on delete cascade
);

-- Database sessions: how they were authenticated (Supabase's aal and amr). A session whose
-- user has a confirmed factor is partial until its aal is aal2. Defaults keep the community
-- adapter's rows and readers valid.
alter table next_auth.sessions
  add column if not exists aal text not null default 'aal1',
  add column if not exists amr jsonb;
do $$
begin
  alter table next_auth.sessions
    add constraint sessions_aal_check check (aal in ('aal1', 'aal2'));
exception when duplicate_object then null;
end
$$;

revoke all on next_auth.mfa_factors, next_auth.mfa_recovery_codes
  from public, anon, authenticated;
grant all on next_auth.mfa_factors, next_auth.mfa_recovery_codes to service_role;

-- The request's assurance level for RLS policies, like next_auth.uid(): `aal2` when the
-- access token came from a session proven with a second factor. E.g.
--   create policy ... using (user_id = next_auth.uid() and next_auth.aal() = 'aal2');
-- (auth.jwt() ->> 'aal' reads the same claim on a hosted project.)
create or replace function next_auth.aal() returns text
  language sql stable
  as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.aal', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'aal')
  )
$$;
revoke all on function next_auth.aal() from public;
grant execute on function next_auth.aal() to anon, authenticated, service_role;
