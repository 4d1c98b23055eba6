-- Activity per user per calendar month (Europe/Paris) of the daily activity rollup: the days
-- active, events, last event and feature bits of the month's rows of user_activity_daily. Queries
-- that aggregate activity per user over whole months (segments, engagement, the days active per
-- month of stickiness) read one row per user and month instead of one per user and day, about a
-- fifth as many. A month's row is complete once the daily rollup covers the whole month; before
-- that it holds the days covered so far, and queries read that month from the daily rollup.
-- Written by analytics.RefreshRollups after the daily rows: every month with a day recomputed is
-- recomputed from its daily rows. Rows go in month order, so that a range of months is a range of
-- pages.
create table bdc_analytics.user_activity_monthly (
    month         date        not null check (extract(day from month) = 1),
    user_id       bigint      not null,
    days          integer     not null check (days > 0),
    events        bigint      not null check (events > 0),
    last_event_at timestamptz not null,
    feature_mask  bigint      not null,
    primary key (month, user_id)
);
comment on table bdc_analytics.user_activity_monthly is
    'Activity per user per Europe/Paris month, from user_activity_daily. Maintained by analytics.RefreshRollups.';

-- The daily rollup in place covers its days already: their months come from it.
insert into bdc_analytics.user_activity_monthly (month, user_id, days, events, last_event_at, feature_mask)
select date_trunc('month', day)::date, user_id, count(*), sum(event_count), max(last_event_at), bit_or(feature_mask)
from bdc_analytics.user_activity_daily
group by 1, 2
order by 1, 2;
analyze bdc_analytics.user_activity_monthly;

---- create above / drop below ----
drop table bdc_analytics.user_activity_monthly;
