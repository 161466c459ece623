-- Passkeys: when each authenticator was registered and last used (what a user sees when listing
-- their passkeys), and the two writes that must happen together. A passkey is two rows: its
-- `accounts` row (type 'webauthn', "providerAccountId" = the credential id), through which
-- Auth.js finds the user, and its `authenticators` row, which holds the public key. Either
-- without the other is useless, so both drivers write and remove them as one statement
-- (`sql` directly, `rest` through PostgREST's rpc). Defaulted or nullable columns only: the
-- community adapter's rows and readers stay valid.
alter table next_auth.authenticators
  add column if not exists "createdAt" timestamptz not null default now(),
  add column if not exists "lastUsedAt" timestamptz;

create or replace function next_auth.create_passkey(
  p_user_id uuid,
  p_type text,
  p_provider text,
  p_provider_account_id text,
  p_credential_id text,
  p_public_key text,
  p_counter bigint,
  p_device_type text,
  p_backed_up boolean,
  p_transports text
) returns setof next_auth.authenticators
  language sql
  security invoker
  set search_path = ''
as $$
  with account as (
    insert into next_auth.accounts ("userId", type, provider, "providerAccountId")
    values (p_user_id, p_type, p_provider, p_provider_account_id)
  )
  insert into next_auth.authenticators ("credentialID", "userId", "providerAccountId",
    "credentialPublicKey", counter, "credentialDeviceType", "credentialBackedUp", transports)
  values (p_credential_id, p_user_id, p_provider_account_id, p_public_key, p_counter,
    p_device_type, p_backed_up, p_transports)
  returning *;
$$;

-- Removes one of a user's passkeys and its account row; only that user's rows can match.
-- Returns how many passkeys went (0 or 1).
create or replace function next_auth.delete_passkey(
  p_user_id uuid,
  p_credential_id text
) returns integer
  language sql
  security invoker
  set search_path = ''
as $$
  with gone as (
    delete from next_auth.authenticators
    where "userId" = p_user_id and "credentialID" = p_credential_id
    returning "providerAccountId"
  ), unlinked as (
    delete from next_auth.accounts a
    using gone
    where a."userId" = p_user_id and a.type = 'webauthn'
      and a."providerAccountId" = gone."providerAccountId"
  )
  select count(*)::integer from gone;
$$;

revoke all on function next_auth.create_passkey(uuid, text, text, text, text, text, bigint, text,
  boolean, text) from public, anon, authenticated;
grant execute on function next_auth.create_passkey(uuid, text, text, text, text, text, bigint,
  text, boolean, text) to service_role;
revoke all on function next_auth.delete_passkey(uuid, text) from public, anon, authenticated;
grant execute on function next_auth.delete_passkey(uuid, text) to service_role;
