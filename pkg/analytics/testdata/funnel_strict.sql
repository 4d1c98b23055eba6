with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b
  where true
),
occ as (
  select user_id, ts, mask from (
    select x.id as user_id, x.created_at as ts, 1 as mask from bdc.users x where (x.created_at >= $1::timestamptz and x.created_at < $2::timestamptz)
    union all
    select x.user_id as user_id, x.occurred_at as ts, 2 as mask from bdc.user_activities x where (x.occurred_at >= $1::timestamptz and x.occurred_at < $2::timestamptz and x.activity_type = $3::text)
    union all
    select b.user_id as user_id, x.booked_at as ts, 4 as mask from bdc.appointments x join bdc.beneficiaries b on b.id = x.beneficiary_id where (x.booked_at >= $1::timestamptz and x.booked_at < $2::timestamptz and true)
    union all
    select b.user_id as user_id, x.scheduled_at as ts, 8 as mask from bdc.appointments x join bdc.beneficiaries b on b.id = x.beneficiary_id where (x.scheduled_at >= $1::timestamptz and x.scheduled_at < $2::timestamptz and x.status = 'completed')
  ) o
  where mask <> 0
),
inst as (
  select user_id, ts, bit_or(mask) as mask from occ group by user_id, ts
),
sx as (
  select user_id, ts, mask,
    lead(ts, 1) over w as l1t, lead(mask, 1) over w as l1m,
    lead(ts, 2) over w as l2t, lead(mask, 2) over w as l2m,
    lead(ts, 3) over w as l3t, lead(mask, 3) over w as l3m
  from inst
  window w as (partition by user_id order by ts)
),
att as (
  select user_id, ts as t1,
    case when true and (l1m & 2) <> 0 and l1t <= ts + $4::interval then l1t end as t2,
    case when true and (l1m & 2) <> 0 and l1t <= ts + $4::interval and (l2m & 4) <> 0 and l2t <= ts + $4::interval then l2t end as t3,
    case when true and (l1m & 2) <> 0 and l1t <= ts + $4::interval and (l2m & 4) <> 0 and l2t <= ts + $4::interval and (l3m & 8) <> 0 and l3t <= ts + $4::interval then l3t end as t4
  from sx where (mask & 1) <> 0
),
best as (
  select b.*, p.bd
  from (
    select distinct on (user_id) user_id, t1, t2, t3, t4
    from att
    order by user_id, 1 + (t2 is not null)::int + (t3 is not null)::int + (t4 is not null)::int desc, t1
  ) b
  join pop p on p.user_id = b.user_id
)
select w.bd, s.k, s.users, s.median, s.mean
from (
  select bd, count(*) as u1,
    count(t2) as u2, percentile_cont(0.5) within group (order by extract(epoch from t2 - t1)::float8) as m2, avg(extract(epoch from t2 - t1)::float8) as a2,
    count(t3) as u3, percentile_cont(0.5) within group (order by extract(epoch from t3 - t2)::float8) as m3, avg(extract(epoch from t3 - t2)::float8) as a3,
    count(t4) as u4, percentile_cont(0.5) within group (order by extract(epoch from t4 - t3)::float8) as m4, avg(extract(epoch from t4 - t3)::float8) as a4
  from best
  group by bd
) w
cross join lateral (values (1, w.u1, null::float8, null::float8), (2, w.u2, w.m2, w.a2), (3, w.u3, w.m3, w.a3), (4, w.u4, w.m4, w.a4)) as s(k, users, median, mean)
where s.users > 0
-- $1 = 2026-01-01T00:00:00Z
-- $2 = 2026-06-01T00:00:00Z
-- $3 = "booking"
-- $4 = 336h0m0s
