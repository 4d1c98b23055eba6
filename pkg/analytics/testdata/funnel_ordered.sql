with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, b.acquisition_channel as bd
  from bdc.beneficiaries b cross join lateral (select extract(year from b.created_at at time zone 'Europe/Paris')::int - b.birth_year as age) ag
  where (b.region = any($1::text[]) and exists (select 1 from unnest($2::int[], $3::int[]) as band(lo, hi) where ag.age between band.lo and band.hi) and exists (select 1 from bdc.appointments ap where ap.beneficiary_id = b.id and ap.channel = any($4::text[])))
),
att as (
  select s1.user_id, s1.t1, l2.t2, l3.t3, l4.t4
  from (select x.id as user_id, x.created_at as t1 from bdc.users x where (x.created_at >= $5::timestamptz and x.created_at < $6::timestamptz and x.id in (select user_id from pop))) s1
  left join lateral (select min(x.occurred_at) as t2 from bdc.user_activities x where (x.user_id = s1.user_id and x.occurred_at > s1.t1 and x.occurred_at < $6::timestamptz and x.occurred_at <= s1.t1 + $7::interval and x.activity_type = $8::text)) l2 on true
  left join lateral (select min(x.booked_at) as t3 from bdc.appointments x join bdc.beneficiaries b on b.id = x.beneficiary_id where (l2.t2 is not null and b.user_id = s1.user_id and x.booked_at > l2.t2 and x.booked_at < $6::timestamptz and x.booked_at <= s1.t1 + $7::interval and x.channel = any($9::text[]))) l3 on true
  left join lateral (select min(x.scheduled_at) as t4 from bdc.appointments x join bdc.beneficiaries b on b.id = x.beneficiary_id where (l3.t3 is not null and b.user_id = s1.user_id and x.scheduled_at > l3.t3 and x.scheduled_at < $6::timestamptz and x.scheduled_at <= s1.t1 + $7::interval and (x.status = 'completed' and x.channel = any($10::text[])))) l4 on true
),
best as (
  select b.*, p.bd
  from (
    select distinct on (user_id) user_id, t1, t2, t3, t4
    from att
    order by user_id, 1 + (t2 is not null)::int + (t3 is not null)::int + (t4 is not null)::int desc, t1
  ) b
  join pop p on p.user_id = b.user_id
),
steps as (
  select b.bd, s.k, s.secs
  from best b cross join lateral (values (1, t1, null::float8), (2, t2, extract(epoch from t2 - t1)::float8), (3, t3, extract(epoch from t3 - t2)::float8), (4, t4, extract(epoch from t4 - t3)::float8)) as s(k, t, secs)
  where s.t is not null
)
select bd, k::int, count(*), percentile_cont(0.5) within group (order by secs), avg(secs)
from steps group by bd, k
-- $1 = ["bretagne"]
-- $2 = [25,65]
-- $3 = [34,150]
-- $4 = ["video"]
-- $5 = 2026-01-01T00:00:00Z
-- $6 = 2026-06-01T00:00:00Z
-- $7 = 336h0m0s
-- $8 = "booking"
-- $9 = ["video"]
-- $10 = ["video"]
