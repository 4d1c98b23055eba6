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
		SQL: `select ua.activity_type, count(*)::float8 from bdc.user_activities ua
			where ua.occurred_at <= $1::timestamptz
			group by ua.activity_type`,
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
