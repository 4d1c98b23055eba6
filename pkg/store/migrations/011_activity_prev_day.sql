-- Each user's previous day of activity on every row of the daily activity rollup: the lifecycle
-- and the trailing active users (WAU, MAU) of pkg/analytics read it instead of ordering every
-- user's days in a window. A user's first day has none. The day index carries it with user_id,
-- so that those queries read a range of days from the index alone, in parallel.
-- Written by analytics.RefreshRollups with the rows; a refresh that recomputes a day sets it
-- again on the later rows of the users active that day.
alter table bdc_analytics.user_activity_daily add column prev_day date check (prev_day < day);
comment on column bdc_analytics.user_activity_daily.prev_day is
    'The user''s previous day with activity (Europe/Paris) in the rollup, null on their first.';
update bdc_analytics.user_activity_daily t set prev_day = s.prev
from (select user_id, day, lag(day) over (partition by user_id order by day) as prev
      from bdc_analytics.user_activity_daily) s
where t.user_id = s.user_id and t.day = s.day and s.prev is not null;
drop index bdc_analytics.user_activity_daily_day_idx;
create index user_activity_daily_day_idx on bdc_analytics.user_activity_daily (day) include (user_id, prev_day);
analyze bdc_analytics.user_activity_daily;

---- create above / drop below ----
drop index bdc_analytics.user_activity_daily_day_idx;
alter table bdc_analytics.user_activity_daily drop column prev_day;
create index user_activity_daily_day_idx on bdc_analytics.user_activity_daily (day);
