with pop as not materialized (
  select b.user_id, ''::text as bd
  from bdc.beneficiaries b cross join lateral (select extract(year from b.created_at at time zone 'Europe/Paris')::int - b.birth_year as age) ag
  where (b.region = any($1::text[]) and exists (select 1 from unnest($2::int[], $3::int[]) as band(lo, hi) where ag.age between band.lo and band.hi) and exists (select 1 from bdc.appointments ap where ap.beneficiary_id = b.id and ap.channel = any($4::text[])))
),
ev as (
  select x.user_id as user_id, x.activity_type as typ, (x.occurred_at at time zone $5::text) as local
  from bdc.user_activities x
  where (x.occurred_at >= $6::timestamptz and x.occurred_at < $7::timestamptz and true)
    and x.user_id in (select user_id from pop)
)
select case when grouping(typ) = 0 then typ end, wd, hour, count(*), count(distinct user_id)
from (select user_id, typ, extract(isodow from local)::int as wd, extract(hour from local)::int as hour from ev) h
group by wd, hour, grouping sets ((), (typ))
-- $1 = ["bretagne"]
-- $2 = [25,65]
-- $3 = [34,150]
-- $4 = ["video"]
-- $5 = "America/New_York"
-- $6 = 2026-01-01T00:00:00Z
-- $7 = 2026-06-01T00:00:00Z
