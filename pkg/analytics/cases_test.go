package analytics_test

import (
	"cmp"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
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
		// First-time cohorts whose returns are looked up per member in the rollup, by month
		// and by day, cumulative too.
		{"monthly_first_time_signup_resource_view", analytics.RetentionQuery{Query: base(day(2025, 11, 1), histTo), Period: "month",
			TotalIntervals: 5, ReturningEntity: ev("activity:resource_view")}, true},
		{"daily_first_time_signup_login_cumulative", analytics.RetentionQuery{Query: base(day(2026, 3, 1), day(2026, 5, 1)), Period: "day",
			TotalIntervals: 10, ReturningEntity: ev("activity:login"), Cumulative: true}, true},
		{"weekly_first_time_programme_completed_login_filtered", analytics.RetentionQuery{Query: analytics.Query{From: histFrom, To: histTo,
			Filters: analytics.Filters{Region: []string{"ile-de-france", "occitanie", "bretagne", "grand-est"}}},
			TotalIntervals: 8, TargetEntity: ev("programme_completed"), ReturningEntity: ev("activity:login"), Breakdown: "gender"}, true},
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
		// Booking rows are calendar rows: one event matches two distinct steps.
		{"ordered_booking_overlapping_feature", withBD(q(day(2026, 2, 1), day(2026, 5, 1), "ordered", 1, "day", "activity:login", "feature:calendar", "activity:booking"), "acquisition_channel")},
		{"strict_booking_overlapping_feature", q(day(2026, 2, 1), day(2026, 5, 1), "strict", 1, "day", "feature:calendar", "activity:booking", "feature:calendar")},
		{"unordered_booking_overlapping_feature", q(day(2026, 2, 1), day(2026, 5, 1), "unordered", 12, "hour", "activity:booking", "feature:calendar", "activity:login")},
		{"ordered_overlapping_steps_minutes", q(day(2026, 2, 1), day(2026, 5, 1), "ordered", 30, "minute", "activity", "activity:login", "feature:dashboard")},
		{"strict_overlapping_steps", q(day(2026, 2, 1), day(2026, 5, 1), "strict", 2, "week", "signup", "activity", "activity:login")},
		{"ordered_by_channel", withBD(q(day(2025, 12, 1), histTo, "ordered", 30, "day", "signup", "appointment_booked"), "acquisition_channel")},
		{"strict_filtered_video", withF(q(histFrom, histTo, "strict", 60, "day", "signup", "appointment_booked", "appointment_completed"),
			analytics.Filters{AppointmentChannel: []string{"video"}, Region: []string{"ile-de-france", "grand-est", "normandie"}})},
		{"unordered_age_band_filtered", withF(withBD(q(histFrom, histTo, "unordered", 30, "day", "appointment_completed", "evaluation_started", "feature:documents"), "age_band"),
			analytics.Filters{AcquisitionChannel: []string{"cpf", "employer", "referral"}, AgeBand: []string{"18-44"}})},
		{"ordered_filtered_video", withF(q(histFrom, histTo, "ordered", 60, "day", "signup", "appointment_booked", "appointment_completed"),
			analytics.Filters{AppointmentChannel: []string{"video"}, Region: []string{"ile-de-france", "grand-est", "normandie"}})},
		{"ordered_after_programme", q(histFrom, histTo, "ordered", 60, "day", "programme_completed", "activity:login", "feature:resources")},
		{"step_nobody_reaches", q(histFrom, histTo, "ordered", 1, "minute", "signup", "programme_completed")},
		{"empty_range", q(day(2024, 1, 1), day(2024, 2, 1), "ordered", 14, "day", "signup", "activity")},
		{"empty_range_breakdown", withBD(q(day(2024, 1, 1), day(2024, 2, 1), "strict", 14, "day", "signup", "activity"), "region")},
		{"single_user", withF(q(histFrom, histTo, "ordered", 60, "day", "signup", "activity:login", "feature:resources", "activity:login"), singleUser(ref))},
		{"trainers_mid_day_bounds", withF(q(time.Date(2026, 2, 3, 10, 17, 0, 0, paris), time.Date(2026, 4, 20, 8, 45, 30, 0, paris), "ordered", 10, "day",
			"activity:booking", "appointment_booked", "appointment_completed"), analytics.Filters{TrainerID: firstTrainers(ref)})},
	}
}

