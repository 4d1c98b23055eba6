with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, (case when ag.age <= 17 then '0-17' when ag.age <= 24 then '18-24' when ag.age <= 34 then '25-34' when ag.age <= 44 then '35-44' when ag.age <= 54 then '45-54' when ag.age <= 64 then '55-64' else '65+' end) as bd
  from bdc.beneficiaries b cross join lateral (select extract(year from b.created_at at time zone 'Europe/Paris')::int - b.birth_year as age) ag
  where (b.region = any($1::text[]) and exists (select 1 from unnest($2::int[], $3::int[]) as band(lo, hi) where ag.age between band.lo and band.hi) and exists (select 1 from bdc.appointments ap where ap.beneficiary_id = b.id and ap.channel = any($4::text[])))
),
tgt as (
  select distinct p.bd, e.user_id, (width_bucket(e.day, $5::date[]) - 1) as c
  from (select x.user_id as user_id, (x.occurred_at at time zone $6::text)::date as day from bdc.user_activities x where (x.occurred_at >= $8::timestamptz and x.occurred_at < $9::timestamptz and x.feature = $7::text)) e
  join pop p on p.user_id = e.user_id
),
ret as (
  select distinct e.user_id, (width_bucket(e.day, $5::date[]) - 1) as p
  from (select b.user_id as user_id, (x.scheduled_at at time zone $6::text)::date as day from bdc.appointments x join bdc.beneficiaries b on b.id = x.beneficiary_id where (x.scheduled_at >= $11::timestamptz and x.scheduled_at < $9::timestamptz and (x.status = 'completed' and x.channel = any($10::text[])))) e
  where e.user_id in (select user_id from pop)
),
up as (
  select max(bd) as bd, user_id, p, bool_or(t) as t, bool_or(r) as r
  from (select bd, user_id, c as p, true as t, false as r from tgt
    union all select null, user_id, p, false, true from ret) x
  group by user_id, p
),
win as (
  select bd, user_id, p as c, t, array_agg(p) filter (where r) over w as back
  from up
  window w as (partition by user_id order by p range between 1 following and $12::int following)
)
select 's', bd, c, 0, count(*) from tgt group by bd, c
union all
select 'n', w.bd, w.c, b.p - w.c, count(*) from win w cross join lateral unnest(w.back) as b(p) where w.t group by w.bd, w.c, b.p - w.c
-- $1 = ["bretagne"]
-- $2 = [25,65]
-- $3 = [34,150]
-- $4 = ["video"]
-- $5 = ["2025-12-01T00:00:00Z","2026-01-01T00:00:00Z","2026-02-01T00:00:00Z","2026-03-01T00:00:00Z","2026-04-01T00:00:00Z","2026-05-01T00:00:00Z"]
-- $6 = "America/New_York"
-- $7 = "documents"
-- $8 = 2025-12-01T00:00:00-05:00
-- $9 = 2026-06-01T00:00:00Z
-- $10 = ["video"]
-- $11 = 2025-12-01T00:00:00-05:00
-- $12 = 7
