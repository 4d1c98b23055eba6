with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b
  where true
),
ud as not materialized (
  select e.user_id, e.day from (select r.user_id, r.day from bdc_analytics.user_activity_daily r where r.day >= $2::date and r.day < $1::date
    union all
    select distinct x.user_id as user_id, (x.occurred_at at time zone 'Europe/Paris')::date as day from bdc.user_activities x where (x.occurred_at >= $3::timestamptz and x.occurred_at < $4::timestamptz and true)) e
  where not exists (select 1 from bdc.users pm_u where pm_u.id = e.user_id and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id))
),
gaps as (
  select r.day, least(r.day - r.prev_day, 30) as gap, count(*)::int as n
  from (select r.user_id, r.day, r.prev_day from bdc_analytics.user_activity_daily r where r.day >= $9::date and r.day < $8::date) r
  where not exists (select 1 from bdc.users pm_u where pm_u.id = r.user_id and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id))
  group by 1, 2
  union all
  select r.day, least(r.day - r.prev_day, 30) as gap, count(*)::int as n
  from (select t.user_id, t.day, coalesce(t.prev, l.day) as prev_day
    from (
      select d.user_id, d.day, lag(d.day) over (partition by d.user_id order by d.day) as prev
      from (select distinct x.user_id, (x.occurred_at at time zone 'Europe/Paris')::date as day from bdc.user_activities x
        where x.occurred_at >= $10::timestamptz and x.occurred_at < $4::timestamptz) d
    ) t
    cross join lateral (select max(o.day) as day from bdc_analytics.user_activity_daily o
      where t.prev is null and o.user_id = t.user_id and o.day < $8::date) l) r
  where not exists (select 1 from bdc.users pm_u where pm_u.id = r.user_id and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id))
  group by 1, 2
),
daily as (
  select s.i, s.day, coalesce(d.dau, 0) as dau, coalesce(d.dw, 0) as dw, coalesce(d.dm, 0) as dm
  from (select i - $6::int as i, $5::date + i as day
    from generate_series(0, $7::int) as g(i)) s
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
  select r.user_id, ((r.start - $13::date) / 7) as p, r.days as n from bdc_analytics.user_activity_weekly r
  where (r.start >= $12::date and r.start < $11::date and not exists (select 1 from bdc.users pm_u where pm_u.id = r.user_id and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id)))
  union all
  select user_id, ((day - $13::date) / 7) as p, count(*)::int as n from ud where day >= $11::date group by 1, 2
) u
group by p, n
-- $1 = 2026-03-15T00:00:00Z
-- $2 = 2025-12-03T00:00:00Z
-- $3 = 2026-03-15T00:00:00+01:00
-- $4 = 2026-06-01T00:00:00Z
-- $5 = 2025-12-03T00:00:00Z
-- $6 = 29
-- $7 = 180
-- $8 = 2026-03-15T00:00:00Z
-- $9 = 2025-12-03T00:00:00Z
-- $10 = 2026-03-15T00:00:00+01:00
-- $11 = 2026-03-09T00:00:00Z
-- $12 = 2025-12-29T00:00:00Z
-- $13 = 2025-12-29T00:00:00Z
