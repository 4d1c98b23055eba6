with pop as not materialized (
  select b.user_id, ''::text as bd
  from bdc.beneficiaries b
  where true
),
ud as not materialized (
  select e.user_id, e.day from (select r.user_id, r.day from bdc_analytics.user_activity_daily r where r.day >= $2::date and r.day < $1::date
    union all
    select distinct x.user_id as user_id, (x.occurred_at at time zone 'Europe/Paris')::date as day from bdc.user_activities x where (x.occurred_at >= $3::timestamptz and x.occurred_at < $4::timestamptz and true)) e
  where e.user_id in (select user_id from pop)
),
gaps as (
  select r.day, least(r.day - r.prev_day, 30) as gap, count(*)::int as n
  from (select r.user_id, r.day, r.prev_day from bdc_analytics.user_activity_daily r where r.day >= $9::date and r.day < $8::date) r
  where r.user_id in (select user_id from pop)
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
  where r.user_id in (select user_id from pop)
  group by 1, 2
),
dl as (
  select grouping(day, w_start, m_start) as g, case grouping(day, w_start, m_start) when 3 then day when 5 then w_start else m_start end as day, sum(n)::int as n
  from (select day, n, day + greatest(0, 7 - coalesce(gap, 7)) as w_start,
      day + greatest(0, 30 - coalesce(gap, 30)) as m_start from gaps) x
  group by grouping sets ((day), (w_start), (m_start))
),
daily as (
  select s.i, s.day, coalesce(st.n, 0) as dau, coalesce(ws.n, 0) - coalesce(we.n, 0) as dw, coalesce(ms.n, 0) - coalesce(me.n, 0) as dm
  from (select i - $6::int as i, $5::date + i as day
    from generate_series(0, $7::int) as g(i)) s
  left join dl st on st.g = 3 and st.day = s.day
  left join dl ws on ws.g = 5 and ws.day = s.day
  left join dl we on we.g = 3 and we.day = s.day - 7
  left join dl ms on ms.g = 6 and ms.day = s.day
  left join dl me on me.g = 3 and me.day = s.day - 30
)
select 'd', i, 0, dau, wau, mau from (
  select i, dau, sum(dw) over o as wau, sum(dm) over o as mau from daily window o as (order by day)
) d where i >= 0
union all
select 's', p, n, count(*), 0, 0 from (
  select user_id, ((day - $11::date) / 7) as p, count(*)::int as n from ud where day >= $11::date group by 1, 2
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
-- $11 = 2025-12-29T00:00:00Z
