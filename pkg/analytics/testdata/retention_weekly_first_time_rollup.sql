with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b
  where true
),
tgt as (
  select p.bd, e.user_id, ((e.day - $3::date) / 7) as c
  from (select x.id as user_id, (x.created_at at time zone $1::text)::date as day from bdc.users x where x.created_at < $2::timestamptz) e join pop p on p.user_id = e.user_id
  where e.day >= $3::date
),
ret as (
  select user_id, p from (
    select e.user_id, ((e.day - $3::date) / 7) as p, lag(((e.day - $3::date) / 7)) over (partition by e.user_id order by e.day) as prev
    from (select r.user_id, r.day from bdc_analytics.user_activity_daily r where r.day >= $5::date and r.day < $4::date
    union all
    select x.user_id as user_id, (x.occurred_at at time zone 'Europe/Paris')::date as day from bdc.user_activities x where (x.occurred_at >= $6::timestamptz and x.occurred_at < $2::timestamptz and true)) e
  ) d
  where prev is distinct from p
),
hits as (
  select t.bd, t.c, t.user_id, r.p - t.c as k
  from tgt t join ret r on r.user_id = t.user_id
  where r.p > t.c and r.p < t.c + $7::int
)
select 's', bd, c, 0, count(*) from tgt group by bd, c
union all
select 'n', bd, c, k, count(*) from hits group by bd, c, k
-- $1 = "Europe/Paris"
-- $2 = 2026-06-01T00:00:00Z
-- $3 = 2025-12-29T00:00:00Z
-- $4 = 2026-03-15T00:00:00Z
-- $5 = 2025-12-29T00:00:00Z
-- $6 = 2026-03-15T00:00:00+01:00
-- $7 = 8
