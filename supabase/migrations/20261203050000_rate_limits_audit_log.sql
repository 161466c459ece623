-- Rate limits and the audit log (security issue 7). Both are written by the functions only,
-- through the service role; nobody else may read or write them.

-- One row per (bucket, key): a window that starts at its first hit and lasts the rule's
-- length. The functions hit it with a single upsert, so the count holds across stateless
-- Edge isolates and concurrent requests (the row lock serialises them).
create table if not exists next_auth.rate_limits (
  bucket text not null,
  key text not null,
  window_start timestamptz not null default now(),
  hits integer not null default 1,
  constraint rate_limits_pkey primary key (bucket, key)
);
create index if not exists rate_limits_window_start_idx
  on next_auth.rate_limits (window_start);

-- Who did what, from where. user_id has no foreign key on purpose: the trail outlives the
-- user it describes. detail never holds tokens or secrets (the functions write only
-- allow-listed fields).
create table if not exists next_auth.audit_log (
  id bigint generated always as identity,
  created_at timestamptz not null default now(),
  event text not null,
  user_id uuid,
  ip text,
  user_agent text,
  provider text,
  detail jsonb not null default '{}'::jsonb,
  constraint audit_log_pkey primary key (id)
);
create index if not exists audit_log_user_id_idx
  on next_auth.audit_log (user_id, created_at);
create index if not exists audit_log_created_at_idx
  on next_auth.audit_log (created_at);

revoke all on next_auth.rate_limits, next_auth.audit_log from public, anon, authenticated;
grant all on next_auth.rate_limits, next_auth.audit_log to service_role;
