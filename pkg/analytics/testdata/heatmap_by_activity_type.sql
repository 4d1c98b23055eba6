with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b cross join lateral (select extract(year from b.created_at at time zone 'Europe/Paris')::int - b.birth_year as age) ag
  where (b.region = any($1::text[]) and exists (select 1 from unnest($2::int[], $3::int[]) as band(lo, hi) where ag.age between band.lo and band.hi) and exists (select 1 from bdc.appointments ap where ap.beneficiary_id = b.id and ap.channel = any($4::text[])))
),
uc as (
  select case when grouping(x.activity_type) = 0 then x.activity_type end as typ, (((floor(date_part('epoch', x.occurred_at))::bigint + case when x.occurred_at < $5::timestamptz then -18000 else -14400 end + 66528259200) / 3600) % 168) as cell, x.user_id as user_id, count(*) as n
  from bdc.user_activities x
  where (x.occurred_at >= $6::timestamptz and x.occurred_at < $7::timestamptz and true)
  group by grouping sets ((2, 3), (x.activity_type, 2, 3))
)
select typ, cell::int, sum(n)::bigint, count(*)
from uc
where user_id in (select user_id from pop)
group by typ, cell
-- $1 = ["bretagne"]
-- $2 = [25,65]
-- $3 = [34,150]
-- $4 = ["video"]
-- $5 = 2026-03-08T03:00:00-04:00
-- $6 = 2026-01-01T00:00:00Z
-- $7 = 2026-06-01T00:00:00Z
