-- Daily activity rollup for the analytics (pkg/analytics): one row per user per calendar day.
-- The day is the calendar day in the platform time zone, Europe/Paris; analytics queries in
-- another time zone cannot use it and read bdc.user_activities instead. The rollup covers the
-- days before rollup_watermark.covered_until; queries read raw rows for the days after, so a
-- query gives the same result before the first refresh, after it, and in between.
-- Written only by analytics.RefreshRollups (the reporter); no foreign keys, because a real
-- platform maps bdc onto its own tables with views.
create table bdc_analytics.user_activity_daily (
    user_id        bigint      not null,
    day            date        not null,
    event_count    integer     not null check (event_count > 0),
    session_count  integer     not null check (session_count >= 0),
    type_counts    jsonb       not null, -- {"login": 2, "page_view": 7}: events per activity_type
    feature_counts jsonb       not null, -- {"dashboard": 4}: events per feature (null feature left out)
    first_event_at timestamptz not null,
    last_event_at  timestamptz not null,
    primary key (user_id, day)
);
create index user_activity_daily_day_idx on bdc_analytics.user_activity_daily (day);
comment on table bdc_analytics.user_activity_daily is
    'Activity per user per calendar day in Europe/Paris, for the days before rollup_watermark.covered_until. Maintained by analytics.RefreshRollups.';
comment on column bdc_analytics.user_activity_daily.day is
    'Calendar day in Europe/Paris (the platform time zone), not UTC.';
comment on column bdc_analytics.user_activity_daily.session_count is
    'Distinct non-null session_id of the day; a session across midnight counts on both days.';

-- How far each rollup goes: covered_until is the first day it does not cover; last_id the
-- highest bdc.user_activities id it has read, so a refresh finds the days touched since.
create table bdc_analytics.rollup_watermark (
    rollup        text        primary key,
    last_id       bigint      not null,
    covered_until date        not null,
    refreshed_at  timestamptz not null
);
comment on table bdc_analytics.rollup_watermark is
    'Per rollup: days before covered_until are rolled up from the rows with id <= last_id.';

---- create above / drop below ----
drop table bdc_analytics.rollup_watermark;
drop table bdc_analytics.user_activity_daily;
