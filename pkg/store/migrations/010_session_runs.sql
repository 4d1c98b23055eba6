-- Activity sessions per user per calendar day (Europe/Paris), as the runs of equal consecutive
-- activity types that the paths of pkg/analytics are made of: a session of page_view,
-- page_view, login, page_view is three runs (page_view ×2, login, page_view). The paths query
-- reads one row per session instead of every event, and raw rows only for the sessions the rows
-- cannot answer alone (cut by the range, spread over several days, or going on after the
-- coverage). A session across midnight has one row per day, each with spans_days set.
-- The rollup has its own row in rollup_watermark, 'user_session_daily': it covers the days
-- before that row's covered_until. It starts empty, so a platform migrated with a daily rollup
-- already in place gets its sessions on the next refresh, and paths read raw rows until then.
-- Written only by analytics.RefreshRollups, in the same transaction as user_activity_daily.
create table bdc_analytics.user_session_daily (
    day            date          not null,
    user_id        bigint        not null,
    session_id     text          not null,
    first_event_at timestamptz   not null,
    last_event_at  timestamptz   not null,
    labels         text[]        not null, -- activity_type of each run, in order
    starts         timestamptz[] not null, -- occurred_at of each run's first event
    runs           integer[]     not null, -- events in each run
    spans_days     boolean       not null default false, -- the session has a row on another day too
    primary key (day, user_id, session_id)
);
-- For the refresh, which flags every row of a session found on a new day; for paths, which
-- rebuild those sessions from raw rows.
create index user_session_daily_session_idx on bdc_analytics.user_session_daily (user_id, session_id);
create index user_session_daily_spans_idx on bdc_analytics.user_session_daily (day) where spans_days;
comment on table bdc_analytics.user_session_daily is
    'Activity per user, Europe/Paris day and session as runs of equal consecutive activity types, for the days before the covered_until of its rollup_watermark row. Maintained by analytics.RefreshRollups.';
comment on column bdc_analytics.user_session_daily.labels is
    'Events in order of occurred_at, then activity_type (byte order), then id; consecutive events of one type are one run.';

---- create above / drop below ----
delete from bdc_analytics.rollup_watermark where rollup = 'user_session_daily';
drop table bdc_analytics.user_session_daily;
