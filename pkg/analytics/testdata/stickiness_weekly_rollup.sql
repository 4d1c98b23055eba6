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
ends as (
  select day, least(lead(day) over w, day + 7) as w_end, least(lead(day) over w, day + 30) as m_end
  from ud
  window w as (partition by user_id order by day)
),
dl as (
  select grouping(day, w_end, m_end) as g, case grouping(day, w_end, m_end) when 3 then day when 5 then w_end else m_end end as day, count(*)::int as n
  from ends
  group by grouping sets ((day), (w_end), (m_end))
),
daily as (
  select s.i, s.day, coalesce(st.n, 0) as dau, coalesce(st.n, 0) - coalesce(we.n, 0) as dw, coalesce(st.n, 0) - coalesce(me.n, 0) as dm
  from (select i - $6::int as i, $5::date + i as day
    from generate_series(0, $7::int) as g(i)) s
  left join dl st on st.g = 3 and st.day = s.day
  left join dl we on we.g = 5 and we.day = s.day
  left join dl me on me.g = 6 and me.day = s.day
)
select 'd', i, 0, dau, wau, mau from (
  select i, dau, sum(dw) over o as wau, sum(dm) over o as mau from daily window o as (order by day)
) d where i >= 0
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
