with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, b.acquisition_channel as bd
  from bdc.beneficiaries b cross join lateral (select extract(year from b.created_at at time zone 'Europe/Paris')::int - b.birth_year as age) ag
  where (b.region = any($1::text[]) and exists (select 1 from unnest($2::int[], $3::int[]) as band(lo, hi) where ag.age between band.lo and band.hi) and exists (select 1 from bdc.appointments ap where ap.beneficiary_id = b.id and ap.channel = any($4::text[])))
),
att as (
  select s1.user_id, s1.bd, s1.t1, l2.t2, l3.t3, l4.t4
  from (select x.id as user_id, p.beneficiary_id as bid, p.bd, x.created_at as t1 from bdc.users x join pop p on p.user_id = x.id where (x.created_at >= $5::timestamptz and x.created_at < $6::timestamptz)) s1
  left join lateral (select min(x.occurred_at) as t2 from bdc.user_activities x where (x.user_id = s1.user_id and x.occurred_at > s1.t1 and x.occurred_at < $6::timestamptz and x.occurred_at <= s1.t1 + $7::interval and x.activity_type = $8::text)) l2 on true
  left join lateral (select min(x.booked_at) as t3 from bdc.appointments x where (l2.t2 is not null and x.beneficiary_id = s1.bid and x.booked_at > l2.t2 and x.booked_at < $6::timestamptz and x.booked_at <= s1.t1 + $7::interval and x.channel = any($9::text[]))) l3 on true
  left join lateral (select min(x.scheduled_at) as t4 from bdc.appointments x where (l3.t3 is not null and x.beneficiary_id = s1.bid and x.scheduled_at > l3.t3 and x.scheduled_at < $6::timestamptz and x.scheduled_at <= s1.t1 + $7::interval and (x.status = 'completed' and x.channel = any($10::text[])))) l4 on true
)
select w.bd, s.k, s.users, s.median, s.mean
from (
  select bd, count(*) as u1,
    count(t2) as u2, percentile_cont(0.5) within group (order by extract(epoch from t2 - t1)::float8) as m2, avg(extract(epoch from t2 - t1)::float8) as a2,
    count(t3) as u3, percentile_cont(0.5) within group (order by extract(epoch from t3 - t2)::float8) as m3, avg(extract(epoch from t3 - t2)::float8) as a3,
    count(t4) as u4, percentile_cont(0.5) within group (order by extract(epoch from t4 - t3)::float8) as m4, avg(extract(epoch from t4 - t3)::float8) as a4
  from att
  group by bd
) w
cross join lateral (values (1, w.u1, null::float8, null::float8), (2, w.u2, w.m2, w.a2), (3, w.u3, w.m3, w.a3), (4, w.u4, w.m4, w.a4)) as s(k, users, median, mean)
where s.users > 0
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
