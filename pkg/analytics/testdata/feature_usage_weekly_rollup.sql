with pop as not materialized (
  select b.user_id, ''::text as bd
  from bdc.beneficiaries b
  where true
),
fu as (
  select f.user_id, ((f.day - $5::date) / 7) as p, f.feature, sum(f.n)::bigint as n
  from (select r.user_id, r.day, f.key as feature, f.value::int as n from bdc_analytics.user_activity_daily r cross join lateral jsonb_each_text(r.feature_counts) as f(key, value) where r.day >= $2::date and r.day < $1::date
    union all
    select x.user_id, (x.occurred_at at time zone 'Europe/Paris')::date as day, x.feature, count(*)::int as n from bdc.user_activities x where (x.occurred_at >= $3::timestamptz and x.occurred_at < $4::timestamptz and x.feature is not null) group by 1, 2, 3) f
  where (f.user_id in (select user_id from pop) and f.feature = any($9::text[]))
  group by 1, 2, 3
),
ua as (
  select user_id, p, coalesce(np = p + 1, false) as back from (
    select e.user_id, ((e.day - $5::date) / 7) as p, lead(((e.day - $5::date) / 7)) over (partition by e.user_id order by e.day) as np
    from (select r.user_id, r.day from bdc_analytics.user_activity_daily r where r.day >= $7::date and r.day < $6::date
    union all
    select x.user_id as user_id, (x.occurred_at at time zone 'Europe/Paris')::date as day from bdc.user_activities x where (x.occurred_at >= $8::timestamptz and x.occurred_at < $4::timestamptz and true)) e
    where e.user_id in (select user_id from pop)
  ) d
  where np is distinct from p
)
select 't', '', (select count(distinct user_id) from ua), 0::bigint, count(*), count(*) filter (where back)
from ua where p < $10::int
union all
select 'f', f.feature, count(distinct f.user_id), sum(f.n)::bigint, count(*) filter (where f.p < $10::int),
  count(*) filter (where f.p < $10::int and u.back)
from fu f join ua u on u.user_id = f.user_id and u.p = f.p
group by f.feature
-- $1 = 2026-03-15T00:00:00Z
-- $2 = 2025-12-29T00:00:00Z
-- $3 = 2026-03-15T00:00:00+01:00
-- $4 = 2026-06-01T00:00:00Z
-- $5 = 2025-12-29T00:00:00Z
-- $6 = 2026-03-15T00:00:00Z
-- $7 = 2025-12-29T00:00:00Z
-- $8 = 2026-03-15T00:00:00+01:00
-- $9 = ["documents","messaging"]
-- $10 = 22
