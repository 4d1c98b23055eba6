with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b
  where true
),
ud as not materialized (
  select e.user_id, e.day from (select r.user_id, r.day from bdc_analytics.user_activity_daily r where r.day >= $2::date and r.day < $1::date) e
  where not exists (select 1 from bdc.users pm_u where pm_u.id = e.user_id and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id))
),
gaps as (
  select r.day, least(r.day - r.prev_day, 30) as gap, count(*)::int as n
  from (select r.user_id, r.day, r.prev_day from bdc_analytics.user_activity_daily r where r.day >= $7::date and r.day < $6::date) r
  where not exists (select 1 from bdc.users pm_u where pm_u.id = r.user_id and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id))
  group by 1, 2
),
daily as (
  select s.i, s.day, coalesce(d.dau, 0) as dau, coalesce(d.dw, 0) as dw, coalesce(d.dm, 0) as dm
  from (select i - $4::int as i, $3::date + i as day
    from generate_series(0, $5::int) as g(i)) s
  left join (
    select v.day, sum(v.dau)::int as dau, sum(v.dw)::int as dw, sum(v.dm)::int as dm
    from gaps g cross join lateral (values (g.day, g.n, 0, 0),
      (g.day + greatest(0, 7 - coalesce(g.gap, 7)), 0, g.n, 0), (g.day + 7, 0, -g.n, 0),
      (g.day + greatest(0, 30 - coalesce(g.gap, 30)), 0, 0, g.n), (g.day + 30, 0, 0, -g.n)) as v(day, dau, dw, dm)
    group by v.day
  ) d on d.day = s.day
)
select 'd', i, 0, dau, wau, mau from (
  select i, dau, sum(dw) over o as wau, sum(dm) over o as mau from daily window o as (order by day)
) d where i >= 0
union all
select 's', p, n, count(*), 0, 0 from (
  select r.user_id, ((r.start - $10::date) / 7) as p, r.days as n from bdc_analytics.user_activity_weekly r
  where (r.start >= $9::date and r.start < $8::date and not exists (select 1 from bdc.users pm_u where pm_u.id = r.user_id and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id)))
  union all
  select user_id, ((day - $10::date) / 7) as p, count(*)::int as n from ud where day >= $8::date group by 1, 2
) u
group by p, n
-- $1 = 2026-06-01T00:00:00Z
-- $2 = 2025-12-03T00:00:00Z
-- $3 = 2025-12-03T00:00:00Z
-- $4 = 29
-- $5 = 179
-- $6 = 2026-06-01T00:00:00Z
-- $7 = 2025-12-03T00:00:00Z
-- $8 = 2026-06-01T00:00:00Z
-- $9 = 2025-12-29T00:00:00Z
-- $10 = 2025-12-29T00:00:00Z
