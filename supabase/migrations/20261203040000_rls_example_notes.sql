-- An example of Row Level Security as the Auth.js user: each signed-in user sees and changes
-- only their own notes. PostgREST runs a request with an access token from the
-- `access-token` function as role `authenticated`, with the token's claims in
-- `request.jwt.claims`; next_auth.uid() reads `sub` (= next_auth.users.id) from them.
-- Copy the pattern for your own tables (auth.uid() works the same on a hosted project).

create table if not exists public.notes (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null default next_auth.uid()
    references next_auth.users (id) on delete cascade,
  body text not null check (length(body) <= 10000),
  created_at timestamptz not null default now(),
  constraint notes_pkey primary key (id)
);
create index if not exists notes_user_id_idx on public.notes (user_id);

alter table public.notes enable row level security;

drop policy if exists "notes: owners read" on public.notes;
create policy "notes: owners read" on public.notes
  for select to authenticated using (user_id = next_auth.uid());
drop policy if exists "notes: owners add" on public.notes;
create policy "notes: owners add" on public.notes
  for insert to authenticated with check (user_id = next_auth.uid());
drop policy if exists "notes: owners change" on public.notes;
create policy "notes: owners change" on public.notes
  for update to authenticated
  using (user_id = next_auth.uid()) with check (user_id = next_auth.uid());
drop policy if exists "notes: owners remove" on public.notes;
create policy "notes: owners remove" on public.notes
  for delete to authenticated using (user_id = next_auth.uid());

-- A hosted project's default privileges grant new public tables to anon and authenticated:
-- take them back, then grant only what the policies need. Signed-out (anon) gets nothing.
revoke all on public.notes from public, anon, authenticated;
grant select, insert, update, delete on public.notes to authenticated;
grant all on public.notes to service_role;
