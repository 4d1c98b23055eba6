-- The features each user used each day as a bit mask, so that engagement and segments count a
-- user's distinct features over a range with one bit_or per user instead of expanding every
-- day's feature counts. Each feature gets a bit, for good, the first time a refresh meets it
-- (0 to 62, in the order met); a platform with more features keeps the rest by name in
-- extra_features, which queries count apart. Days after the rollup's coverage are read raw,
-- by name. Written by analytics.RefreshRollups only.
create table bdc_analytics.feature_bits (
    feature text     primary key,
    bit     smallint not null unique check (bit between 0 and 62)
);
comment on table bdc_analytics.feature_bits is
    'The bit of each feature in user_activity_daily.feature_mask (at most 63 features; the others stay in extra_features). Maintained by analytics.RefreshRollups.';

alter table bdc_analytics.user_activity_daily
    add column feature_mask bigint not null default 0,
    add column extra_features text[];
comment on column bdc_analytics.user_activity_daily.feature_mask is
    'The features of the day (keys of feature_counts) as bits of feature_bits.';
comment on column bdc_analytics.user_activity_daily.extra_features is
    'The features of the day without a bit in feature_bits, null when there is none.';

-- The rows in place: their features get bits in order of first use, then masks.
insert into bdc_analytics.feature_bits (feature, bit)
select feature, (row_number() over (order by first_day, feature) - 1)::smallint
from (select f.feature, min(d.day) as first_day
      from bdc_analytics.user_activity_daily d, jsonb_object_keys(d.feature_counts) as f(feature)
      group by f.feature) f
order by first_day, feature
limit 63;
update bdc_analytics.user_activity_daily d set feature_mask = m.mask, extra_features = m.extra
from (select d.user_id, d.day, coalesce(bit_or(1::bigint << b.bit), 0) as mask,
        array_agg(f.feature order by f.feature) filter (where b.bit is null) as extra
      from bdc_analytics.user_activity_daily d
      cross join jsonb_object_keys(d.feature_counts) as f(feature)
      left join bdc_analytics.feature_bits b on b.feature = f.feature
      group by d.user_id, d.day) m
where d.user_id = m.user_id and d.day = m.day;

-- A second index by day carries what the activity of engagement and segments reads; the first
-- stays narrow for lifecycle and stickiness, which read twice as many days.
create index user_activity_daily_day_activity_idx on bdc_analytics.user_activity_daily (day)
    include (user_id, event_count, last_event_at, feature_mask);
create index user_activity_daily_extra_idx on bdc_analytics.user_activity_daily (day) where extra_features is not null;
analyze bdc_analytics.user_activity_daily;

---- create above / drop below ----
drop index bdc_analytics.user_activity_daily_extra_idx;
drop index bdc_analytics.user_activity_daily_day_activity_idx;
alter table bdc_analytics.user_activity_daily drop column feature_mask, drop column extra_features;
drop table bdc_analytics.feature_bits;
