-- Activity events per calendar day (Europe/Paris) and activity type, for the days the daily
-- activity rollup covers (rollup_watermark.covered_until of user_activity_daily): the counter
-- bdc_activity_events_total sums it and counts raw rows only for the days after. Written by
-- analytics.RefreshRollups in the same transaction as user_activity_daily.
create table bdc_analytics.activity_type_daily (
    day           date   not null,
    activity_type text   not null,
    events        bigint not null check (events > 0),
    primary key (day, activity_type)
);
comment on table bdc_analytics.activity_type_daily is
    'Activity events per Europe/Paris day and type, for the days user_activity_daily covers. Maintained by analytics.RefreshRollups.';

-- A rollup built before this table existed covers days this table must cover too.
insert into bdc_analytics.activity_type_daily (day, activity_type, events)
select d.day, t.key, sum(t.value::bigint)
from bdc_analytics.user_activity_daily d, jsonb_each_text(d.type_counts) as t
group by d.day, t.key;

---- create above / drop below ----
drop table bdc_analytics.activity_type_daily;
