set local enable_indexscan = off;
with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b
  where true
),
ua as not materialized (
  select x.user_id, sum(x.days)::int as days, sum(x.n)::bigint as events, max(x.last_at) as last_at, bit_or(x.mask) as mask
  from (select r.user_id, r.days, r.events as n, r.last_event_at as last_at, r.feature_mask as mask from bdc_analytics.user_activity_monthly r where r.start >= $2::date and r.start < $1::date
    union all
    select r.user_id, 1 as days, r.event_count as n, r.last_event_at as last_at, r.feature_mask as mask from bdc_analytics.user_activity_daily r where r.day >= $3::date and r.day < $4::date
    union all
    select r.user_id, 1 as days, r.event_count as n, r.last_event_at as last_at, r.feature_mask as mask from bdc_analytics.user_activity_daily r where r.day >= $5::date and r.day < $6::date
    union all
    select x.user_id, 1 as days, x.n, x.last_at, x.mask from (select x.user_id, (x.occurred_at at time zone $7::text)::date as day, count(*)::int as n, max(x.occurred_at) as last_at, 0::bigint as mask from bdc.user_activities x where (x.occurred_at >= $8::timestamptz and x.occurred_at < $9::timestamptz) group by 1, 2) x) x
  group by x.user_id
),
fea as (
  select distinct x.user_id, x.feature from (select r.user_id, f.feature from bdc_analytics.user_activity_daily r cross join unnest(r.extra_features) as f(feature) where r.extra_features is not null and r.day >= $11::date and r.day < $10::date
    union all
    select x.user_id, x.feature from bdc.user_activities x where (x.occurred_at >= $12::timestamptz and x.occurred_at < $9::timestamptz and x.feature is not null)) x
),
beh as (
  select p.user_id, p.beneficiary_id, p.bd, coalesce(x.days, 0) as days, coalesce(x.events, 0) as events, x.last_at, x.mask,
    coalesce(bit_count(x.mask::bit(64))::int, 0) + coalesce(y.features, 0) as features
  from pop p
  left join ua x on x.user_id = p.user_id
  left join (select f.user_id, count(*)::int as features from fea f
      left join ua m on m.user_id = f.user_id
      left join bdc_analytics.feature_bits fb on fb.feature = f.feature
      where fb.bit is null or coalesce(m.mask, 0) & (1::bigint << fb.bit) = 0
      group by f.user_id) y on y.user_id = p.user_id
  where not exists (select 1 from bdc.users u where u.id = p.user_id and u.created_at >= $9::timestamptz)
),
apc as (
  select x.beneficiary_id, count(*)::int as n from bdc.appointments x
  where (x.scheduled_at >= $13::timestamptz and x.scheduled_at < $9::timestamptz and x.status = 'completed')
  group by 1
),
pay as (
  select x.beneficiary_id, sum(x.amount_cents)::float8 as cents
  from bdc.payments x
  where x.paid_at >= $13::timestamptz and x.paid_at < $9::timestamptz
  group by 1
),
ft as (
  select h.user_id, h.days, h.events, h.features, coalesce(c.n, 0) as appointments, coalesce(m.cents, 0) as monetary,
    coalesce((extract(epoch from $9::timestamptz - h.last_at)::float8 / 86400), (extract(epoch from $9::timestamptz - $13::timestamptz)::float8 / 86400)) as recency
  from beh h
  left join apc c on c.beneficiary_id = h.beneficiary_id
  left join pay m on m.beneficiary_id = h.beneficiary_id
)
select user_id, days, events, features, appointments, recency from ft order by user_id
-- $1 = 2026-03-01T00:00:00Z
-- $2 = 2026-01-01T00:00:00Z
-- $3 = 2025-12-31T00:00:00Z
-- $4 = 2026-01-01T00:00:00Z
-- $5 = 2026-03-01T00:00:00Z
-- $6 = 2026-03-15T00:00:00Z
-- $7 = "America/New_York"
-- $8 = 2026-03-15T00:00:00+01:00
-- $9 = 2026-06-01T00:00:00Z
-- $10 = 2026-03-15T00:00:00Z
-- $11 = 2025-12-31T00:00:00Z
-- $12 = 2026-03-15T00:00:00+01:00
-- $13 = 2025-12-31T00:00:00-05:00
