with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b
  where true
),
ev as (
  select o.* from (
    select x.user_id as user_id, x.session_id as sid, x.occurred_at as ts, x.activity_type as label, 1 as src, x.id from bdc.user_activities x where (x.occurred_at >= $1::timestamptz and x.occurred_at < $2::timestamptz and (x.session_id is not null and x.feature = $3::text is not true))
  ) o
  where not exists (select 1 from bdc.users pm_u where pm_u.id = o.user_id and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id))
),
st as (
  select user_id, sid, ts, label, row_number() over w as step, lead(label) over w as nlabel, lead(ts) over w as nts
  from (select user_id, sid, ts, label, src, id, lag(label) over (partition by user_id, sid collate "C" order by ts, label collate "C", id) as prev from ev) c
  where prev is distinct from label
  window w as (partition by user_id, sid collate "C" order by ts, label collate "C", id)
),
pe as (
  select user_id, sid, step, ts, label, case when step < $4::int then nlabel end as nlabel, nts from st where step <= $4::int
),
kept as (
  select step, src, dst, n, secs from (
    select step, label as src, nlabel as dst, count(*) as n, avg(extract(epoch from nts - ts)::float8) as secs,
      row_number() over (order by count(*) desc, step, label collate "C", nlabel collate "C") as r
    from pe where nlabel is not null
    group by step, label, nlabel
    having count(*) >= $5::bigint
  ) e
  where r <= $6::int
),
nodes as (
  select step, label, count(*) as n, count(*) filter (where nlabel is null) as ends from pe group by step, label
),
jr as (
  select user_id, array_agg(label order by step) as path, extract(epoch from max(ts) - min(ts))::float8 as secs
  from pe group by user_id, sid collate "C"
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
  select path, n, secs from jn order by n desc, path collate "C" limit $7::int
) j
union all
select 't', 0, null, null, n, users, null, null from tot
-- $1 = 2026-01-01T00:00:00Z
-- $2 = 2026-06-01T00:00:00Z
-- $3 = "profile"
-- $4 = 5
-- $5 = 3
-- $6 = 50
-- $7 = 10
