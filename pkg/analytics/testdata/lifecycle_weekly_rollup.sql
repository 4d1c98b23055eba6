with pop as not materialized (
  select b.user_id, ''::text as bd
  from bdc.beneficiaries b
  where true
),
ud as (
  select e.user_id, e.day, case when e.day >= $4::date then (((e.day - $4::date) / 7) - 1) else -2 end as p
  from (select r.user_id, r.day from bdc_analytics.user_activity_daily r where r.day < $1::date
    union all
    select x.user_id as user_id, (x.occurred_at at time zone 'Europe/Paris')::date as day from bdc.user_activities x where (x.occurred_at >= $2::timestamptz and x.occurred_at < $3::timestamptz and true)) e
  where e.user_id in (select user_id from pop)
),
st as (
  select p, p + 1 as d, lag(p) over w as prev, lead(p) over w as next
  from ud
  window w as (partition by user_id order by day)
)
select grouping(p) = 0, coalesce(p, d),
  count(*) filter (where p >= 0 and prev is null),
  count(*) filter (where p >= 0 and prev = p - 1),
  count(*) filter (where p >= 0 and prev <> p and prev <> p - 1),
  count(*) filter (where p >= -1 and next is distinct from p and (next is null or next > d))
from st
group by grouping sets ((p), (d))
-- $1 = 2026-03-15T00:00:00Z
-- $2 = 2026-03-15T00:00:00+01:00
-- $3 = 2026-06-01T00:00:00Z
-- $4 = 2025-12-22T00:00:00Z
