-- Supabase's standard roles, created only where they are missing.
-- A hosted project (and `supabase start`) already has them, so this is a no-op there;
-- on plain PostgreSQL or the embedded PGlite it lets the migrations name them.
-- Applied by `supabase db push --include-roles` before the migrations.
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (select 1 from pg_roles where rolname = r) then
      execute format('create role %I nologin noinherit', r);
    end if;
  end loop;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator noinherit login;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;
