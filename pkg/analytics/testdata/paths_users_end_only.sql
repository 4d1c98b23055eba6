with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b
  where true
),
ev as (
  select o.* from (
    select x.user_id as user_id, x.session_id as sid, x.occurred_at as ts, x.activity_type as label, 1 as src, x.id, false as is_e from bdc.user_activities x where (x.occurred_at >= $1::timestamptz and x.occurred_at < $2::timestamptz)
    union all
    select b.user_id as user_id, null::text as sid, x.scheduled_at as ts, 'appointment_completed'::text as label, 3 as src, x.id, true as is_e from bdc.appointments x join bdc.beneficiaries b on b.id = x.beneficiary_id where (x.scheduled_at >= $1::timestamptz and x.scheduled_at < $2::timestamptz and x.status = 'completed')
  ) o
  where not exists (select 1 from bdc.users pm_u where pm_u.id = o.user_id and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id))
),
sq as (
  select user_id, sid, ts, label, src, id, is_e, row_number() over (partition by user_id order by ts, label collate "C", src, id) as rn
  from ev
),
an as (
  select *, min(rn) filter (where is_e) over (partition by user_id order by ts, label collate "C", src, id rows between unbounded preceding and unbounded following) as e_rn from sq
),
cut as (
  select user_id, sid, ts, label, src, id from an where rn <= e_rn
),
st as (
  select user_id, sid, ts, label, row_number() over w as step, lead(label) over w as nlabel, lead(ts) over w as nts, count(*) over (partition by user_id order by ts, label collate "C", src, id rows between unbounded preceding and unbounded following) as n
  from (select user_id, sid, ts, label, src, id, lag(label) over (partition by user_id order by ts, label collate "C", src, id) as prev from cut) c
  where prev is distinct from label
  window w as (partition by user_id order by ts, label collate "C", src, id)
),
pe as (
  select user_id, sid, step - greatest(n - $3::int, 0) as step, ts, label, nlabel, nts from st where step > n - $3::int
),
kept as (
  select step, src, dst, n, secs from (
    select step, label as src, nlabel as dst, count(*) as n, avg(extract(epoch from nts - ts)::float8) as secs,
      row_number() over (order by count(*) desc, step, label collate "C", nlabel collate "C") as r
    from pe where nlabel is not null
    group by step, label, nlabel
    having true
  ) e
  where r <= $4::int
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
  select path, n, secs from jn order by n desc, path collate "C" limit $5::int
) j
union all
select 't', 0, null, null, n, users, null, null from tot
-- $1 = 2026-01-01T00:00:00Z
-- $2 = 2026-06-01T00:00:00Z
-- $3 = 5
-- $4 = 50
-- $5 = 10
