package kpi

// Business KPIs: who uses the platform, who stays, who converts, what it earns.
var business = []Definition{
	{
		Name: "bdc_users_active", Group: Business, Unit: "users",
		Help:   "Users with at least one activity in the window before the evaluation instant.",
		Labels: []string{"window"},
		// The window (at - span, at] is cut in three: the whole Europe/Paris days inside it that
		// the daily activity rollup covers are read from the rollup (one row per user and day),
		// the partial days at both ends and the days past the rollup's coverage from the raw
		// activity. Before any rollup refresh the rollup part is empty and all is raw.
		SQL: `select w.name, (select count(*) from (
				select ud.user_id from bdc_analytics.user_activity_daily ud
				where r.d1 > r.d0 and ud.day >= r.d0 and ud.day < r.d1
				union
				select ua.user_id from bdc.user_activities ua
				where ua.occurred_at > r.t0 and ua.occurred_at < r.s0 and ua.occurred_at <= r.t1
				union
				select ua.user_id from bdc.user_activities ua
				where ua.occurred_at >= r.s1 and ua.occurred_at > r.t0 and ua.occurred_at <= r.t1) u)::float8
			from (values ('1d', interval '1 day'), ('7d', interval '7 days'), ('30d', interval '30 days')) as w(name, span)
			cross join lateral (
				select b.t0, b.t1, b.d0, b.d1, b.d0::timestamp at time zone 'Europe/Paris' as s0,
					greatest(b.d0, b.d1)::timestamp at time zone 'Europe/Paris' as s1
				from (select $1::timestamptz - w.span as t0, $1::timestamptz as t1,
						(($1::timestamptz - w.span) at time zone 'Europe/Paris')::date + 1 as d0,
						least(($1::timestamptz at time zone 'Europe/Paris')::date,
							coalesce((select covered_until from bdc_analytics.rollup_watermark where rollup = 'user_activity_daily'),
								'-infinity'::date)) as d1) b
			) r`,
	},
	{
		Name: "bdc_users", Group: Business, Unit: "users",
		Help:   "User accounts registered by the evaluation instant, by role.",
		Labels: []string{"role"},
		SQL: `select r.role, count(u.id)::float8
			from unnest(array['beneficiary', 'trainer', 'admin']) as r(role)
			left join bdc.users u on u.role = r.role and u.created_at <= $1::timestamptz
			group by r.role`,
	},
	{
		Name: "bdc_beneficiaries", Group: Business, Unit: "beneficiaries",
		Help:   "Beneficiaries registered by the evaluation instant, by current status.",
		Labels: []string{"status"},
		SQL: `select s.status, count(b.id)::float8
			from unnest(array['prospect', 'active', 'completed', 'abandoned']) as s(status)
			left join bdc.beneficiaries b on b.status = s.status and b.created_at <= $1::timestamptz and ` + beneficiaryFilter + `
			group by s.status`,
	},
	{
		// The cohort of age n is the one registered n+1 periods before the current one: the
		// latest whose n-th period is complete. Periods are calendar weeks (ISO, Monday) or
		// months in the time zone $2.
		Name: "bdc_retention_ratio", Group: Business, Unit: "ratio",
		Help:   "Share of the latest complete cohort of beneficiaries (by registration period) active again in its age-th period after registration.",
		Labels: []string{"period", "age"},
		SQL: `with spec(period, step, age) as (
				values ('week', interval '1 week', 1), ('week', interval '1 week', 2), ('week', interval '1 week', 4),
				       ('week', interval '1 week', 8), ('week', interval '1 week', 12),
				       ('month', interval '1 month', 1), ('month', interval '1 month', 2),
				       ('month', interval '1 month', 3), ('month', interval '1 month', 6)),
			cur as (select s.*, date_trunc(s.period, $1::timestamptz at time zone $2::text) as start from spec s),
			win as (select period, age,
					(start - (age + 1) * step) at time zone $2::text as cohort_from,
					(start - age * step) at time zone $2::text as cohort_to,
					(start - step) at time zone $2::text as back_from,
					start at time zone $2::text as back_to
				from cur)
			select w.period, w.age::text,
				(select count(*) filter (where exists (select 1 from bdc.user_activities ua
						where ua.user_id = b.user_id and ua.occurred_at >= w.back_from and ua.occurred_at < w.back_to))::float8
					/ nullif(count(*), 0)
				 from bdc.beneficiaries b
				 where b.created_at >= w.cohort_from and b.created_at < w.cohort_to and ` + beneficiaryFilter + `)
			from win w`,
	},
	{
		// The cohort is the beneficiaries registered between 120 and 30 days before the
		// evaluation instant: old enough to have had the time to convert.
		Name: "bdc_conversion_ratio", Group: Business, Unit: "ratio",
		Help:   "Share of beneficiaries registered 30 to 120 days before the evaluation instant who reached each step by then.",
		Labels: []string{"step"},
		SQL: `with cohort as (
				select b.id, b.completed_at from bdc.beneficiaries b
				where b.created_at >= $1::timestamptz - interval '120 days' and b.created_at < $1::timestamptz - interval '30 days'
				  and ` + beneficiaryFilter + `),
			reached as (
				select
					count(*) as registered,
					count(*) filter (where exists (select 1 from bdc.appointments a where a.beneficiary_id = c.id
						and a.status = 'completed' and a.scheduled_at <= $1::timestamptz)) as first_appointment,
					count(*) filter (where exists (select 1 from bdc.evaluations e where e.beneficiary_id = c.id
						and e.completed_at <= $1::timestamptz)) as evaluation_completed,
					count(*) filter (where c.completed_at <= $1::timestamptz) as programme_completed
				from cohort c)
			select s.step, s.n::float8 / nullif(r.registered, 0)
			from reached r, lateral (values ('first_appointment', r.first_appointment),
				('evaluation_completed', r.evaluation_completed), ('programme_completed', r.programme_completed)) as s(step, n)`,
	},
	{
		Name: "bdc_revenue_per_active_user", Group: Business, Unit: "currency",
		Help:   "Payments received in the 30 days before the evaluation instant divided by the users active in those 30 days, in units of the currency.",
		Labels: []string{"currency"},
		SQL: `with active as (select count(distinct ua.user_id) as n from bdc.user_activities ua
				where ua.occurred_at > $1::timestamptz - interval '30 days' and ua.occurred_at <= $1::timestamptz)
			select p.currency, (sum(p.amount_cents) / 100.0)::float8 / nullif((select n from active), 0)
			from bdc.payments p
			where p.paid_at > $1::timestamptz - interval '30 days' and p.paid_at <= $1::timestamptz
			group by p.currency`,
	},
}
