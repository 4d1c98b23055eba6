with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b cross join lateral (select extract(year from b.created_at at time zone 'Europe/Paris')::int - b.birth_year as age) ag
  where (b.region = any($1::text[]) and exists (select 1 from unnest($2::int[], $3::int[]) as band(lo, hi) where ag.age between band.lo and band.hi) and exists (select 1 from bdc.appointments ap where ap.beneficiary_id = b.id and ap.channel = any($4::text[])))
),
ev as (
  select o.* from (
    select x.user_id as user_id, x.session_id as sid, x.occurred_at as ts, x.activity_type || coalesce('/' || x.feature, '') as label, 1 as src, x.id, coalesce(x.activity_type = $7::text, false) as is_s, false as is_e from bdc.user_activities x where (x.occurred_at >= $5::timestamptz and x.occurred_at < $6::timestamptz)
    union all
    select b.user_id as user_id, null::text as sid, x.booked_at as ts, 'appointment_booked'::text as label, 2 as src, x.id, false as is_s, true as is_e from bdc.appointments x join bdc.beneficiaries b on b.id = x.beneficiary_id where (x.booked_at >= $5::timestamptz and x.booked_at < $6::timestamptz and x.channel = any($8::text[]))
  ) o
  where o.user_id in (select user_id from pop)
),
sq as (
  select user_id, sid, ts, label, src, id, is_s, is_e, row_number() over (partition by user_id order by ts, label collate "C", src, id) as rn
  from ev
),
an as (
  select *, min(rn) filter (where is_s) over (partition by user_id order by ts, label collate "C", src, id rows between unbounded preceding and unbounded following) as s_rn from sq
),
an2 as (
  select *, min(rn) filter (where is_e and rn > s_rn) over (partition by user_id order by ts, label collate "C", src, id rows between unbounded preceding and unbounded following) as e_rn from an where rn >= s_rn
),
cut as (
  select user_id, sid, ts, label, src, id from an2 where rn <= e_rn
),
st as (
  select user_id, sid, ts, label, row_number() over w as step, lead(label) over w as nlabel, lead(ts) over w as nts, count(*) over (partition by user_id order by ts, label collate "C", src, id rows between unbounded preceding and unbounded following) as n
  from (select user_id, sid, ts, label, src, id, lag(label) over (partition by user_id order by ts, label collate "C", src, id) as prev from cut) c
  where prev is distinct from label
  window w as (partition by user_id order by ts, label collate "C", src, id)
),
pe as (
  select user_id, sid, step, ts, label, nlabel, nts from st where n <= $9::int
),
kept as (
  select step, src, dst, n, secs from (
    select step, label as src, nlabel as dst, count(*) as n, avg(extract(epoch from nts - ts)::float8) as secs,
      row_number() over (order by count(*) desc, step, label collate "C", nlabel collate "C") as r
    from pe where nlabel is not null
    group by step, label, nlabel
    having true
  ) e
  where r <= $10::int
),
nodes as (
  select step, label, count(*) as n, count(*) filter (where nlabel is null) as ends from pe group by step, label
),
jr as (
  select user_id, array_agg(label order by step) as path, extract(epoch from max(ts) - min(ts))::float8 as secs
  from pe group by user_id
),
jn as (
  select path, count(*) as n, avg(secs) as secs from jr group by path
),
tot as (
  select count(*) as n, count(distinct user_id) as users from jr
)
select 'e', step, src, dst, n, 0::bigint, secs, null::text[] from kept
union all
select 'n', step, label, null, n, ends, null, null from nodes nd
where exists (select 1 from kept k where (k.step = nd.step and k.src = nd.label) or (k.step + 1 = nd.step and k.dst = nd.label))
union all
select 'j', 0, null, null, n, 0, secs, path from (
  select path, n, secs from jn order by n desc, path collate "C" limit $11::int
) j
union all
select 't', 0, null, null, n, users, null, null from tot
-- $1 = ["bretagne"]
-- $2 = [25,65]
-- $3 = [34,150]
-- $4 = ["video"]
-- $5 = 2026-01-01T00:00:00Z
-- $6 = 2026-06-01T00:00:00Z
-- $7 = "login"
-- $8 = ["video"]
-- $9 = 5
-- $10 = 50
-- $11 = 10
