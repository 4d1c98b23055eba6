package kpi

// Operational KPIs: how appointments, evaluations and trainers' time go.
var operational = []Definition{
	{
		Name: "bdc_appointment_completion_ratio", Group: Operational, Unit: "ratio",
		Help:   "Share of the appointments scheduled in the window before the evaluation instant that were completed (cancelled and no-shows count against).",
		Labels: []string{"window"},
		SQL: `select w.name, (select (count(*) filter (where a.status = 'completed'))::float8
					/ nullif(count(*) filter (where a.status in ('completed', 'no_show', 'cancelled')), 0)
				from bdc.appointments a join bdc.beneficiaries b on b.id = a.beneficiary_id
				where a.scheduled_at > $1::timestamptz - w.span and a.scheduled_at <= $1::timestamptz
				  and ($6::text[] is null or a.channel = any($6::text[])) and ` + beneficiaryFilter + `)
			from (values ('7d', interval '7 days'), ('30d', interval '30 days')) as w(name, span)`,
	},
	{
		Name: "bdc_appointment_noshow_ratio", Group: Operational, Unit: "ratio",
		Help:   "Share of the appointments held or missed in the window before the evaluation instant that were no-shows (cancellations excluded).",
		Labels: []string{"window"},
		SQL: `select w.name, (select (count(*) filter (where a.status = 'no_show'))::float8
					/ nullif(count(*) filter (where a.status in ('completed', 'no_show')), 0)
				from bdc.appointments a join bdc.beneficiaries b on b.id = a.beneficiary_id
				where a.scheduled_at > $1::timestamptz - w.span and a.scheduled_at <= $1::timestamptz
				  and ($6::text[] is null or a.channel = any($6::text[])) and ` + beneficiaryFilter + `)
			from (values ('7d', interval '7 days'), ('30d', interval '30 days')) as w(name, span)`,
	},
	{
		Name: "bdc_evaluation_score", Group: Operational, Kind: Histogram, Unit: "percent",
		Help:    "Scores of the evaluations completed in the 90 days before the evaluation instant, as a percentage of the maximum score.",
		Buckets: []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100},
		SQL: `select (100 * e.score / nullif(e.max_score, 0))::float8
			from bdc.evaluations e join bdc.beneficiaries b on b.id = e.beneficiary_id
			where e.completed_at > $1::timestamptz - interval '90 days' and e.completed_at <= $1::timestamptz
			  and e.score is not null and ` + beneficiaryFilter,
	},
	{
		// Evaluations started less than 7 days ago are still in progress, not incomplete.
		Name: "bdc_evaluation_completion_ratio", Group: Operational, Unit: "ratio",
		Help: "Share of the evaluations started 7 to 90 days before the evaluation instant that were completed by then.",
		SQL: `select (count(*) filter (where e.completed_at <= $1::timestamptz))::float8 / nullif(count(*), 0)
			from bdc.evaluations e join bdc.beneficiaries b on b.id = e.beneficiary_id
			where e.started_at > $1::timestamptz - interval '90 days' and e.started_at <= $1::timestamptz - interval '7 days'
			  and ` + beneficiaryFilter,
	},
	{
		// Past: the 7 calendar days before today; ahead: today and the 6 days after, counting
		// what is already booked. Days are calendar days in the time zone $2.
		Name: "bdc_trainer_utilization_ratio", Group: Operational, Unit: "ratio",
		Help:   "Minutes of non-cancelled appointments over trainers' available minutes, in the 7 days before today (window=\"7d\") and from today on (window=\"next_7d\").",
		Labels: []string{"window"},
		SQL: `with w(name, first_day, last_day) as (
				values ('7d', ` + today + ` - 7, ` + today + ` - 1), ('next_7d', ` + today + `, ` + today + ` + 6))
			select w.name,
				(select coalesce(sum(a.duration_minutes), 0) from bdc.appointments a
				 where a.status <> 'cancelled'
				   and a.scheduled_at >= w.first_day::timestamp at time zone $2::text
				   and a.scheduled_at < (w.last_day + 1)::timestamp at time zone $2::text
				   and ($5::bigint[] is null or a.trainer_id = any($5::bigint[])))::float8
				/ nullif((select sum(t.available_minutes) from bdc.trainer_availability t
				 where t.day between w.first_day and w.last_day
				   and ($5::bigint[] is null or t.trainer_id = any($5::bigint[]))), 0)
			from w`,
	},
}
