-- Each row of user_session_daily gets its runs in two compact forms for paths, which read every
-- session of a range:
--   - codes, one character per run, the code of its activity type: paths find their anchors
--     with strpos, cut their steps with substr and count equal paths by hashing short strings,
--     instead of searching, slicing and hashing arrays of text;
--   - gaps, the seconds from each run's first event to the next run's: the time between two
--     steps is one element, instead of a difference of two timestamps turned into seconds.
-- Each activity type gets a code, for good, the first time a refresh meets it (in the order
-- met): single characters from '!' on, skipping the control characters after '~', so any number
-- of types has one.
-- The session rollup starts over, as it did with migration 010: its watermark row goes, so the
-- next refresh rebuilds every day with the new columns, and paths read raw rows until then (the
-- same results, slower). Written by analytics.RefreshRollups only.
create table bdc_analytics.activity_type_codes (
    activity_type text primary key,
    code          text not null unique check (length(code) = 1)
);
comment on table bdc_analytics.activity_type_codes is
    'The character of each activity type in user_session_daily.codes. Maintained by analytics.RefreshRollups.';

-- The code of the n-th activity type met, from 0.
create function bdc_analytics.activity_code(n bigint) returns text
language sql immutable strict parallel safe
return chr((case when n < 94 then 33 + n else 161 + n - 94 end)::integer);

delete from bdc_analytics.rollup_watermark where rollup = 'user_session_daily';
truncate bdc_analytics.user_session_daily;
alter table bdc_analytics.user_session_daily
    add column codes text not null,
    add column gaps float8[] not null,
    add constraint user_session_daily_runs_check
        check (length(codes) = cardinality(labels) and cardinality(gaps) = cardinality(labels) - 1);
comment on column bdc_analytics.user_session_daily.codes is
    'The code (activity_type_codes) of each run''s label, in order: one character per element of labels.';
comment on column bdc_analytics.user_session_daily.gaps is
    'Seconds from the first event of each run to the first event of the next: one element fewer than starts.';

---- create above / drop below ----
alter table bdc_analytics.user_session_daily
    drop constraint user_session_daily_runs_check,
    drop column gaps,
    drop column codes;
drop function bdc_analytics.activity_code(bigint);
drop table bdc_analytics.activity_type_codes;
