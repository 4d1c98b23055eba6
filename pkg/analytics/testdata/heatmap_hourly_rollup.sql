set local max_parallel_workers_per_gather = 0;
with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b cross join lateral (select extract(year from b.created_at at time zone 'Europe/Paris')::int - b.birth_year as age) ag
  where (b.region = any($1::text[]) and exists (select 1 from unnest($2::int[], $3::int[]) as band(lo, hi) where ag.age between band.lo and band.hi) and exists (select 1 from bdc.appointments ap where ap.beneficiary_id = b.id and ap.channel = any($4::text[])))
),
uc as (
  select cell, user_id, sum(n) as n from (
    select (((floor(date_part('epoch', h.hour))::bigint + case when h.hour < $5::timestamptz then -18000 else -14400 end + 66528259200) / 3600) % 168) as cell, h.user_id, h.events as n
    from bdc_analytics.user_activity_hourly h where h.hour >= $9::timestamptz and h.hour < $10::timestamptz
    union all
    select (((floor(date_part('epoch', x.occurred_at))::bigint + case when x.occurred_at < $6::timestamptz then -18000 else -14400 end + 66528259200) / 3600) % 168) as cell, x.user_id, 1 as n
    from bdc.user_activities x
    where (x.occurred_at >= $7::timestamptz and x.occurred_at < $9::timestamptz) or (x.occurred_at >= $10::timestamptz and x.occurred_at < $8::timestamptz)
  ) u
  group by cell, user_id
)
select null::text, cell::int, sum(n)::bigint, count(*)
from uc
where user_id in (select user_id from pop)
group by cell
-- $1 = ["bretagne"]
-- $2 = [25,65]
-- $3 = [34,150]
-- $4 = ["video"]
-- $5 = 2026-03-08T03:00:00-04:00
-- $6 = 2026-03-08T03:00:00-04:00
-- $7 = 2026-01-01T00:17:00Z
-- $8 = 2026-05-31T23:45:00Z
-- $9 = 2026-01-01T01:00:00Z
-- $10 = 2026-03-15T00:00:00+01:00
