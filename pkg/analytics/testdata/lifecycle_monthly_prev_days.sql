with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b cross join lateral (select extract(year from b.created_at at time zone 'Europe/Paris')::int - b.birth_year as age) ag
  where (b.region = any($1::text[]) and exists (select 1 from unnest($2::int[], $3::int[]) as band(lo, hi) where ag.age between band.lo and band.hi) and exists (select 1 from bdc.appointments ap where ap.beneficiary_id = b.id and ap.channel = any($4::text[])))
),
agg as (
  select p, sum(fresh)::bigint as fresh, sum(back)::bigint as back, sum(revived)::bigint as revived
  from (
  select e.p, count(*) filter (where e.prev_day is null) as fresh,
    count(*) filter (where e.prev_day is not null and e.pp = e.p - 1) as back,
    count(*) filter (where e.prev_day is not null and e.pp < e.p - 1) as revived
  from (
    select r.prev_day, ((width_bucket(r.day, $7::date[]) - 1) - 1) as p,
      case when r.prev_day >= $8::date then ((width_bucket(r.prev_day, $7::date[]) - 1) - 1) else -2 end as pp
    from (select r.user_id, r.day, r.prev_day from bdc_analytics.user_activity_daily r where r.day >= $6::date and r.day < $5::date) r
    where r.user_id in (select user_id from pop)
  ) e
  where e.pp <> e.p
  group by e.p
  ) c
  group by p
)
select true, p, fresh, back, revived, 0::bigint from agg
union all
select false, g.p, 0, 0, 0, coalesce(b.fresh + b.back + b.revived, 0) - coalesce(n.back, 0)
from generate_series(0, $9::int) as g(p)
left join agg b on b.p = g.p - 1
left join agg n on n.p = g.p
-- $1 = ["bretagne"]
-- $2 = [25,65]
-- $3 = [34,150]
-- $4 = ["video"]
-- $5 = 2026-06-01T00:00:00Z
-- $6 = 2025-12-01T00:00:00Z
-- $7 = ["2025-12-01T00:00:00Z","2026-01-01T00:00:00Z","2026-02-01T00:00:00Z","2026-03-01T00:00:00Z","2026-04-01T00:00:00Z","2026-05-01T00:00:00Z"]
-- $8 = 2025-12-01T00:00:00Z
-- $9 = 4
