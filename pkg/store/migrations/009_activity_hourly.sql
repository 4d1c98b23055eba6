-- Activity events per user per UTC hour, for the days the daily activity rollup covers
-- (rollup_watermark.covered_until of user_activity_daily): the activity heatmap reads it instead
-- of every event, in any time zone a whole number of hours from UTC, and raw rows only for the
-- rest of its range. Written by analytics.RefreshRollups in the same statement as
-- user_activity_daily, from the same rows.
create table bdc_analytics.user_activity_hourly (
    user_id bigint      not null,
    hour    timestamptz not null, -- the top of the UTC hour
    day     date        not null, -- the Europe/Paris day the hour lies in, for the refresh
    events  integer     not null check (events > 0),
    primary key (user_id, hour)
);
create index user_activity_hourly_hour_idx on bdc_analytics.user_activity_hourly (hour) include (user_id, events);
create index user_activity_hourly_day_idx on bdc_analytics.user_activity_hourly (day);
comment on table bdc_analytics.user_activity_hourly is
    'Activity events per user per UTC hour, for the days user_activity_daily covers. Maintained by analytics.RefreshRollups.';

-- A rollup built before this table existed covers days this table must cover too, from the
-- same rows (those up to its watermark). Without one there is nothing to fill, and the platform's
-- activity table is not read (a platform may map bdc onto views created later).
do $$
begin
    if exists (select 1 from bdc_analytics.rollup_watermark where rollup = 'user_activity_daily') then
        insert into bdc_analytics.user_activity_hourly (user_id, hour, day, events)
        select x.user_id, date_trunc('hour', x.occurred_at, 'UTC'), (x.occurred_at at time zone 'Europe/Paris')::date, count(*)
        from bdc.user_activities x
        join bdc_analytics.rollup_watermark w on w.rollup = 'user_activity_daily'
        where x.id <= w.last_id and x.occurred_at < (w.covered_until::timestamp at time zone 'Europe/Paris')
        group by 1, 2, 3;
    end if;
end
$$;
analyze bdc_analytics.user_activity_hourly;

---- create above / drop below ----
drop table bdc_analytics.user_activity_hourly;
