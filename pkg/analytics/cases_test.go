package analytics_test

import (
	"slices"
	"sort"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
)

// day is local midnight in Paris.
func day(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, paris) }

// The test database (testdb.Scale) holds 200 days of history up to 2026-06-01 Europe/Paris.
var (
	histFrom = day(2025, 11, 13)
	histTo   = day(2026, 6, 1)
)

type retentionCase struct {
	name string
	q    analytics.RetentionQuery
	// rollup says whether the statement reads the rollup when the engine allows it.
	rollup bool
}

type funnelCase struct {
	name string
	q    analytics.FunnelQuery
}

func ev(s string) analytics.Event {
	e, err := analytics.ParseEvent(s)
	if err != nil {
		panic(err)
	}
	return e
}

func evs(ss ...string) []analytics.Event {
	out := make([]analytics.Event, len(ss))
	for i, s := range ss {
		out[i] = ev(s)
	}
	return out
}

// singleUser finds filters that leave exactly one beneficiary.
func singleUser(ref *refData) analytics.Filters {
	count := map[[3]string]int{}
	for _, u := range ref.users {
		if u.beneficiary {
			count[[3]string{u.region, u.gender, u.attr(analytics.BreakdownAgeBand)}]++
		}
	}
	var ones [][3]string
	for k, n := range count {
		if n == 1 {
			ones = append(ones, k)
		}
	}
	sort.Slice(ones, func(i, j int) bool { return slices.Compare(ones[i][:], ones[j][:]) < 0 })
	if len(ones) == 0 {
		panic("no single-user filter in the test database")
	}
	k := ones[0]
	return analytics.Filters{Region: []string{k[0]}, Gender: []string{k[1]}, AgeBand: []string{k[2]}}
}

// firstTrainers returns the trainers of the first beneficiaries, two of them.
func firstTrainers(ref *refData) []int64 {
	var ids []int64
	for _, u := range ref.users {
		if u.beneficiary && u.trainer != nil && !slices.Contains(ids, *u.trainer) {
			ids = append(ids, *u.trainer)
			if len(ids) == 2 {
				break
			}
		}
	}
	return ids
}

