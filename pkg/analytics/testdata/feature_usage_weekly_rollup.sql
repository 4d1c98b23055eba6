with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b
  where true
),
up as (
  select user_id, p, mask, coalesce(lead(p) over (partition by user_id order by p) = p + 1, false) as back
  from (
    select r.user_id, ((r.start - $9::date) / 7) as p, r.feature_mask as mask
    from bdc_analytics.user_activity_weekly r
    where (r.start >= $4::date and r.start < $3::date and not exists (select 1 from bdc.users pm_u where pm_u.id = r.user_id and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id)))
    union all
    select x.user_id, ((x.day - $9::date) / 7) as p, bit_or(x.mask) as mask
    from (select r.user_id, r.day, r.event_count as n, r.last_event_at as last_at, r.feature_mask as mask from bdc_analytics.user_activity_daily r where r.day >= $11::date and r.day < $10::date
    union all
    select x.user_id, (x.occurred_at at time zone 'Europe/Paris')::date as day, count(*)::int as n, max(x.occurred_at) as last_at, 0::bigint as mask from bdc.user_activities x where (x.occurred_at >= $12::timestamptz and x.occurred_at < $13::timestamptz) group by 1, 2) x
    where not exists (select 1 from bdc.users pm_u where pm_u.id = x.user_id and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id))
    group by 1, 2
  ) g
),
uu as (
  select user_id, bit_or(mask) as mask from up group by user_id
),
fn as (
  select f.user_id, ((f.day - $9::date) / 7) as p, f.feature, sum(f.n)::bigint as n
  from (select r.user_id, r.day, f.feature, (r.feature_counts ->> f.feature)::int as n from bdc_analytics.user_activity_daily r cross join unnest(r.extra_features) as f(feature) where r.extra_features is not null and r.day >= $15::date and r.day < $14::date
    union all
    select x.user_id, (x.occurred_at at time zone 'Europe/Paris')::date as day, x.feature, count(*)::int as n from bdc.user_activities x where (x.occurred_at >= $16::timestamptz and x.occurred_at < $13::timestamptz and x.feature is not null) group by 1, 2, 3) f
  where (not exists (select 1 from bdc.users pm_u where pm_u.id = f.user_id and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id)) and f.feature = any($2::text[]))
  group by 1, 2, 3
)
select 't', '', (select count(*) from uu), 0::bigint, count(*), count(*) filter (where back)
from up where p < $1::int
union all
select 'f', feature, sum(adopters)::bigint, sum(uses)::bigint, sum(base)::bigint, sum(kept)::bigint
from (
  select fb.feature, 0::bigint as adopters, 0::bigint as uses, sum(u.base)::bigint as base, sum(u.kept)::bigint as kept
  from (select mask, count(*) filter (where p < $1::int) as base, count(*) filter (where p < $1::int and back) as kept
    from up group by mask) u
  join bdc_analytics.feature_bits fb on u.mask & (1::bigint << fb.bit) <> 0
  where fb.feature = any($2::text[])
  group by fb.feature
  union all
  select fb.feature, sum(u.n)::bigint, 0, 0, 0
  from (select mask, count(*) as n from uu group by mask) u
  join bdc_analytics.feature_bits fb on u.mask & (1::bigint << fb.bit) <> 0
  where fb.feature = any($2::text[])
  group by fb.feature
  union all
  select f.feature, 0, 0, count(*) filter (where f.p < $1::int), count(*) filter (where f.p < $1::int and u.back)
  from fn f join up u on u.user_id = f.user_id and u.p = f.p
  left join bdc_analytics.feature_bits fb on fb.feature = f.feature
  where fb.bit is null or coalesce(u.mask, 0) & (1::bigint << fb.bit) = 0
  group by f.feature
  union all
  select f.feature, count(distinct f.user_id), 0, 0, 0
  from fn f join uu u on u.user_id = f.user_id
  left join bdc_analytics.feature_bits fb on fb.feature = f.feature
  where fb.bit is null or coalesce(u.mask, 0) & (1::bigint << fb.bit) = 0
  group by f.feature
  union all
  select f.feature, 0, sum(f.n), 0, 0 from fn f group by f.feature
  union all
  select v.feature, 0, v.n, 0, 0 from (select sum((r.feature_counts ->> $5::text)::bigint) as c0, sum((r.feature_counts ->> $6::text)::bigint) as c1 from bdc_analytics.user_activity_weekly r where (r.start >= $4::date and r.start < $3::date and not exists (select 1 from bdc.users pm_u where pm_u.id = r.user_id and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id)))) s cross join lateral (values ($5::text, c0), ($6::text, c1)) as v(feature, n) where v.n is not null
  union all
  select v.feature, 0, v.n, 0, 0 from (select sum((r.feature_counts ->> $5::text)::bigint) as c0, sum((r.feature_counts ->> $6::text)::bigint) as c1 from bdc_analytics.user_activity_daily r where (r.day >= $8::date and r.day < $7::date and not exists (select 1 from bdc.users pm_u where pm_u.id = r.user_id and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id)))) s cross join lateral (values ($5::text, c0), ($6::text, c1)) as v(feature, n) where v.n is not null
) x
group by feature
having sum(adopters) > 0
-- $1 = 22
-- $2 = ["documents","messaging"]
-- $3 = 2026-03-09T00:00:00Z
-- $4 = 2025-12-29T00:00:00Z
-- $5 = "messaging"
-- $6 = "documents"
-- $7 = 2026-03-15T00:00:00Z
-- $8 = 2026-03-09T00:00:00Z
-- $9 = 2025-12-29T00:00:00Z
-- $10 = 2026-03-15T00:00:00Z
-- $11 = 2026-03-09T00:00:00Z
-- $12 = 2026-03-15T00:00:00+01:00
-- $13 = 2026-06-01T00:00:00Z
-- $14 = 2026-03-15T00:00:00Z
-- $15 = 2025-12-29T00:00:00Z
-- $16 = 2026-03-15T00:00:00+01:00
