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
ux as (
  select user_id, ts, mask,
    min(ts) filter (where (mask & 1) <> 0) over w as f1,
    min(ts) filter (where (mask & 2) <> 0) over w as f2,
    min(ts) filter (where (mask & 4) <> 0) over w as f3,
    min(ts) filter (where (mask & 8) <> 0) over w as f4
  from occ
  window w as (partition by user_id order by ts desc range between unbounded preceding and current row)
),
att as (
  select user_id, ts, array[case when f1 <= ts + $4::interval then f1 end, case when f2 <= ts + $4::interval then f2 end, case when f3 <= ts + $4::interval then f3 end, case when f4 <= ts + $4::interval then f4 end] as fs,
    case when f1 <= ts + $4::interval then 1 else 0 end + case when f2 <= ts + $4::interval then 1 else 0 end + case when f3 <= ts + $4::interval then 1 else 0 end + case when f4 <= ts + $4::interval then 1 else 0 end as reached
  from ux
),
best as (
  select b.user_id, p.bd, b.fs
  from (select distinct on (user_id) user_id, fs from att order by user_id, reached desc, ts) b
  join pop p on p.user_id = b.user_id
),
steps as (
  select b.bd, row_number() over s as k, extract(epoch from u.t - lag(u.t) over s)::float8 as secs
  from best b cross join lateral unnest(b.fs) as u(t)
  where u.t is not null
  window s as (partition by b.user_id order by u.t)
)
select bd, k::int, count(*), percentile_cont(0.5) within group (order by secs), avg(secs)
from steps group by bd, k
-- $1 = 2026-01-01T00:00:00Z
-- $2 = 2026-06-01T00:00:00Z
-- $3 = "booking"
-- $4 = 336h0m0s