func retentionCases(ref *refData) []retentionCase {
	base := func(from, to time.Time) analytics.Query { return analytics.Query{From: from, To: to} }
	return []retentionCase{
		{"weekly_first_time_signup_activity", analytics.RetentionQuery{Query: base(day(2026, 1, 1), histTo)}, true},
		{"daily_recurring_login_across_dst", analytics.RetentionQuery{Query: base(day(2026, 3, 20), day(2026, 4, 12)),
			Period: "day", TotalIntervals: 10, RetentionType: "retention_recurring",
			TargetEntity: ev("activity:login"), ReturningEntity: ev("activity:login")}, true},
		{"weekly_recurring_across_autumn_dst_utc", analytics.RetentionQuery{Query: analytics.Query{From: day(2025, 11, 13), To: day(2026, 1, 10), TimeZone: "UTC"},
			Period: "week", TotalIntervals: 6, RetentionType: "recurring", TargetEntity: ev("activity"), ReturningEntity: ev("activity")}, false},
		{"monthly_first_time_feature_cumulative_previous", analytics.RetentionQuery{Query: base(day(2025, 12, 1), histTo),
			Period: "Month", TotalIntervals: 6, TargetEntity: ev("feature:documents"), ReturningEntity: ev("activity"),
			Cumulative: true, RetentionReference: "previous"}, true},
		{"weekly_recurring_appointments_by_channel_cumulative", analytics.RetentionQuery{Query: base(day(2025, 12, 15), histTo),
			TotalIntervals: 10, RetentionType: "retention_recurring", TargetEntity: ev("appointment_completed"),
			ReturningEntity: ev("appointment_completed"), Breakdown: "acquisition_channel", Cumulative: true}, false},
		{"weekly_age_band_filtered", analytics.RetentionQuery{Query: analytics.Query{From: day(2025, 12, 1), To: histTo,
			Filters: analytics.Filters{Region: []string{"ile-de-france", "bretagne", "occitanie"}, Gender: []string{"female"}}},
			Breakdown: "age_band", ReturningEntity: ev("activity:assessment")}, true},
		{"daily_new_york_by_region", analytics.RetentionQuery{Query: analytics.Query{From: day(2026, 4, 1), To: day(2026, 5, 15), TimeZone: "America/New_York"},
			Period: "day", TotalIntervals: 14, TargetEntity: ev("activity"), ReturningEntity: ev("activity:assessment"), Breakdown: "region"}, false},
		{"weekly_filters_age_trainer_appointment_channel", analytics.RetentionQuery{Query: analytics.Query{From: day(2025, 12, 1), To: histTo,
			Filters: analytics.Filters{AgeBand: []string{"25-34", "55+"}, TrainerID: firstTrainers(ref), AppointmentChannel: []string{"video"}}},
			TotalIntervals: 12, ReturningEntity: ev("appointment_booked"), Breakdown: "gender"}, false},
		{"monthly_signup_evaluations_previous_utc", analytics.RetentionQuery{Query: analytics.Query{From: histFrom, To: histTo, TimeZone: "UTC"},
			Period: "month", TotalIntervals: 7, RetentionType: "retention_recurring", ReturningEntity: ev("evaluation_completed"),
			RetentionReference: "previous"}, false},
		{"weekly_first_time_activity_type_and_feature", analytics.RetentionQuery{Query: base(day(2026, 2, 1), histTo),
			TargetEntity: ev("activity:page_view/feature:calendar"), ReturningEntity: ev("feature:messaging"), Breakdown: "gender"}, true},
		{"weekly_programme_and_evaluation_started", analytics.RetentionQuery{Query: base(day(2026, 1, 5), histTo),
			TargetEntity: ev("evaluation_started"), ReturningEntity: ev("programme_completed"), TotalIntervals: 10}, false},
		{"mid_day_bounds", analytics.RetentionQuery{Query: analytics.Query{From: time.Date(2026, 2, 3, 10, 0, 0, 0, paris), To: time.Date(2026, 5, 20, 15, 30, 0, 0, paris)},
			Period: "week", RetentionType: "retention_recurring", TargetEntity: ev("activity"), ReturningEntity: ev("activity")}, true},
		{"empty_range_before_history", analytics.RetentionQuery{Query: base(day(2024, 1, 1), day(2024, 3, 1)), TargetEntity: ev("activity")}, true},
		{"empty_range_with_breakdown", analytics.RetentionQuery{Query: base(day(2024, 1, 1), day(2024, 3, 1)), Breakdown: "region"}, true},
		{"single_user", analytics.RetentionQuery{Query: analytics.Query{From: histFrom, To: histTo, Filters: singleUser(ref)},
			Period: "day", TotalIntervals: 30, RetentionType: "retention_recurring", TargetEntity: ev("activity"), ReturningEntity: ev("activity")}, true},
		{"one_interval", analytics.RetentionQuery{Query: base(day(2026, 3, 1), histTo), TotalIntervals: 1, Cumulative: true}, true},
		{"recurring_one_interval", analytics.RetentionQuery{Query: base(day(2026, 3, 1), histTo), TotalIntervals: 1,
			RetentionType: "retention_recurring", ReturningEntity: ev("activity:login")}, false},
		{"daily_recurring_cumulative_different_events", analytics.RetentionQuery{Query: base(day(2026, 2, 20), day(2026, 4, 20)),
			Period: "day", TotalIntervals: 21, RetentionType: "retention_recurring", Cumulative: true,
			TargetEntity: ev("activity:login"), ReturningEntity: ev("feature:resources"), Breakdown: "gender"}, true},
		{"monthly_recurring_many_intervals", analytics.RetentionQuery{Query: base(histFrom, histTo),
			Period: "month", TotalIntervals: 366, RetentionType: "retention_recurring",
			TargetEntity: ev("activity"), ReturningEntity: ev("appointment_booked")}, true},
	}
}