// kindCase is one query of the other kinds, with its reference answer computed once: run
// queries an engine, compares with the answer and returns what ran.
type kindCase struct {
	name string
	// rollup says whether the statement reads the rollup when it covers the range.
	rollup bool
	run    func(t *testing.T, e *analytics.Engine) analytics.Executed
}

// queryCase is one query of a kind; rollup says whether it reads the rollup once refreshed.
type queryCase[Q any] struct {
	name   string
	q      Q
	rollup bool
}

// kindCases validates each query, computes its reference answer once, and returns the cases that
// query an engine with check, which compares with the answer and returns what ran.
func kindCases[Q any, W any, P interface {
	*Q
	Validate() error
}](t *testing.T, kind string, cases []queryCase[Q], reference func(Q) W, check func(t *testing.T, e *analytics.Engine, q Q, want W) analytics.Executed) []kindCase {
	t.Helper()
	out := make([]kindCase, 0, len(cases))
	for _, c := range cases {
		q := c.q
		if err := P(&q).Validate(); err != nil {
			t.Fatalf("%s/%s: %v", kind, c.name, err)
		}
		want := reference(q)
		out = append(out, kindCase{kind + "/" + c.name, c.rollup, func(t *testing.T, e *analytics.Engine) analytics.Executed {
			return check(t, e, q, want)
		}})
	}
	return out
}

