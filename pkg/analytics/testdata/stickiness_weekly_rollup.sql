with pop as not materialized (
  select b.user_id, ''::text as bd
  from bdc.beneficiaries b
  where true
),
ud as (
  select distinct e.user_id, e.day from (select r.user_id, r.day from bdc_analytics.user_activity_daily r where r.day >= $2::date and r.day < $1::date
    union all
    select x.user_id as user_id, (x.occurred_at at time zone 'Europe/Paris')::date as day from bdc.user_activities x where (x.occurred_at >= $3::timestamptz and x.occurred_at < $4::timestamptz and true)) e
  where e.user_id in (select user_id from pop)
),
dl as (
  select v.day, sum(v.d)::int as d, sum(v.w)::int as w, sum(v.m)::int as m
  from (select day, lead(day) over (partition by user_id order by day) as nd from ud) u
  cross join lateral (values (u.day, 1, 1, 1), (u.day + 1, -1, 0, 0),
    (least(u.nd, u.day + 7), 0, -1, 0), (least(u.nd, u.day + 30), 0, 0, -1)) as v(day, d, w, m)
  group by v.day
),
daily as (
  select s.i, sum(coalesce(dl.d, 0)) over o as dau, sum(coalesce(dl.w, 0)) over o as wau, sum(coalesce(dl.m, 0)) over o as mau
  from (select i - $6::int as i, $5::date + i as day
    from generate_series(0, $7::int) as g(i)) s
  left join dl on dl.day = s.day
  window o as (order by s.day)
)
select 'd', i, 0, dau, wau, mau from daily where i >= 0
union all
select 's', p, n, count(*), 0, 0 from (
  select user_id, ((day - $8::date) / 7) as p, count(*)::int as n from ud where day >= $8::date group by 1, 2
) u
group by p, n
-- $1 = 2026-03-15T00:00:00Z
-- $2 = 2025-12-03T00:00:00Z
-- $3 = 2026-03-15T00:00:00+01:00
-- $4 = 2026-06-01T00:00:00Z
-- $5 = 2025-12-03T00:00:00Z
-- $6 = 29
-- $7 = 180
-- $8 = 2025-12-29T00:00:00Z
