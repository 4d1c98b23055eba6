with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, b.gender as bd
  from bdc.beneficiaries b cross join lateral (select extract(year from b.created_at at time zone 'Europe/Paris')::int - b.birth_year as age) ag
  where (b.region = any($1::text[]) and exists (select 1 from unnest($2::int[], $3::int[]) as band(lo, hi) where ag.age between band.lo and band.hi) and exists (select 1 from bdc.appointments ap where ap.beneficiary_id = b.id and ap.channel = any($4::text[])))
),
tgt as (
  select p.bd, e.user_id, (width_bucket(e.day, $7::date[]) - 1) as c
  from (select x.id as user_id, (x.created_at at time zone $5::text)::date as day from bdc.users x where x.created_at < $6::timestamptz) e join pop p on p.user_id = e.user_id
  where e.day >= $8::date
),
hits as (
  select t.bd, t.c, t.user_id, h.k from tgt t cross join lateral (
    select distinct (width_bucket(r.day, $7::date[]) - 1) - t.c as k from bdc_analytics.user_activity_daily r
    where (r.user_id = t.user_id and r.day >= ($8::date + make_interval(months => t.c + 1))::date and r.day < least(($8::date + make_interval(months => t.c + $9::int))::date, $10::date) and r.feature_counts ? $11::text)
  ) h
)
select 's', bd, c, 0, count(*) from tgt group by bd, c
union all
select 'n', bd, c, k, count(*) from hits group by bd, c, k
-- $1 = ["bretagne"]
-- $2 = [25,65]
-- $3 = [34,150]
-- $4 = ["video"]
-- $5 = "Europe/Paris"
-- $6 = 2026-03-01T00:00:00+01:00
-- $7 = ["2026-01-01T00:00:00Z","2026-02-01T00:00:00Z"]
-- $8 = 2026-01-01T00:00:00Z
-- $9 = 8
-- $10 = 2026-03-01T00:00:00Z
-- $11 = "documents"
