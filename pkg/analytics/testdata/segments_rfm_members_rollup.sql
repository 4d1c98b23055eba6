set local enable_indexscan = off;
with pop as not materialized (
  select b.user_id, b.id as beneficiary_id, ''::text as bd
  from bdc.beneficiaries b
  where true
),
ua as not materialized (
  select x.user_id, sum(x.days)::int as days, sum(x.n)::bigint as events, max(x.last_at) as last_at, bit_or(x.mask) as mask
  from (select r.user_id, r.days, r.events as n, r.last_event_at as last_at, r.feature_mask as mask from bdc_analytics.user_activity_monthly r where r.start >= $2::date and r.start < $1::date
    union all
    select r.user_id, 1 as days, r.event_count as n, r.last_event_at as last_at, r.feature_mask as mask from bdc_analytics.user_activity_daily r where r.day >= $3::date and r.day < $4::date
    union all
    select x.user_id, 1 as days, x.n, x.last_at, x.mask from (select x.user_id, (x.occurred_at at time zone $5::text)::date as day, count(*)::int as n, max(x.occurred_at) as last_at, 0::bigint as mask from bdc.user_activities x where (x.occurred_at >= $6::timestamptz and x.occurred_at < $7::timestamptz) group by 1, 2) x) x
  group by x.user_id
),
fea as (
  select distinct x.user_id, x.feature from (select r.user_id, f.feature from bdc_analytics.user_activity_daily r cross join unnest(r.extra_features) as f(feature) where r.extra_features is not null and r.day >= $9::date and r.day < $8::date
    union all
    select x.user_id, x.feature from bdc.user_activities x where (x.occurred_at >= $10::timestamptz and x.occurred_at < $7::timestamptz and x.feature is not null)) x
),
beh as (
  select p.user_id, p.beneficiary_id, p.bd, coalesce(x.days, 0) as days, coalesce(x.events, 0) as events, x.last_at, x.mask,
    coalesce(bit_count(x.mask::bit(64))::int, 0) + coalesce(y.features, 0) as features
  from pop p
  left join ua x on x.user_id = p.user_id
  left join (select f.user_id, count(*)::int as features from fea f
      left join ua m on m.user_id = f.user_id
      left join bdc_analytics.feature_bits fb on fb.feature = f.feature
      where fb.bit is null or coalesce(m.mask, 0) & (1::bigint << fb.bit) = 0
      group by f.user_id) y on y.user_id = p.user_id
  where not exists (select 1 from bdc.users u where u.id = p.user_id and u.created_at >= $7::timestamptz)
),
apc as (
  select x.beneficiary_id, count(*)::int as n from bdc.appointments x
  where (x.scheduled_at >= $11::timestamptz and x.scheduled_at < $7::timestamptz and x.status = 'completed')
  group by 1
),
pay as (
  select x.beneficiary_id, sum(x.amount_cents)::float8 as cents
  from bdc.payments x
  where x.paid_at >= $11::timestamptz and x.paid_at < $7::timestamptz
  group by 1
),
ft as (
  select h.user_id, h.days, h.events, h.features, coalesce(c.n, 0) as appointments, coalesce(m.cents, 0) as monetary,
    coalesce((extract(epoch from $7::timestamptz - h.last_at)::float8 / 86400), (extract(epoch from $7::timestamptz - $11::timestamptz)::float8 / 86400)) as recency
  from beh h
  left join apc c on c.beneficiary_id = h.beneficiary_id
  left join pay m on m.beneficiary_id = h.beneficiary_id
),
q5 as (
  select user_id, recency, days + appointments as frequency, monetary,
    rank() over (order by recency desc) as r0
  from ft
),
fr as (
  select v, c, (sum(c) over (order by v) - c + 1)::bigint as rk
  from (select frequency as v, count(*) as c from q5 group by 1) h
),
mr as (
  select v, c, (sum(c) over (order by v) - c + 1)::bigint as rk
  from (select monetary as v, count(*) as c from q5 group by 1) h
),
nn as (
  select sum(c)::bigint as n from fr
),
g as (
  select (case when q.r0 <= (n % 5) * (n / 5 + 1) then (q.r0 - 1) / (n / 5 + 1) + 1 else n % 5 + (q.r0 - 1 - (n % 5) * (n / 5 + 1)) / (n / 5) + 1 end)::int as r, q.frequency, q.monetary, count(*) as users, sum(q.recency) as recency
  from q5 q cross join nn
  group by 1, 2, 3
)
select 'c', r, f, m, sum(users)::bigint, sum(recency), sum(frequency * users)::float8, sum(monetary * users), 0::bigint
from (
  select g.r, (case when fr.rk <= (n % 5) * (n / 5 + 1) then (fr.rk - 1) / (n / 5 + 1) + 1 else n % 5 + (fr.rk - 1 - (n % 5) * (n / 5 + 1)) / (n / 5) + 1 end)::int as f, (case when mr.rk <= (n % 5) * (n / 5 + 1) then (mr.rk - 1) / (n / 5 + 1) + 1 else n % 5 + (mr.rk - 1 - (n % 5) * (n / 5 + 1)) / (n / 5) + 1 end)::int as m, g.users, g.recency, g.frequency, g.monetary
  from g join fr on fr.v = g.frequency join mr on mr.v = g.monetary cross join nn
) c
group by r, f, m
union all
select 'u', (case when q.r0 <= (n % 5) * (n / 5 + 1) then (q.r0 - 1) / (n / 5 + 1) + 1 else n % 5 + (q.r0 - 1 - (n % 5) * (n / 5 + 1)) / (n / 5) + 1 end)::int, (case when fr.rk <= (n % 5) * (n / 5 + 1) then (fr.rk - 1) / (n / 5 + 1) + 1 else n % 5 + (fr.rk - 1 - (n % 5) * (n / 5 + 1)) / (n / 5) + 1 end)::int, (case when mr.rk <= (n % 5) * (n / 5 + 1) then (mr.rk - 1) / (n / 5 + 1) + 1 else n % 5 + (mr.rk - 1 - (n % 5) * (n / 5 + 1)) / (n / 5) + 1 end)::int, 1, q.recency, q.frequency, q.monetary, q.user_id
from q5 q join fr on fr.v = q.frequency join mr on mr.v = q.monetary cross join nn
-- $1 = 2026-03-01T00:00:00Z
-- $2 = 2026-01-01T00:00:00Z
-- $3 = 2026-03-01T00:00:00Z
-- $4 = 2026-03-15T00:00:00Z
-- $5 = "Europe/Paris"
-- $6 = 2026-03-15T00:00:00+01:00
-- $7 = 2026-06-01T00:00:00Z
-- $8 = 2026-03-15T00:00:00Z
-- $9 = 2026-01-01T00:00:00Z
-- $10 = 2026-03-15T00:00:00+01:00
-- $11 = 2026-01-01T00:00:00+01:00
