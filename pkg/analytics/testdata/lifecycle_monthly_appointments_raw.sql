with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b cross join lateral (select extract(year from b.created_at at time zone 'Europe/Paris')::int - b.birth_year as age) ag
  where (b.region = any($1::text[]) and exists (select 1 from unnest($2::int[], $3::int[]) as band(lo, hi) where ag.age between band.lo and band.hi) and exists (select 1 from bdc.appointments ap where ap.beneficiary_id = b.id and ap.channel = any($4::text[])))
),
ud as (
  select e.user_id, e.day, case when e.day >= $8::date then ((width_bucket(e.day, $9::date[]) - 1) - 1) else -2 end as p
  from (select b.user_id as user_id, (x.scheduled_at at time zone $5::text)::date as day from bdc.appointments x join bdc.beneficiaries b on b.id = x.beneficiary_id where (x.scheduled_at < $7::timestamptz and (x.status = 'completed' and x.channel = any($6::text[])))) e
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
-- $1 = ["bretagne"]
-- $2 = [25,65]
-- $3 = [34,150]
-- $4 = ["video"]
-- $5 = "UTC"
-- $6 = ["video"]
-- $7 = 2026-06-01T00:00:00Z
-- $8 = 2025-12-01T00:00:00Z
-- $9 = ["2025-12-01T00:00:00Z","2026-01-01T00:00:00Z","2026-02-01T00:00:00Z","2026-03-01T00:00:00Z","2026-04-01T00:00:00Z","2026-05-01T00:00:00Z"]
