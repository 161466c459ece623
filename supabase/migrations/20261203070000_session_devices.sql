-- Session management (database sessions): which device a session belongs to and when it was
-- last extended, so a signed-in user can list their sessions and revoke them. Nullable or
-- defaulted columns only: the community adapter's rows and readers stay valid.
alter table next_auth.sessions
  add column if not exists "userAgent" text,
  add column if not exists ip text,
  add column if not exists "createdAt" timestamptz not null default now(),
  add column if not exists "lastSeenAt" timestamptz not null default now();
