with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, b.acquisition_channel as bd
  from bdc.beneficiaries b cross join lateral (select extract(year from b.created_at at time zone 'Europe/Paris')::int - b.birth_year as age) ag
  where (b.region = any($1::text[]) and exists (select 1 from unnest($2::int[], $3::int[]) as band(lo, hi) where ag.age between band.lo and band.hi) and exists (select 1 from bdc.appointments ap where ap.beneficiary_id = b.id and ap.channel = any($4::text[])))
),
ua as not materialized (
  select x.user_id, sum(x.days)::int as days, sum(x.n)::bigint as events, max(x.last_at) as last_at, bit_or(x.mask) as mask
  from (select r.user_id, r.days, r.events as n, r.last_event_at as last_at, r.feature_mask as mask from bdc_analytics.user_activity_monthly r where r.start >= $6::date and r.start < $5::date
    union all
    select r.user_id, 1 as days, r.event_count as n, r.last_event_at as last_at, r.feature_mask as mask from bdc_analytics.user_activity_daily r where r.day >= $7::date and r.day < $8::date
    union all
    select x.user_id, 1 as days, x.n, x.last_at, x.mask from (select x.user_id, (x.occurred_at at time zone $9::text)::date as day, count(*)::int as n, max(x.occurred_at) as last_at, 0::bigint as mask from bdc.user_activities x where (x.occurred_at >= $10::timestamptz and x.occurred_at < $11::timestamptz) group by 1, 2) x) x
  where x.user_id in (select user_id from pop)
  group by x.user_id
),
fea as (
  select distinct x.user_id, x.feature from (select r.user_id, f.feature from bdc_analytics.user_activity_daily r cross join unnest(r.extra_features) as f(feature) where r.extra_features is not null and r.day >= $13::date and r.day < $12::date
    union all
    select x.user_id, x.feature from bdc.user_activities x where (x.occurred_at >= $14::timestamptz and x.occurred_at < $11::timestamptz and x.feature is not null)) x
  where x.user_id in (select user_id from pop)
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
  where not exists (select 1 from bdc.users u where u.id = p.user_id and u.created_at >= $11::timestamptz)
),
nf as materialized (
  select coalesce(bit_count(a.mask::bit(64))::int, 0) + (select count(distinct f.feature)::int from fea f
      join beh h on h.user_id = f.user_id
      left join bdc_analytics.feature_bits fb on fb.feature = f.feature where fb.bit is null or coalesce(a.mask, 0) & (1::bigint << fb.bit) = 0) as n
  from (select bit_or(mask) as mask from beh) a
),
sc as (
  select b.user_id, b.bd, b.days, b.events, b.features, b.last_at, nf.n as nf, c.r, c.f, c.d,
    100 * (0.35 * c.r + 0.4 * c.f + 0.25 * c.d) as score
  from beh b
  cross join nf
  cross join lateral (select
    coalesce(power(0.5, (extract(epoch from $11::timestamptz - b.last_at)::float8 / 86400) / 14), 0) as r,
    ln(1 + b.days::float8) / ln(1 + $15::float8) as f,
    case when nf.n = 0 then 0 else b.features::float8 / nf.n end as d) c
)
select 'h', bd, least(floor(score / 10)::int, 9), count(*), sum(score), min(nf),
  0::bigint, 0::float8, 0::float8, 0::float8, 0::float8, 0, 0::bigint, 0, null::timestamptz
from sc group by 2, 3
union all
select 't', '', (row_number() over (order by score desc, user_id))::int, 0, 0, nf, user_id, score, r, f, d, days, events, features, last_at
from (select * from sc order by score desc, user_id limit $16::int) x
union all
select 'b', '', (row_number() over (order by score, user_id))::int, 0, 0, nf, user_id, score, r, f, d, days, events, features, last_at
from (select * from sc order by score, user_id limit $16::int) x
-- $1 = ["bretagne"]
-- $2 = [25,65]
-- $3 = [34,150]
-- $4 = ["video"]
-- $5 = 2026-03-01T00:00:00Z
-- $6 = 2026-01-01T00:00:00Z
-- $7 = 2026-03-01T00:00:00Z
-- $8 = 2026-03-15T00:00:00Z
-- $9 = "Europe/Paris"
-- $10 = 2026-03-15T00:00:00+01:00
-- $11 = 2026-06-01T00:00:00Z
-- $12 = 2026-03-15T00:00:00Z
-- $13 = 2026-01-01T00:00:00Z
-- $14 = 2026-03-15T00:00:00+01:00
-- $15 = 152
-- $16 = 10
