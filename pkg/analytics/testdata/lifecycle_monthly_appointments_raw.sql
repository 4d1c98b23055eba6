with pop as not materialized (
  select b.user_id, ''::text as bd
  from bdc.beneficiaries b cross join lateral (select extract(year from b.created_at at time zone 'Europe/Paris')::int - b.birth_year as age) ag
  where (b.region = any($1::text[]) and exists (select 1 from unnest($2::int[], $3::int[]) as band(lo, hi) where ag.age between band.lo and band.hi) and exists (select 1 from bdc.appointments ap where ap.beneficiary_id = b.id and ap.channel = any($4::text[])))
),
up as (
  select e.user_id, case when e.day >= $8::date then (((extract(year from e.day)::int * 12 + extract(month from e.day)::int) - $9::int) - 1) else -2 end as p
  from (select b.user_id as user_id, (x.scheduled_at at time zone $5::text)::date as day from bdc.appointments x join bdc.beneficiaries b on b.id = x.beneficiary_id where (x.scheduled_at < $7::timestamptz and (x.status = 'completed' and x.channel = any($6::text[])))) e
  where e.user_id in (select user_id from pop)
  group by 1, 2
),
st as (
  select p, lag(p) over w as prev, lead(p) over w as next
  from up
  window w as (partition by user_id order by p)
)
select p, status, count(*) from (
  select p, case when prev is null then 'new' when prev = p - 1 then 'returning' else 'resurrecting' end as status
  from st where p >= 0
  union all
  select p + 1, 'dormant' from st where p >= -1 and p + 1 < $10::int and (next is null or next > p + 1)
) s
group by 1, 2
-- $1 = ["bretagne"]
-- $2 = [25,65]
-- $3 = [34,150]
-- $4 = ["video"]
-- $5 = "UTC"
-- $6 = ["video"]
-- $7 = 2026-06-01T00:00:00Z
-- $8 = 2025-12-01T00:00:00Z
-- $9 = 24312
-- $10 = 5
