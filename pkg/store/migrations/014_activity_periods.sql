-- Activity per user per calendar week (Monday to Sunday) and per calendar month, Europe/Paris,
-- summed from the daily activity rollup: the days active, events, last event, feature bits and
-- feature counts of the period's rows of user_activity_daily. Queries that aggregate activity per
-- user over whole periods (segments and engagement over months, the days active per month of
-- stickiness, feature usage by week or month) read one row per user and period instead of one
-- per user and day. A period's row is complete once the daily rollup covers the whole period;
-- before that it holds the days covered so far, and queries read that period from the daily
-- rollup. Rows go in period order, so that a range of periods is a range of pages.
create table bdc_analytics.user_activity_weekly (
    start          date        not null check (extract(isodow from start) = 1),
    user_id        bigint      not null,
    days           integer     not null check (days between 1 and 7),
    events         bigint      not null check (events > 0),
    last_event_at  timestamptz not null,
    feature_mask   bigint      not null,
    feature_counts jsonb       not null,
    primary key (start, user_id)
);
comment on table bdc_analytics.user_activity_weekly is
    'Activity per user per Europe/Paris week (from Monday), from user_activity_daily. Maintained by analytics.RefreshRollups.';

create table bdc_analytics.user_activity_monthly (
    start          date        not null check (extract(day from start) = 1),
    user_id        bigint      not null,
    days           integer     not null check (days between 1 and 31),
    events         bigint      not null check (events > 0),
    last_event_at  timestamptz not null,
    feature_mask   bigint      not null,
    feature_counts jsonb       not null,
    primary key (start, user_id)
);
comment on table bdc_analytics.user_activity_monthly is
    'Activity per user per Europe/Paris month, from user_activity_daily. Maintained by analytics.RefreshRollups.';

-- Recomputes every week and month that holds a day of [lo, hi) or of touched from its rows of
-- user_activity_daily; when lo is null, every period (the tables are emptied first). Periods
-- whose days have no rows keep none. analytics.RefreshRollups calls it after writing the daily
-- rows of those days, in the same transaction; below, this migration for the rollup in place.
-- Returns the rows written.
create function bdc_analytics.write_activity_periods(lo date, hi date, touched date[]) returns bigint
language plpgsql as $function$
declare
    unit    text;
    starts  date[];
    written bigint := 0;
    n       bigint;
begin
    foreach unit in array array['week', 'month'] loop
        if lo is null then
            execute format('delete from bdc_analytics.user_activity_%sly', unit);
        end if;
        select array_agg(distinct date_trunc(unit, d.day)::date) into starts
        from bdc_analytics.user_activity_daily d
        where lo is null or (d.day >= lo and d.day < hi) or d.day = any(touched);
        if lo is not null then
            execute format('delete from bdc_analytics.user_activity_%sly where start = any($1)', unit) using starts;
        end if;
        execute format($sql$
            with d as materialized (
                select s.start, o.user_id, o.event_count, o.last_event_at, o.feature_mask, o.feature_counts
                from unnest($1::date[]) as s(start)
                join bdc_analytics.user_activity_daily o
                    on o.day >= s.start and o.day < (s.start + interval '1 %1$s')::date
            ),
            counts as (
                select start, user_id, jsonb_object_agg(key, n) as counts
                from (select d.start, d.user_id, c.key, sum(c.value::bigint) as n
                      from d, jsonb_each_text(d.feature_counts) as c group by 1, 2, 3) f
                group by 1, 2
            )
            insert into bdc_analytics.user_activity_%1$sly
                (start, user_id, days, events, last_event_at, feature_mask, feature_counts)
            select a.start, a.user_id, a.days, a.events, a.last_at, a.mask, coalesce(c.counts, '{}')
            from (select start, user_id, count(*) as days, sum(event_count) as events, max(last_event_at) as last_at,
                      bit_or(feature_mask) as mask
                  from d group by 1, 2) a
            left join counts c on c.start = a.start and c.user_id = a.user_id
            order by 1, 2
        $sql$, unit) using starts;
        get diagnostics n = row_count;
        written := written + n;
    end loop;
    return written;
end
$function$;

select bdc_analytics.write_activity_periods(null, null, null);
analyze bdc_analytics.user_activity_weekly, bdc_analytics.user_activity_monthly;

---- create above / drop below ----
drop function bdc_analytics.write_activity_periods(date, date, date[]);
drop table bdc_analytics.user_activity_monthly;
drop table bdc_analytics.user_activity_weekly;
