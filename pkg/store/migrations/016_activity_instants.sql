-- The instants of each user's activity per Europe/Paris month, by activity type and by feature,
-- sorted: ordered funnels, which follow each user's events of each step in time order, read one
-- sorted array per user, step and month instead of every event of the range, sorted again on
-- every query. A month's row holds the days of the month that the rollup covers; the engine reads
-- raw rows for the days after. An event with a feature is in two rows, its type's and its
-- feature's.
-- The rollup has its own row in rollup_watermark, 'user_activity_instants', and starts empty, as
-- the session rollup did (migration 010): the next refresh builds it whole, and funnels read raw
-- rows until then (the same results, slower). Written by analytics.RefreshRollups only, which
-- rewrites whole months: those holding a day it recomputes.
create table bdc_analytics.user_activity_instants (
    dimension "char"        not null check (dimension in ('t', 'f')), -- 't': activity_type, 'f': feature
    name      text          not null, -- the activity type or the feature
    month     date          not null check (extract(day from month) = 1),
    user_id   bigint        not null,
    instants  timestamptz[] not null check (cardinality(instants) > 0),
    primary key (dimension, name, month, user_id)
);
comment on table bdc_analytics.user_activity_instants is
    'Activity instants per activity type or feature, Europe/Paris month and user, for the days before the covered_until of its rollup_watermark row. Maintained by analytics.RefreshRollups.';
comment on column bdc_analytics.user_activity_instants.instants is
    'occurred_at of every event of the user with that activity type (or feature) in the month, ascending, repeated instants included.';

-- Concatenates arrays in the aggregate's order: funnels join a user's months, in month order,
-- into one sorted array (array_agg cannot, for arrays of different lengths).
create aggregate bdc_analytics.array_cat_agg(anycompatiblearray) (
    sfunc = array_cat,
    stype = anycompatiblearray,
    parallel = safe
);

---- create above / drop below ----
drop aggregate bdc_analytics.array_cat_agg(anycompatiblearray);
delete from bdc_analytics.rollup_watermark where rollup = 'user_activity_instants';
drop table bdc_analytics.user_activity_instants;
