package kpi

// The current calendar day in the time zone $2, as instants: local midnight to local midnight, so
// a DST day lasts 23 or 25 hours.
const (
	today      = `(($1::timestamptz at time zone $2::text)::date)`
	todayStart = `(` + today + `::timestamp at time zone $2::text)`
	todayEnd   = `((` + today + ` + 1)::timestamp at time zone $2::text)`
)

// Real-time figures: what is happening on the platform now.
var realTime = []Definition{
	{
		Name: "bdc_users_online", Group: RealTime, Unit: "users",
		Help: "Users with activity in the 5 minutes before the evaluation instant.",
		SQL: `select count(distinct ua.user_id)::float8 from bdc.user_activities ua
			where ua.occurred_at > $1::timestamptz - interval '5 minutes' and ua.occurred_at <= $1::timestamptz`,
	},
	{
		Name: "bdc_activity_events_total", Group: RealTime, Kind: Counter, Unit: "events",
		Help:   "Activity events recorded up to the evaluation instant, by activity type.",
		Labels: []string{"activity_type"},
		// The whole Europe/Paris days the activity rollup covers before the instant's day come
		// from its per-day, per-type counts; the rest (at most the instant's day and the days
		// past the coverage) is counted raw. Before any rollup refresh all is raw.
		SQL: `with cut as (
				select b.d1, b.d1::timestamp at time zone 'Europe/Paris' as s1
				from (select least(($1::timestamptz at time zone 'Europe/Paris')::date,
						coalesce((select covered_until from bdc_analytics.rollup_watermark where rollup = 'user_activity_daily'),
							'-infinity'::date)) as d1) b)
			select t.activity_type, sum(t.n)::float8 from (
				select a.activity_type, a.events as n from bdc_analytics.activity_type_daily a
				where a.day < (select d1 from cut)
				union all
				select ua.activity_type, count(*) from bdc.user_activities ua
				where ua.occurred_at >= (select s1 from cut) and ua.occurred_at <= $1::timestamptz
				group by ua.activity_type) t
			group by t.activity_type`,
	},
	{
		Name: "bdc_appointments_today", Group: RealTime, Unit: "appointments",
		Help:   "Appointments scheduled on the current calendar day in the platform time zone, by status.",
		Labels: []string{"status"},
		SQL: `select s.status, count(a.id)::float8
			from unnest(array['scheduled', 'completed', 'cancelled', 'no_show']) as s(status)
			left join bdc.appointments a on a.status = s.status
			  and a.scheduled_at >= ` + todayStart + ` and a.scheduled_at < ` + todayEnd + `
			group by s.status`,
	},
	{
		Name: "bdc_appointments_next_hour", Group: RealTime, Unit: "appointments",
		Help: "Appointments still scheduled to start in the hour after the evaluation instant.",
		SQL: `select count(*)::float8 from bdc.appointments a
			where a.status = 'scheduled' and a.scheduled_at > $1::timestamptz
			  and a.scheduled_at <= $1::timestamptz + interval '1 hour'`,
	},
}
