with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b cross join lateral (select extract(year from b.created_at at time zone 'Europe/Paris')::int - b.birth_year as age) ag
  where (b.region = any($1::text[]) and exists (select 1 from unnest($2::int[], $3::int[]) as band(lo, hi) where ag.age between band.lo and band.hi) and exists (select 1 from bdc.appointments ap where ap.beneficiary_id = b.id and ap.channel = any($4::text[])))
),
af as (
  select x.user_id, x.session_id as sid, x.occurred_at as ts, x.activity_type as label, x.id
  from bdc.user_activities x
  where x.occurred_at >= $8::timestamptz and x.occurred_at < $6::timestamptz
    and x.session_id is not null and x.user_id in (select user_id from pop)
),
sp as (
  select user_id, sid, min(f) as f, max(l) as l from (
  select r.user_id, r.session_id as sid, r.first_event_at as f, r.last_event_at as l from bdc_analytics.user_session_daily r where (r.day >= $7::date and r.day <= $9::date and r.last_event_at >= $5::timestamptz and r.first_event_at < $6::timestamptz and r.spans_days)
  union all
  select r.user_id, r.session_id as sid, r.first_event_at as f, r.last_event_at as l from bdc_analytics.user_session_daily r where (r.day >= $7::date and r.day <= $9::date and r.last_event_at >= $5::timestamptz and r.first_event_at < $6::timestamptz and r.day in ($7::date, $9::date) and (r.first_event_at < $5::timestamptz or r.last_event_at >= $6::timestamptz))
  union all
  select r.user_id, r.session_id as sid, r.first_event_at as f, r.last_event_at as l from (select distinct user_id, sid from af) f
    join bdc_analytics.user_session_daily r on (r.day >= $7::date and r.day <= $9::date and r.last_event_at >= $5::timestamptz and r.first_event_at < $6::timestamptz and r.user_id = f.user_id and r.session_id = f.sid)
  ) s where user_id in (select user_id from pop) group by user_id, sid
),
rs as (
  select user_id, labels, starts, runs from (
  select user_id, sid, array_agg(label order by run) as labels, array_agg(first_at order by run) as starts,
    array_agg(n order by run) as runs, min(first_at) as first_at, max(last_at) as last_at
  from (
    select user_id, sid, run, min(label) as label, min(ts) as first_at, max(ts) as last_at, count(*)::int as n
    from (
      select *, count(*) filter (where prev is distinct from label) over (partition by user_id, sid order by ts, label collate "C", id) as run
      from (select *, lag(label) over (partition by user_id, sid order by ts, label collate "C", id) as prev from (select s.user_id, s.sid, x.occurred_at as ts, x.activity_type as label, x.id
    from sp s cross join lateral (
      select x.occurred_at, x.activity_type, x.id from bdc.user_activities x
      where x.user_id = s.user_id and x.session_id = s.sid
        and x.occurred_at >= greatest(s.f, $5::timestamptz) and x.occurred_at <= s.l and x.occurred_at < $10::timestamptz
    ) x
    union all
    select user_id, sid, ts, label, id from af) e) e
    ) e
    group by user_id, sid, run
  ) g
  group by user_id, sid
  ) s
),
pa as (
  select user_id, substr(codes, lo, hi - lo + 1) as pc, null::text[] as pl, gaps[lo] as g1, gaps[lo + 1] as g2, gaps[lo + 2] as g3, gaps[lo + 3] as g4 from (
    select user_id, codes, gaps, k as lo, least(m, length(codes)) as hi from (
      select user_id, codes, gaps, k, case when substr(codes, k, 1) = (select code from bdc_analytics.activity_type_codes where activity_type = $13::text) and runs[k] >= 2 then k else nullif(strpos(substr(codes, k + 1), (select code from bdc_analytics.activity_type_codes where activity_type = $13::text)), 0) + k end as m from (
        select user_id, codes, gaps, runs, nullif(strpos(codes, (select code from bdc_analytics.activity_type_codes where activity_type = $12::text)), 0) as k from (select r.user_id, r.codes, r.gaps, r.runs from bdc_analytics.user_session_daily r where (r.day >= $7::date and r.day <= $9::date and not r.spans_days and r.first_event_at >= $5::timestamptz and r.last_event_at < $6::timestamptz and r.user_id in (select user_id from pop) and not exists (select 1 from af where af.user_id = r.user_id and af.sid = r.session_id))) s
      ) s where k is not null
    ) s where m is not null and m - k < $11::int
  ) s
  union all
  select user_id, null::text as pc, labels[lo:hi] as pl, date_part('epoch', starts[lo + 1] - starts[lo]) as g1, date_part('epoch', starts[lo + 2] - starts[lo + 1]) as g2, date_part('epoch', starts[lo + 3] - starts[lo + 2]) as g3, date_part('epoch', starts[lo + 4] - starts[lo + 3]) as g4 from (
    select user_id, labels, starts, k as lo, least(m, cardinality(labels)) as hi from (
      select user_id, labels, starts, k, case when labels[k] = $13::text and runs[k] >= 2 then k else array_position(labels, $13::text, k + 1) end as m from (
        select user_id, labels, starts, runs, array_position(labels, $12::text) as k from rs s
      ) s where k is not null
    ) s where m is not null and m - k < $11::int
  ) s
),
ga as (
  select grouping(user_id) as by_path, pc, pl, count(*) as n, sum(g1) as g1, sum(g2) as g2, sum(g3) as g3, sum(g4) as g4
  from pa group by grouping sets ((pc, pl), (user_id))
),
gp as (
  select p, n, gaps, (select coalesce(sum(g), 0) from unnest(gaps[1:cardinality(p) - 1]) as g) as dur
  from (
    select p, sum(n)::bigint as n, array[sum(g1), sum(g2), sum(g3), sum(g4)] as gaps
    from (
      select coalesce(pl, (
        select array_agg(c.activity_type order by u.i)
        from unnest(string_to_array(pc, null)) with ordinality as u(code, i)
        join bdc_analytics.activity_type_codes c on c.code = u.code
      )) as p, n, g1, g2, g3, g4
      from ga where by_path = 1
    ) g
    group by p
  ) g
),
kept as (
  select step, src, dst, n, secs from (
    select i as step, p[i] as src, p[i + 1] as dst, sum(n)::bigint as n, sum(gaps[i]) / sum(n)::float8 as secs,
      row_number() over (order by sum(n) desc, i, p[i] collate "C", p[i + 1] collate "C") as r
    from gp cross join lateral generate_series(1, cardinality(p) - 1) as i
    group by i, p[i], p[i + 1]
    having true
  ) e
  where r <= $14::int
),
nodes as (
  select i as step, p[i] as label, sum(n)::bigint as n, coalesce(sum(n) filter (where i = cardinality(p)), 0)::bigint as ends
  from gp cross join lateral generate_series(1, cardinality(p)) as i
  group by i, p[i]
),
jn as (
  select p as path, n, dur / n as secs from gp
),
tot as (
  select coalesce((select sum(n) from gp), 0)::bigint as n, (select count(*) from ga where by_path = 0) as users
)
select 'e', step, src, dst, n, 0::bigint, secs, null::text[] from kept
union all
select 'n', step, label, null, n, ends, null, null from nodes nd
where exists (select 1 from kept k where (k.step = nd.step and k.src = nd.label) or (k.step + 1 = nd.step and k.dst = nd.label))
union all
select 'j', 0, null, null, n, 0, secs, path from (
  select path, n, secs from jn order by n desc, path collate "C" limit $15::int
) j
union all
select 't', 0, null, null, n, users, null, null from tot
-- $1 = ["bretagne"]
-- $2 = [25,65]
-- $3 = [34,150]
-- $4 = ["video"]
-- $5 = 2026-01-01T00:00:00Z
-- $6 = 2026-06-01T00:00:00Z
-- $7 = 2026-01-01T00:00:00Z
-- $8 = 2026-03-15T00:00:00+01:00
-- $9 = 2026-03-14T00:00:00Z
-- $10 = 2026-03-15T00:00:00+01:00
-- $11 = 5
-- $12 = "login"
-- $13 = "booking"
-- $14 = 50
-- $15 = 10