func funnelCases(ref *refData) []funnelCase {
	q := func(from, to time.Time, order analytics.FunnelOrder, window int, unit analytics.WindowUnit, steps ...string) analytics.FunnelQuery {
		return analytics.FunnelQuery{Query: analytics.Query{From: from, To: to}, Series: evs(steps...),
			FunnelWindowInterval: window, FunnelWindowIntervalUnit: unit, FunnelOrderType: order}
	}
	journey := []string{"signup", "appointment_booked", "appointment_completed", "evaluation_started", "evaluation_completed", "programme_completed"}
	withBD := func(f analytics.FunnelQuery, bd analytics.Breakdown) analytics.FunnelQuery {
		f.Breakdown = bd
		return f
	}
	withF := func(f analytics.FunnelQuery, fl analytics.Filters) analytics.FunnelQuery { f.Filters = fl; return f }
	return []funnelCase{
		{"ordered_journey", q(day(2025, 12, 1), histTo, "ordered", 90, "day", journey...)},
		{"strict_journey", q(day(2025, 12, 1), histTo, "strict", 90, "day", journey...)},
		{"unordered_journey", q(day(2025, 12, 1), histTo, "unordered", 90, "day", journey...)},
		{"ordered_default_window", analytics.FunnelQuery{Query: analytics.Query{From: day(2026, 1, 1), To: histTo}, Series: evs("signup", "activity:booking", "appointment_booked")}},
		{"strict_pages_hour", q(day(2026, 3, 1), day(2026, 4, 15), "strict", 1, "hour", "activity:login", "activity:page_view", "activity:resource_view")},
		{"ordered_pages_hour", q(day(2026, 3, 1), day(2026, 4, 15), "ordered", 1, "hour", "activity:login", "activity:page_view", "activity:resource_view")},
		{"unordered_features_week_by_gender", withBD(q(day(2026, 1, 1), histTo, "unordered", 1, "week", "feature:documents", "feature:messaging", "activity:assessment"), "gender")},
		{"ordered_repeated_login", q(day(2026, 2, 1), day(2026, 5, 1), "ordered", 1, "day", "activity:login", "activity:login", "activity:login")},
		{"strict_repeated_login", q(day(2026, 2, 1), day(2026, 5, 1), "strict", 3, "day", "activity:login", "activity:login", "activity:login")},
		{"unordered_repeated_login", q(day(2026, 2, 1), day(2026, 5, 1), "unordered", 2, "day", "activity:login", "activity:login", "activity:page_view")},
		{"ordered_overlapping_steps_minutes", q(day(2026, 2, 1), day(2026, 5, 1), "ordered", 30, "minute", "activity", "activity:login", "feature:dashboard")},
		{"strict_overlapping_steps", q(day(2026, 2, 1), day(2026, 5, 1), "strict", 2, "week", "signup", "activity", "activity:login")},
		{"ordered_by_channel", withBD(q(day(2025, 12, 1), histTo, "ordered", 30, "day", "signup", "appointment_booked"), "acquisition_channel")},
		{"strict_filtered_video", withF(q(histFrom, histTo, "strict", 60, "day", "signup", "appointment_booked", "appointment_completed"),
			analytics.Filters{AppointmentChannel: []string{"video"}, Region: []string{"ile-de-france", "grand-est", "normandie"}})},
		{"unordered_age_band_filtered", withF(withBD(q(histFrom, histTo, "unordered", 30, "day", "appointment_completed", "evaluation_started", "feature:documents"), "age_band"),
			analytics.Filters{AcquisitionChannel: []string{"cpf", "employer", "referral"}, AgeBand: []string{"18-44"}})},
		{"step_nobody_reaches", q(histFrom, histTo, "ordered", 1, "minute", "signup", "programme_completed")},
		{"empty_range", q(day(2024, 1, 1), day(2024, 2, 1), "ordered", 14, "day", "signup", "activity")},
		{"empty_range_breakdown", withBD(q(day(2024, 1, 1), day(2024, 2, 1), "strict", 14, "day", "signup", "activity"), "region")},
		{"single_user", withF(q(histFrom, histTo, "ordered", 60, "day", "signup", "activity:login", "feature:resources", "activity:login"), singleUser(ref))},
		{"trainers_mid_day_bounds", withF(q(time.Date(2026, 2, 3, 10, 17, 0, 0, paris), time.Date(2026, 4, 20, 8, 45, 30, 0, paris), "ordered", 10, "day",
			"activity:booking", "appointment_booked", "appointment_completed"), analytics.Filters{TrainerID: firstTrainers(ref)})},
	}
}
