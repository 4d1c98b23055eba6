with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b
  where true
),
agg as (
  select p, sum(fresh)::bigint as fresh, sum(back)::bigint as back, sum(revived)::bigint as revived
  from (
  select e.p, count(*) filter (where e.prev_day is null) as fresh,
    count(*) filter (where e.prev_day is not null and e.pp = e.p - 1) as back,
    count(*) filter (where e.prev_day is not null and e.pp < e.p - 1) as revived
  from (
    select r.prev_day, (((r.day - $5::date) / 7) - 1) as p,
      case when r.prev_day >= $5::date then (((r.prev_day - $5::date) / 7) - 1) else -2 end as pp
    from (select r.user_id, r.day, r.prev_day from bdc_analytics.user_activity_daily r where r.day >= $2::date and r.day < $1::date) r
    where not exists (select 1 from bdc.users pm_u where pm_u.id = r.user_id and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id))
  ) e
  where e.pp <> e.p
  group by e.p
  union all
  select e.p, count(*) filter (where e.prev_day is null) as fresh,
    count(*) filter (where e.prev_day is not null and e.pp = e.p - 1) as back,
    count(*) filter (where e.prev_day is not null and e.pp < e.p - 1) as revived
  from (
    select r.prev_day, (((r.day - $5::date) / 7) - 1) as p,
      case when r.prev_day >= $5::date then (((r.prev_day - $5::date) / 7) - 1) else -2 end as pp
    from (select t.user_id, t.day, coalesce(t.prev, l.day) as prev_day
    from (
      select d.user_id, d.day, lag(d.day) over (partition by d.user_id order by d.day) as prev
      from (select distinct x.user_id, (x.occurred_at at time zone 'Europe/Paris')::date as day from bdc.user_activities x
        where x.occurred_at >= $3::timestamptz and x.occurred_at < $4::timestamptz) d
    ) t
    cross join lateral (select max(o.day) as day from bdc_analytics.user_activity_daily o
      where t.prev is null and o.user_id = t.user_id and o.day < $1::date) l) r
    where not exists (select 1 from bdc.users pm_u where pm_u.id = r.user_id and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id))
  ) e
  where e.pp <> e.p
  group by e.p
  ) c
  group by p
)
select true, p, fresh, back, revived, 0::bigint from agg
union all
select false, g.p, 0, 0, 0, coalesce(b.fresh + b.back + b.revived, 0) - coalesce(n.back, 0)
from generate_series(0, $6::int) as g(p)
left join agg b on b.p = g.p - 1
left join agg n on n.p = g.p
-- $1 = 2026-03-15T00:00:00Z
-- $2 = 2025-12-22T00:00:00Z
-- $3 = 2026-03-15T00:00:00+01:00
-- $4 = 2026-06-01T00:00:00Z
-- $5 = 2025-12-22T00:00:00Z
-- $6 = 22
