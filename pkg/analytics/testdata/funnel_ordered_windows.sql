with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, b.acquisition_channel as bd
  from bdc.beneficiaries b cross join lateral (select extract(year from b.created_at at time zone 'Europe/Paris')::int - b.birth_year as age) ag
  where (b.region = any($1::text[]) and exists (select 1 from unnest($2::int[], $3::int[]) as band(lo, hi) where ag.age between band.lo and band.hi) and exists (select 1 from bdc.appointments ap where ap.beneficiary_id = b.id and ap.channel = any($4::text[])))
),
occ as (
  select user_id, ts, mask from (
    select x.user_id as user_id, x.occurred_at as ts, 1 as mask from bdc.user_activities x where (x.occurred_at >= $5::timestamptz and x.occurred_at < $6::timestamptz and x.activity_type = $7::text)
    union all
    select x.user_id as user_id, x.occurred_at as ts, 2 as mask from bdc.user_activities x where (x.occurred_at >= $5::timestamptz and x.occurred_at < $6::timestamptz and x.activity_type = $8::text)
    union all
    select b.user_id as user_id, x.booked_at as ts, 4 as mask from bdc.appointments x join bdc.beneficiaries b on b.id = x.beneficiary_id where (x.booked_at >= $5::timestamptz and x.booked_at < $6::timestamptz and x.channel = any($9::text[]))
    union all
    select b.user_id as user_id, x.scheduled_at as ts, 8 as mask from bdc.appointments x join bdc.beneficiaries b on b.id = x.beneficiary_id where (x.scheduled_at >= $5::timestamptz and x.scheduled_at < $6::timestamptz and (x.status = 'completed' and x.channel = any($10::text[])))
  ) o
  where (user_id in (select user_id from pop) and mask <> 0)
),
att as (
  select user_id, ts as t1, case when c1_2 <= ts + $11::interval then c1_2 end as t2, case when c1_3 <= ts + $11::interval then c1_3 end as t3, case when c1_4 <= ts + $11::interval then c1_4 end as t4
  from (
    select user_id, ts, mask, min(ts) filter (where (mask & 2) <> 0) over w as c1_2, min(c2_3) filter (where (mask & 2) <> 0) over w as c1_3, min(c2_4) filter (where (mask & 2) <> 0) over w as c1_4
    from (select user_id, ts, mask, min(ts) filter (where (mask & 4) <> 0) over w as c2_3, min(c3_4) filter (where (mask & 4) <> 0) over w as c2_4
    from (select user_id, ts, mask, min(ts) filter (where (mask & 8) <> 0) over w as c3_4
    from (select user_id, ts, mask from occ) l4
    window w as (partition by user_id order by ts desc range between unbounded preceding and '1 microsecond' preceding)) l3
    where (mask & 7) <> 0
    window w as (partition by user_id order by ts desc range between unbounded preceding and '1 microsecond' preceding)) l2
    where (mask & 3) <> 0
    window w as (partition by user_id order by ts desc range between unbounded preceding and '1 microsecond' preceding)
  ) l1
  where (mask & 1) <> 0
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
-- $7 = "login"
-- $8 = "booking"
-- $9 = ["video"]
-- $10 = ["video"]
-- $11 = 336h0m0s
