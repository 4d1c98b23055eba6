set local parallel_tuple_cost = 0.01;
with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b cross join lateral (select extract(year from b.created_at at time zone 'Europe/Paris')::int - b.birth_year as age) ag
  where (b.region = any($1::text[]) and exists (select 1 from unnest($2::int[], $3::int[]) as band(lo, hi) where ag.age between band.lo and band.hi) and exists (select 1 from bdc.appointments ap where ap.beneficiary_id = b.id and ap.channel = any($4::text[])))
),
e0 as (
  select coalesce(g.user_id, t.user_id) as user_id, g.s[width_bucket($7::timestamptz - interval '1 microsecond', g.s) + 1:] || t.t as s1
  from (
    select r.user_id, bdc_analytics.array_cat_agg(r.instants order by r.month) as s
    from bdc_analytics.user_activity_instants r
    where (r.dimension = 't' and r.name = $8::text and r.month >= $9::date and r.month <= $10::date and r.user_id in (select user_id from pop))
    group by r.user_id
  ) g full join (
    select user_id, array_agg(ts order by ts) as t from (select x.user_id as user_id, x.occurred_at as ts, 9 as mask from bdc.user_activities x where (x.occurred_at >= $11::timestamptz and x.occurred_at < $12::timestamptz and x.activity_type = $13::text)) o
    where (user_id in (select user_id from pop) and mask <> 0)
    group by user_id
  ) t on t.user_id = g.user_id
),
e1 as (
  select coalesce(g.user_id, t.user_id) as user_id, g.s[width_bucket($7::timestamptz - interval '1 microsecond', g.s) + 1:] || t.t as s2
  from (
    select r.user_id, bdc_analytics.array_cat_agg(r.instants order by r.month) as s
    from bdc_analytics.user_activity_instants r
    where (r.dimension = 'f' and r.name = $14::text and r.month >= $9::date and r.month <= $10::date and r.user_id in (select user_id from pop))
    group by r.user_id
  ) g full join (
    select user_id, array_agg(ts order by ts) as t from (select x.user_id as user_id, x.occurred_at as ts, 2 as mask from bdc.user_activities x where (x.occurred_at >= $11::timestamptz and x.occurred_at < $12::timestamptz and x.feature = $15::text)) o
    where (user_id in (select user_id from pop) and mask <> 0)
    group by user_id
  ) t on t.user_id = g.user_id
),
e2 as (
  select user_id, array_agg(ts order by ts) filter (where (mask & 4) <> 0) as s3
  from (select b.user_id as user_id, x.booked_at as ts, 4 as mask from bdc.appointments x join bdc.beneficiaries b on b.id = x.beneficiary_id where (x.booked_at >= $7::timestamptz and x.booked_at < $12::timestamptz and x.channel = any($6::text[]))) o
  where (user_id in (select user_id from pop) and mask <> 0)
  group by user_id
),
ev as (
  select e0.user_id, e0.s1, e1.s2, e2.s3, e0.s1 as s4
  from e0
  left join e1 on e1.user_id = e0.user_id
  left join e2 on e2.user_id = e0.user_id
),
best as (
  select b.*, p.bd
  from (
    select e.user_id, k.t1, case when a2.c <= k.t1 + $5::interval then a2.c end as t2, case when a3.c <= k.t1 + $5::interval then a3.c end as t3, case when a4.c <= k.t1 + $5::interval then a4.c end as t4
    from ev e cross join lateral (
      select coalesce(min(l.t1) filter (where a4.c <= l.t1 + $5::interval), min(l.t1) filter (where a3.c <= l.t1 + $5::interval), min(l.t1) filter (where a2.c <= l.t1 + $5::interval), min(l.t1)) as t1
      from (select unnest(e.s1) as t1) l
        cross join lateral (select e.s2[width_bucket(l.t1, e.s2) + 1] as c) a2
        cross join lateral (select e.s3[width_bucket(a2.c, e.s3) + 1] as c) a3
        cross join lateral (select e.s4[width_bucket(a3.c, e.s4) + 1] as c) a4
    ) k
      cross join lateral (select e.s2[width_bucket(k.t1, e.s2) + 1] as c) a2
      cross join lateral (select e.s3[width_bucket(a2.c, e.s3) + 1] as c) a3
      cross join lateral (select e.s4[width_bucket(a3.c, e.s4) + 1] as c) a4
    where k.t1 is not null
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
-- $1 = ["bretagne"]
-- $2 = [25,65]
-- $3 = [34,150]
-- $4 = ["video"]
-- $5 = 336h0m0s
-- $6 = ["video"]
-- $7 = 2026-01-02T12:00:00Z
-- $8 = "login"
-- $9 = 2026-01-01T00:00:00Z
-- $10 = 2026-04-01T00:00:00Z
-- $11 = 2026-04-10T00:00:00+02:00
-- $12 = 2026-05-29T22:00:00Z
-- $13 = "login"
-- $14 = "calendar"
-- $15 = "calendar"
