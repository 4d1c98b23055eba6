-- The rollup refresh (pkg/analytics, run by the reporter) must read the highest id of
-- bdc.user_activities below which every row is committed: it waits for in-flight inserts by
-- taking a SHARE lock on the table. PostgreSQL lets only roles that may write a table lock it
-- in that mode, and the reporter's role only reads bdc; this function, owned by the schema
-- owner who runs the migrations, takes the lock for it. The lock is held until the caller's
-- transaction ends, so the caller reads max(id) in the same transaction.
-- Only the reporter's role may call it (deploy/postgres/roles.sql): a SHARE lock blocks inserts.
create function bdc_analytics.lock_activity_writers() returns void
    language plpgsql security definer set search_path = pg_catalog, pg_temp
as $$
begin
    lock table bdc.user_activities in share mode;
end
$$;
revoke execute on function bdc_analytics.lock_activity_writers() from public;
comment on function bdc_analytics.lock_activity_writers() is
    'Waits for in-flight inserts into bdc.user_activities (SHARE lock until the end of the caller''s transaction), for the rollup refresh of a read-only role.';

---- create above / drop below ----
drop function bdc_analytics.lock_activity_writers();
