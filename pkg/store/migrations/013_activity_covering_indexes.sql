-- Covering indexes for the activity rows of one type or one feature over a time range (funnel
-- steps, retention and lifecycle events, paths' start points): with user_id in the index, such a
-- read is an index-only scan of the rows it keeps instead of a visit to every row of the range
-- (a funnel step "feature:calendar" keeps a fifth of them). Like the canonical schema, only on
-- the demo's tables: a platform whose bdc.user_activities is a view creates the equivalent
-- indexes on its own table (README, "The data it reads").
do $migration$
begin
if coalesce((select relkind from pg_class where oid = to_regclass('bdc.user_activities')), '-') not in ('r', 'p') then
    raise notice 'bdc.user_activities is not a table: leaving its indexes to the platform';
    return;
end if;
drop index if exists bdc.user_activities_type_idx;
create index user_activities_type_idx on bdc.user_activities (activity_type, occurred_at) include (user_id);
create index user_activities_feature_idx on bdc.user_activities (feature, occurred_at) include (user_id)
    where feature is not null;
end
$migration$;

---- create above / drop below ----
do $migration$
begin
if coalesce((select relkind from pg_class where oid = to_regclass('bdc.user_activities')), '-') not in ('r', 'p') then
    return;
end if;
drop index if exists bdc.user_activities_feature_idx;
drop index if exists bdc.user_activities_type_idx;
create index user_activities_type_idx on bdc.user_activities (activity_type, occurred_at);
end
$migration$;
