package kpi

// Experience KPIs: how beneficiaries feel about the service and the platform.
var experience = []Definition{
	{
		Name: "bdc_satisfaction_score", Group: Experience, Unit: "score",
		Help: "Mean feedback score (1 to 5) submitted in the 30 days before the evaluation instant.",
		SQL: `select avg(f.score)::float8 from bdc.feedback f
			where f.submitted_at > $1::timestamptz - interval '30 days' and f.submitted_at <= $1::timestamptz`,
	},
	{
		Name: "bdc_support_resolution_seconds", Group: Experience, Kind: Histogram, Unit: "seconds",
		Help:    "Time from opening to resolution of the support tickets resolved in the 30 days before the evaluation instant.",
		Buckets: []float64{900, 3600, 4 * 3600, 12 * 3600, 86400, 2 * 86400, 4 * 86400, 7 * 86400},
		SQL: `select extract(epoch from t.resolved_at - t.opened_at)::float8 from bdc.support_tickets t
			where t.resolved_at > $1::timestamptz - interval '30 days' and t.resolved_at <= $1::timestamptz`,
	},
	{
		Name: "bdc_support_tickets_open", Group: Experience, Unit: "tickets",
		Help:   "Support tickets opened by the evaluation instant and not resolved by then, by category.",
		Labels: []string{"category"},
		SQL: `select t.category, count(*)::float8 from bdc.support_tickets t
			where t.opened_at <= $1::timestamptz and (t.resolved_at is null or t.resolved_at > $1::timestamptz)
			group by t.category`,
	},
	{
		Name: "bdc_page_load_seconds", Group: Experience, Kind: Histogram, Unit: "seconds",
		Help:    "Load time of the pages viewed in the hour before the evaluation instant.",
		Buckets: []float64{0.1, 0.25, 0.5, 0.75, 1, 2, 5},
		SQL: `select ua.duration_ms / 1000.0::float8 from bdc.user_activities ua
			where ua.activity_type in ('page_view', 'resource_view') and ua.duration_ms is not null
			  and ua.occurred_at > $1::timestamptz - interval '1 hour' and ua.occurred_at <= $1::timestamptz`,
	},
}