func lifecycleCases(t *testing.T, ref *refData) []kindCase {
	base := func(from, to time.Time) analytics.Query { return analytics.Query{From: from, To: to} }
	cases := []queryCase[analytics.LifecycleQuery]{
		{"weekly_activity", analytics.LifecycleQuery{Query: base(day(2026, 1, 1), histTo)}, true},
		{"daily_login_across_dst", analytics.LifecycleQuery{Query: base(day(2026, 3, 20), day(2026, 4, 12)), Interval: "day", Event: ev("activity:login")}, true},
		{"daily_activity_filtered_across_dst", analytics.LifecycleQuery{Query: analytics.Query{From: day(2026, 3, 20), To: day(2026, 4, 12),
			Filters: analytics.Filters{AcquisitionChannel: []string{"cpf", "referral"}}}, Interval: "day"}, true},
		{"monthly_activity", analytics.LifecycleQuery{Query: base(day(2025, 11, 1), histTo), Interval: "month"}, true},
		{"monthly_utc_whole_history", analytics.LifecycleQuery{Query: analytics.Query{From: histFrom, To: histTo, TimeZone: "UTC"}, Interval: "Month"}, false},
		{"weekly_appointments_by_channel_filter", analytics.LifecycleQuery{Query: analytics.Query{From: day(2025, 12, 15), To: histTo,
			Filters: analytics.Filters{AcquisitionChannel: []string{"cpf", "employer"}}}, Event: ev("appointment_completed")}, false},
		{"weekly_feature_filtered", analytics.LifecycleQuery{Query: analytics.Query{From: day(2026, 2, 1), To: histTo,
			Filters: analytics.Filters{Region: []string{"ile-de-france", "bretagne"}, Gender: []string{"female"}}}, Event: ev("feature:documents")}, true},
		{"monthly_signup_filters", analytics.LifecycleQuery{Query: analytics.Query{From: histFrom, To: histTo,
			Filters: analytics.Filters{AgeBand: []string{"25-34", "55+"}, TrainerID: firstTrainers(ref), AppointmentChannel: []string{"video"}}},
			Interval: "month", Event: ev("signup")}, false},
		{"new_york_weekly_mid_day", analytics.LifecycleQuery{Query: analytics.Query{From: time.Date(2026, 2, 3, 10, 0, 0, 0, paris),
			To: time.Date(2026, 5, 20, 15, 30, 0, 0, paris), TimeZone: "America/New_York"}}, false},
		{"empty_range", analytics.LifecycleQuery{Query: base(day(2024, 1, 1), day(2024, 3, 1))}, true},
		{"single_user_daily", analytics.LifecycleQuery{Query: analytics.Query{From: histFrom, To: histTo, Filters: singleUser(ref)}, Interval: "day"}, true},
	}
	return kindCases(t, "lifecycle", cases, ref.lifecycle, func(t *testing.T, e *analytics.Engine, q analytics.LifecycleQuery, want []analytics.LifecyclePeriod) analytics.Executed {
		got, err := e.Lifecycle(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		compareLifecycle(t, got, want)
		return got.Executed
	})
}

func stickinessCases(t *testing.T, ref *refData) []kindCase {
	base := func(from, to time.Time) analytics.Query { return analytics.Query{From: from, To: to} }
	cases := []queryCase[analytics.StickinessQuery]{
		{"weekly_activity", analytics.StickinessQuery{Query: base(day(2026, 3, 1), histTo)}, true},
		{"monthly_login_across_dst", analytics.StickinessQuery{Query: base(day(2026, 2, 10), day(2026, 4, 20)), Event: ev("activity:login"), Period: "month"}, true},
		{"monthly_activity_filtered_across_dst", analytics.StickinessQuery{Query: analytics.Query{From: day(2026, 2, 10), To: day(2026, 4, 20),
			Filters: analytics.Filters{Region: []string{"ile-de-france", "bretagne", "occitanie"}, Gender: []string{"female"}}}, Period: "month"}, true},
		{"weekly_utc_whole_history", analytics.StickinessQuery{Query: analytics.Query{From: histFrom, To: histTo, TimeZone: "UTC"}}, false},
		{"appointments_filtered", analytics.StickinessQuery{Query: analytics.Query{From: day(2026, 1, 1), To: histTo,
			Filters: analytics.Filters{AppointmentChannel: []string{"phone", "video"}, Region: []string{"ile-de-france", "occitanie", "grand-est"}}},
			Event: ev("appointment_booked")}, false},
		{"feature_by_age_and_trainer", analytics.StickinessQuery{Query: analytics.Query{From: day(2025, 12, 20), To: day(2026, 3, 10),
			Filters: analytics.Filters{AgeBand: []string{"18-44"}, TrainerID: firstTrainers(ref)}}, Event: ev("feature:messaging"), Period: "month"}, true},
		{"mid_day_bounds_new_york", analytics.StickinessQuery{Query: analytics.Query{From: time.Date(2026, 3, 3, 10, 0, 0, 0, paris),
			To: time.Date(2026, 4, 20, 15, 30, 0, 0, paris), TimeZone: "America/New_York"}}, false},
		{"mid_day_bounds_paris", analytics.StickinessQuery{Query: base(time.Date(2026, 3, 3, 10, 0, 0, 0, paris), time.Date(2026, 4, 20, 15, 30, 0, 0, paris))}, true},
		{"empty_range", analytics.StickinessQuery{Query: base(day(2024, 1, 1), day(2024, 3, 1))}, true},
		{"single_user", analytics.StickinessQuery{Query: analytics.Query{From: histFrom, To: histTo, Filters: singleUser(ref)}}, true},
	}
	return kindCases(t, "stickiness", cases, ref.stickiness, func(t *testing.T, e *analytics.Engine, q analytics.StickinessQuery, want stickinessWant) analytics.Executed {
		got, err := e.Stickiness(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		compareStickiness(t, got, want.days, want.periods)
		return got.Executed
	})
}

func heatmapCases(t *testing.T, ref *refData) []kindCase {
	base := func(from, to time.Time) analytics.Query { return analytics.Query{From: from, To: to} }
	cases := []queryCase[analytics.HeatmapQuery]{
		{"whole_history", analytics.HeatmapQuery{Query: base(histFrom, histTo)}, true},
		// The hourly rollup in another whole-hour zone across the spring DST change, with bounds in
		// the middle of an hour (read raw) and filters.
		{"any_activity_new_york_mid_hour_filtered", analytics.HeatmapQuery{Query: analytics.Query{
			From: histFrom.Add(10*time.Hour + 17*time.Minute), To: histTo.Add(-(5*time.Hour + 43*time.Minute + 10*time.Second)), TimeZone: "America/New_York",
			Filters: analytics.Filters{Region: []string{"ile-de-france", "occitanie", "bretagne"}, AgeBand: []string{"25-34", "45-54"}}}}, true},
		{"any_activity_mid_hour_bounds", analytics.HeatmapQuery{Query: base(day(2026, 1, 5).Add(10*time.Hour+17*time.Minute), day(2026, 4, 15).Add(19*time.Hour+41*time.Minute+50*time.Second))}, true},
		{"any_activity_kolkata", analytics.HeatmapQuery{Query: analytics.Query{From: day(2026, 1, 1), To: histTo, TimeZone: "Asia/Kolkata"}}, false},
		{"by_type_across_spring_dst", analytics.HeatmapQuery{Query: base(day(2026, 3, 20), day(2026, 4, 5)), ByActivityType: true}, false},
		{"by_type_new_york_both_dst_changes", analytics.HeatmapQuery{Query: analytics.Query{From: histFrom, To: histTo, TimeZone: "America/New_York"}, ByActivityType: true}, false},
		{"appointments_filtered", analytics.HeatmapQuery{Query: analytics.Query{From: histFrom, To: histTo,
			Filters: analytics.Filters{AppointmentChannel: []string{"in_person"}, Gender: []string{"male"}}}, Event: ev("appointment_completed")}, false},
		{"kolkata_half_hour_zone", analytics.HeatmapQuery{Query: analytics.Query{From: day(2026, 1, 1), To: histTo, TimeZone: "Asia/Kolkata"}, Event: ev("activity:login")}, false},
		{"lord_howe_half_hour_dst", analytics.HeatmapQuery{Query: analytics.Query{From: histFrom, To: histTo, TimeZone: "Australia/Lord_Howe"}, ByActivityType: true}, false},
		{"feature_single_user_utc", analytics.HeatmapQuery{Query: analytics.Query{From: histFrom, To: histTo, TimeZone: "UTC", Filters: singleUser(ref)}, Event: ev("feature:dashboard")}, false},
		{"empty_range", analytics.HeatmapQuery{Query: base(day(2024, 1, 1), day(2024, 3, 1)), ByActivityType: true}, false},
	}
	return kindCases(t, "heatmap", cases, ref.heatmap, func(t *testing.T, e *analytics.Engine, q analytics.HeatmapQuery, want []analytics.HeatmapSeries) analytics.Executed {
		got, err := e.Heatmap(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		compareHeatmap(t, got, want)
		return got.Executed
	})
}

func featureUsageCases(t *testing.T, ref *refData) []kindCase {
	base := func(from, to time.Time) analytics.Query { return analytics.Query{From: from, To: to} }
	cases := []queryCase[analytics.FeatureUsageQuery]{
		{"weekly", analytics.FeatureUsageQuery{Query: base(day(2026, 1, 1), histTo)}, true},
		{"daily_named_features_across_dst", analytics.FeatureUsageQuery{Query: base(day(2026, 3, 20), day(2026, 4, 12)), Period: "day",
			Features: []string{"messaging", "documents", "no_such_feature"}}, true},
		{"monthly_utc_whole_history", analytics.FeatureUsageQuery{Query: analytics.Query{From: histFrom, To: histTo, TimeZone: "UTC"}, Period: "month"}, false},
		{"filtered", analytics.FeatureUsageQuery{Query: analytics.Query{From: day(2025, 12, 1), To: histTo,
			Filters: analytics.Filters{AppointmentChannel: []string{"video"}, Region: []string{"ile-de-france", "auvergne-rhone-alpes"}, AgeBand: []string{"30-50"}}}}, true},
		{"new_york_mid_day", analytics.FeatureUsageQuery{Query: analytics.Query{From: time.Date(2026, 2, 3, 10, 0, 0, 0, paris),
			To: time.Date(2026, 5, 20, 15, 30, 0, 0, paris), TimeZone: "America/New_York"}}, false},
		{"empty_range", analytics.FeatureUsageQuery{Query: base(day(2024, 1, 1), day(2024, 3, 1)), Features: []string{"documents"}}, true},
		{"single_user", analytics.FeatureUsageQuery{Query: analytics.Query{From: histFrom, To: histTo, Filters: singleUser(ref)}}, true},
	}
	return kindCases(t, "feature_usage", cases, ref.featureUsage, func(t *testing.T, e *analytics.Engine, q analytics.FeatureUsageQuery, want featureUsageWant) analytics.Executed {
		got, err := e.FeatureUsage(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		compareFeatureUsage(t, got, want.active, want.features)
		return got.Executed
	})
}

// noLists is an engagement query with an explicit limit of 0, as a panel's JSON gives it.
func noLists(base analytics.Query) analytics.EngagementQuery {
	var q analytics.EngagementQuery
	if err := json.Unmarshal([]byte(`{"limit": 0}`), &q); err != nil {
		panic(err)
	}
	q.Query = base
	return q
}

func engagementCases(t *testing.T, ref *refData) []kindCase {
	base := func(from, to time.Time) analytics.Query { return analytics.Query{From: from, To: to} }
	cases := []queryCase[analytics.EngagementQuery]{
		{"quarter_all_scores", analytics.EngagementQuery{Query: base(day(2026, 3, 1), histTo), IncludeScores: true}, true},
		{"whole_history_by_channel", analytics.EngagementQuery{Query: base(histFrom, histTo), Limit: 5, Breakdown: "acquisition_channel"}, true},
		{"utc_mid_day_no_lists", noLists(analytics.Query{From: time.Date(2026, 2, 3, 10, 0, 0, 0, paris),
			To: time.Date(2026, 5, 20, 15, 30, 0, 0, paris), TimeZone: "UTC"}), false},
		{"filtered_by_gender", analytics.EngagementQuery{Query: analytics.Query{From: day(2026, 1, 1), To: histTo,
			Filters: analytics.Filters{AgeBand: []string{"18-39"}, TrainerID: firstTrainers(ref), AppointmentChannel: []string{"in_person", "phone"}}},
			Breakdown: "gender", Limit: 7}, true},
		{"new_york_by_age_band_all", analytics.EngagementQuery{Query: analytics.Query{From: day(2026, 4, 1), To: histTo, TimeZone: "America/New_York"},
			Breakdown: "age_band", Limit: 100}, false},
		{"empty_range", analytics.EngagementQuery{Query: base(day(2024, 1, 1), day(2024, 3, 1))}, true},
		{"empty_range_breakdown", analytics.EngagementQuery{Query: base(day(2024, 1, 1), day(2024, 3, 1)), Breakdown: "region"}, true},
		{"single_user", analytics.EngagementQuery{Query: analytics.Query{From: day(2026, 1, 1), To: histTo, Filters: singleUser(ref)}}, true},
	}
	return kindCases(t, "engagement", cases, ref.engagement, func(t *testing.T, e *analytics.Engine, q analytics.EngagementQuery, want *analytics.EngagementResult) analytics.Executed {
		got, err := e.Engagement(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		compareEngagement(t, got, want)
		return got.Executed
	})
}

func segmentsCases(t *testing.T, ref *refData) []kindCase {
	base := func(from, to time.Time) analytics.Query { return analytics.Query{From: from, To: to} }
	cases := []queryCase[analytics.SegmentsQuery]{
		{"rfm_members", analytics.SegmentsQuery{Query: base(day(2026, 1, 1), histTo), IncludeMembers: true}, true},
		{"rfm_utc_filtered", analytics.SegmentsQuery{Query: analytics.Query{From: histFrom, To: histTo, TimeZone: "UTC",
			Filters: analytics.Filters{AcquisitionChannel: []string{"cpf", "referral", "social"}}}}, false},
		{"rfm_fortnight_video", analytics.SegmentsQuery{Query: analytics.Query{From: day(2026, 4, 1), To: day(2026, 4, 15),
			Filters: analytics.Filters{AppointmentChannel: []string{"video"}}}, Method: "RFM", IncludeMembers: true}, true},
		{"rfm_single_user", analytics.SegmentsQuery{Query: analytics.Query{From: histFrom, To: histTo, Filters: singleUser(ref)}, IncludeMembers: true}, true},
		{"rfm_empty", analytics.SegmentsQuery{Query: base(day(2024, 1, 1), day(2024, 3, 1))}, true},
		{"kmeans_chosen_k", analytics.SegmentsQuery{Query: base(day(2026, 1, 1), histTo), Method: "kmeans", KMin: 2, KMax: 6, Seed: 7, IncludeMembers: true}, true},
		{"kmeans_fixed_k_filtered", analytics.SegmentsQuery{Query: analytics.Query{From: day(2026, 3, 1), To: histTo,
			Filters: analytics.Filters{Region: []string{"ile-de-france", "nouvelle-aquitaine", "hauts-de-france"}}}, Method: "kmeans", K: 4, NInit: 2, IncludeMembers: true}, true},
		{"kmeans_utc_range", analytics.SegmentsQuery{Query: analytics.Query{From: histFrom, To: histTo, TimeZone: "UTC"}, Method: "kmeans", KMin: 3, KMax: 5, Seed: 99}, false},
		{"kmeans_single_user", analytics.SegmentsQuery{Query: analytics.Query{From: histFrom, To: histTo, Filters: singleUser(ref)}, Method: "kmeans", IncludeMembers: true}, true},
		{"kmeans_empty", analytics.SegmentsQuery{Query: base(day(2024, 1, 1), day(2024, 3, 1)), Method: "kmeans"}, true},
	}
	return kindCases(t, "segments", cases, ref.segments, func(t *testing.T, e *analytics.Engine, q analytics.SegmentsQuery, want func(*testing.T, *analytics.SegmentsResult)) analytics.Executed {
		got, err := e.Segments(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		want(t, got)
		return got.Executed
	})
}

// refSessions lists the activity sessions of every beneficiary (the population of paths), each
// in the order paths take events.
func refSessions(ref *refData) [][]refEvent {
	var out [][]refEvent
	for _, u := range ref.users {
		if !u.beneficiary {
			continue
		}
		sessions := map[string][]refEvent{}
		for _, e := range u.detailed(analytics.EventActivity, analytics.Filters{}) {
			if e.session != nil {
				sessions[*e.session] = append(sessions[*e.session], e)
			}
		}
		for _, evs := range sessions {
			slices.SortFunc(evs, func(a, b refEvent) int {
				return cmp.Or(a.at.Compare(b.at), strings.Compare(a.typ, b.typ), cmp.Compare(a.id, b.id))
			})
			out = append(out, evs)
		}
	}
	return out
}

// crossedMidnights counts the sessions over each Europe/Paris midnight they go on past.
func crossedMidnights(ref *refData) map[time.Time]int {
	out := map[time.Time]int{}
	for _, evs := range refSessions(ref) {
		for at := dayOf(evs[0].at).AddDate(0, 0, 1); evs[len(evs)-1].at.Compare(at) >= 0; at = at.AddDate(0, 0, 1) {
			out[at]++
		}
	}
	return out
}

// dayOf is the Europe/Paris midnight that starts t's day.
func dayOf(t time.Time) time.Time {
	y, m, d := t.In(paris).Date()
	return day(y, int(m), d)
}

// sessionInstants lists, in order, instants between the first two events of a session, and
// checks that the data has what the session rollup must handle: sessions over two days, and
// runs of one activity type.
func sessionInstants(t *testing.T, ref *refData) []time.Time {
	var inside []time.Time
	repeats := 0
	for _, evs := range refSessions(ref) {
		if len(evs) > 1 && evs[0].at.Before(evs[1].at) {
			inside = append(inside, evs[0].at.Add(evs[1].at.Sub(evs[0].at)/2))
		}
		for i := 1; i < len(evs); i++ {
			if evs[i].typ == evs[i-1].typ {
				repeats++
			}
		}
	}
	slices.SortFunc(inside, time.Time.Compare)
	if over := len(crossedMidnights(ref)); len(inside) < 4 || over == 0 || repeats == 0 {
		t.Fatalf("the data has %d sessions of two events or more, %d midnights crossed by one and %d repeated types: the session cases compare little",
			len(inside), over, repeats)
	}
	return inside
}

func pathsCases(t *testing.T, ref *refData) []kindCase {
	base := func(from, to time.Time) analytics.Query { return analytics.Query{From: from, To: to} }
	kinds := func(ks ...analytics.EventKind) []analytics.EventKind { return ks }
	journey := kinds("activity", "appointment_booked", "appointment_completed", "evaluation_started", "evaluation_completed", "signup", "programme_completed")
	inside := sessionInstants(t, ref)
	cases := []queryCase[analytics.PathsQuery]{
		{"sessions_default", analytics.PathsQuery{Query: base(day(2026, 3, 1), day(2026, 4, 15))}, true},
		// Bounds between two events of a session, so that both cut one.
		{"sessions_cut_by_bounds", analytics.PathsQuery{Query: base(inside[len(inside)/4], inside[3*len(inside)/4]), StepLimit: 8, EdgeLimit: 300}, true},
		// The session rollup with bounds in the middle of days, so sessions are cut by them.
		{"sessions_from_login_midday", analytics.PathsQuery{Query: base(day(2026, 2, 10).Add(13*time.Hour+30*time.Minute),
			day(2026, 4, 20).Add(9*time.Hour+15*time.Minute)), StartPoint: ev("activity:login"), StepLimit: 4, EdgeLimit: 40}, true},
		{"sessions_to_booking_filtered", analytics.PathsQuery{Query: analytics.Query{From: histFrom, To: histTo,
			Filters: analytics.Filters{Region: []string{"ile-de-france", "occitanie", "bretagne"}, AcquisitionChannel: []string{"cpf", "employer", "organic_search"}}},
			EndPoint: ev("activity:booking"), StepLimit: 3, JourneyLimit: 30}, true},
		{"sessions_page_view_to_page_view", analytics.PathsQuery{Query: base(day(2026, 1, 5), histTo), StartPoint: ev("activity:page_view"),
			EndPoint: ev("activity:page_view"), StepLimit: 6, EdgeLimit: 100}, true},
		{"sessions_login_to_any", analytics.PathsQuery{Query: base(day(2026, 3, 14).Add(20*time.Hour), day(2026, 3, 16).Add(2*time.Hour)),
			StartPoint: ev("activity:login"), EndPoint: ev("activity"), StepLimit: 2}, true},
		{"sessions_any_to_resource_view", analytics.PathsQuery{Query: base(histFrom, histTo), StartPoint: ev("activity"),
			EndPoint: ev("activity:resource_view"), StepLimit: 5, EdgeLimit: 200, JourneyLimit: 50}, true},
		{"sessions_by_feature_min_weight", analytics.PathsQuery{Query: base(histFrom, histTo), NodeLabel: "activity_type_feature",
			EdgeLimit: 30, MinEdgeWeight: 3, JourneyLimit: 20, StepLimit: 7}, false},
		{"users_journey_from_login", analytics.PathsQuery{Query: base(day(2026, 1, 1), histTo), GroupBy: "user",
			IncludeEventTypes: kinds("activity", "appointment_booked", "appointment_completed", "evaluation_started"), StepLimit: 8,
			StartPoint: ev("activity:login"), EdgeLimit: 100}, false},
		{"users_to_appointment_completed", analytics.PathsQuery{Query: base(day(2025, 12, 1), histTo), GroupBy: "user",
			IncludeEventTypes: kinds("activity", "appointment_booked", "appointment_completed"), EndPoint: ev("appointment_completed"), StepLimit: 4}, false},
		{"users_login_to_booking", analytics.PathsQuery{Query: base(day(2026, 2, 1), histTo), GroupBy: "user",
			IncludeEventTypes: kinds("appointment_booked", "activity"), StartPoint: ev("activity:login"), EndPoint: ev("appointment_booked"), StepLimit: 6}, false},
		{"sessions_exclusions", analytics.PathsQuery{Query: base(day(2026, 2, 1), histTo),
			ExcludeEvents: evs("activity:login", "feature:dashboard"), NodeLabel: "activity_type_feature"}, false},
		{"users_activity_excluded", analytics.PathsQuery{Query: base(histFrom, histTo), GroupBy: "user",
			IncludeEventTypes: kinds("activity", "appointment_booked", "appointment_completed"), ExcludeEvents: evs("activity"), StepLimit: 10}, false},
		{"weight_bounds", analytics.PathsQuery{Query: base(day(2026, 1, 1), histTo), MinEdgeWeight: 2, MaxEdgeWeight: 50, EdgeLimit: 5, JourneyLimit: 3}, true},
		{"sessions_start_at_feature", analytics.PathsQuery{Query: base(day(2026, 1, 1), histTo), StartPoint: ev("feature:calendar"), StepLimit: 3}, false},
		// A run of two page views or more is a whole path from its first to its second; sessions
		// over midnight merge their days' runs.
		{"sessions_page_view_to_page_view", analytics.PathsQuery{Query: base(histFrom, histTo), StartPoint: ev("activity:page_view"),
			EndPoint: ev("activity:page_view"), StepLimit: 3}, true},
		{"users_login_to_login", analytics.PathsQuery{Query: base(day(2026, 4, 1), histTo), GroupBy: "user", StartPoint: ev("activity:login"),
			EndPoint: ev("activity:login"), StepLimit: 20}, false},
		{"users_whole_journey_filtered", analytics.PathsQuery{Query: analytics.Query{From: histFrom, To: histTo,
			Filters: analytics.Filters{AppointmentChannel: []string{"video"}, AcquisitionChannel: []string{"cpf", "employer"}}},
			GroupBy: "user", IncludeEventTypes: journey, StepLimit: 12, EdgeLimit: 700, JourneyLimit: 100, ExcludeEvents: evs("activity:page_view")}, false},
		{"single_user_utc", analytics.PathsQuery{Query: analytics.Query{From: histFrom, To: histTo, TimeZone: "UTC", Filters: singleUser(ref)},
			GroupBy: "user", IncludeEventTypes: journey, StepLimit: 20}, false},
		{"empty_range", analytics.PathsQuery{Query: base(day(2024, 1, 1), day(2024, 3, 1)), StartPoint: ev("activity:login")}, true},
	}
	return kindCases(t, "paths", cases, ref.paths, func(t *testing.T, e *analytics.Engine, q analytics.PathsQuery, want *analytics.PathsResult) analytics.Executed {
		got, err := e.Paths(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		comparePaths(t, got, want)
		return got.Executed
	})
}
