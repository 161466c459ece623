-- One hit against a rate-limit rule, as one atomic statement, callable by both store drivers
-- (`sql` directly, `rest` through PostgREST's rpc). The window starts at the key's first hit
-- and lasts p_window_sec; an expired window restarts at this hit. Returns the hits in the
-- window (this one included) and the seconds until the window ends.
create or replace function next_auth.hit_rate_limit(
  p_bucket text,
  p_key text,
  p_window_sec integer
) returns table (hits integer, retry_after integer)
  language plpgsql
  security invoker
  set search_path = ''
as $$
begin
  -- SET sees the old row: an expired window restarts at this hit, a live one counts on.
  return query
  insert into next_auth.rate_limits as r (bucket, key, window_start, hits)
  values (p_bucket, p_key, now(), 1)
  on conflict (bucket, key) do update set
    window_start = case
      when r.window_start + make_interval(secs => p_window_sec) <= now() then now()
      else r.window_start end,
    hits = case
      when r.window_start + make_interval(secs => p_window_sec) <= now() then 1
      else r.hits + 1 end
  returning r.hits, greatest(1, ceil(extract(epoch from
    r.window_start + make_interval(secs => p_window_sec) - now())))::integer;
  -- Windows last at most a day: now and then, drop rows nobody can still be limited by.
  if random() < 0.01 then
    delete from next_auth.rate_limits where window_start < now() - interval '1 day';
  end if;
end
$$;

revoke all on function next_auth.hit_rate_limit(text, text, integer) from public, anon, authenticated;
grant execute on function next_auth.hit_rate_limit(text, text, integer) to service_role;
