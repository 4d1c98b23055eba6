package analytics_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// benchScale is the platform the benchmarks run on: 20,000 users over a year.
var benchScale = demo.Config{Users: 20_000, Days: 365, Seed: 42, End: time.Date(2026, 6, 1, 0, 0, 0, 0, demo.Location)}

var benchRefresh sync.Once

// benchDB seeds the benchmark database once per run and rolls it up.
func benchDB(b *testing.B) *testdb.Database {
	b.Helper()
	d := testdb.GetScale(b, benchScale)
	benchRefresh.Do(func() {
		if _, err := analytics.RefreshRollups(b.Context(), d.DB); err != nil {
			b.Fatal(err)
		}
	})
	return d
}

func BenchmarkRetention(b *testing.B) {
	d := benchDB(b)
	year := analytics.Query{From: time.Date(2025, 6, 1, 0, 0, 0, 0, paris), To: benchScale.End}
	quarter := analytics.Query{From: time.Date(2026, 3, 1, 0, 0, 0, 0, paris), To: benchScale.End}
	queries := []struct {
		name string
		q    analytics.RetentionQuery
	}{
		{"weekly_first_time_signup", analytics.RetentionQuery{Query: year, TotalIntervals: 12}},
		{"weekly_recurring_activity", analytics.RetentionQuery{Query: year, TotalIntervals: 12, RetentionType: "recurring",
			TargetEntity: ev("activity"), ReturningEntity: ev("activity")}},
		{"daily_recurring_login", analytics.RetentionQuery{Query: quarter, Period: "day", TotalIntervals: 30, RetentionType: "recurring",
			TargetEntity: ev("activity:login"), ReturningEntity: ev("activity:login")}},
		{"monthly_first_time_feature_by_channel", analytics.RetentionQuery{Query: year, Period: "month", TotalIntervals: 6,
			TargetEntity: ev("feature:documents"), ReturningEntity: ev("activity"), Breakdown: "acquisition_channel"}},
	}
	for _, engine := range []struct {
		name string
		e    *analytics.Engine
	}{{"rollup", analytics.NewEngine(d.DB)}, {"raw", &analytics.Engine{DB: d.DB, NoRollup: true}}} {
		for _, c := range queries {
			b.Run(engine.name+"/"+c.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := engine.e.Retention(b.Context(), c.q); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkFunnel(b *testing.B) {
	d := benchDB(b)
	e := analytics.NewEngine(d.DB)
	quarter := analytics.Query{From: time.Date(2026, 3, 1, 0, 0, 0, 0, paris), To: benchScale.End}
	year := analytics.Query{From: time.Date(2025, 6, 1, 0, 0, 0, 0, paris), To: benchScale.End}
	journey := evs("signup", "appointment_booked", "appointment_completed", "evaluation_started", "evaluation_completed", "programme_completed")
	pages := evs("activity:login", "activity:page_view", "activity:resource_view", "feature:documents")
	queries := []struct {
		name string
		q    analytics.FunnelQuery
	}{
		{"ordered_journey_year", analytics.FunnelQuery{Query: year, Series: journey, FunnelWindowInterval: 120}},
		{"ordered_journey_by_channel", analytics.FunnelQuery{Query: year, Series: journey, FunnelWindowInterval: 120, Breakdown: "acquisition_channel"}},
		{"ordered_pages_quarter", analytics.FunnelQuery{Query: quarter, Series: pages, FunnelWindowInterval: 1, FunnelWindowIntervalUnit: "hour"}},
		{"strict_pages_quarter", analytics.FunnelQuery{Query: quarter, Series: pages, FunnelWindowInterval: 1, FunnelWindowIntervalUnit: "hour", FunnelOrderType: "strict"}},
		{"unordered_pages_quarter", analytics.FunnelQuery{Query: quarter, Series: pages, FunnelWindowInterval: 1, FunnelWindowIntervalUnit: "hour", FunnelOrderType: "unordered"}},
	}
	for _, c := range queries {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.Funnel(b.Context(), c.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchEngines are the two ways an activity kind can run: reading the rollup, or raw rows only.
func benchEngines(d *testdb.Database) []struct {
	name string
	e    *analytics.Engine
} {
	return []struct {
		name string
		e    *analytics.Engine
	}{{"rollup", analytics.NewEngine(d.DB)}, {"raw", &analytics.Engine{DB: d.DB, NoRollup: true}}}
}

// benchRanges are the ranges the benchmarks query: the last quarter and the whole year.
func benchRanges() (quarter, year analytics.Query) {
	return analytics.Query{From: time.Date(2026, 3, 1, 0, 0, 0, 0, paris), To: benchScale.End},
		analytics.Query{From: time.Date(2025, 6, 1, 0, 0, 0, 0, paris), To: benchScale.End}
}

// benchKind runs each query of a kind with each engine (only the first when rollup is false).
func benchKind[Q any](b *testing.B, rollup bool, queries map[string]Q, run func(e *analytics.Engine, q Q) error) {
	d := benchDB(b)
	engines := benchEngines(d)
	if !rollup {
		engines = engines[1:]
	}
	names := make([]string, 0, len(queries))
	for n := range queries {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, engine := range engines {
		for _, name := range names {
			b.Run(engine.name+"/"+name, func(b *testing.B) {
				for b.Loop() {
					if err := run(engine.e, queries[name]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkPaths(b *testing.B) {
	quarter, year := benchRanges()
	benchKind(b, false, map[string]analytics.PathsQuery{
		"sessions_quarter":          {Query: quarter},
		"sessions_year_by_feature":  {Query: year, NodeLabel: "activity_type_feature", StepLimit: 8, EdgeLimit: 200},
		"users_quarter_login_start": {Query: quarter, GroupBy: "user", StartPoint: ev("activity:login"), IncludeEventTypes: []analytics.EventKind{"activity", "appointment_booked", "appointment_completed"}},
		"users_year_to_completed": {Query: year, GroupBy: "user", EndPoint: ev("appointment_completed"),
			IncludeEventTypes: []analytics.EventKind{"activity", "appointment_booked", "appointment_completed"}, ExcludeEvents: evs("activity:page_view")},
	}, func(e *analytics.Engine, q analytics.PathsQuery) error { _, err := e.Paths(b.Context(), q); return err })
}

func BenchmarkLifecycle(b *testing.B) {
	quarter, year := benchRanges()
	benchKind(b, true, map[string]analytics.LifecycleQuery{
		"weekly_year":         {Query: year},
		"daily_quarter_login": {Query: quarter, Interval: "day", Event: ev("activity:login")},
		"monthly_year":        {Query: year, Interval: "month"},
	}, func(e *analytics.Engine, q analytics.LifecycleQuery) error {
		_, err := e.Lifecycle(b.Context(), q)
		return err
	})
}

func BenchmarkStickiness(b *testing.B) {
	quarter, year := benchRanges()
	benchKind(b, true, map[string]analytics.StickinessQuery{
		"weekly_quarter": {Query: quarter},
		"monthly_year":   {Query: year, Period: "month"},
	}, func(e *analytics.Engine, q analytics.StickinessQuery) error {
		_, err := e.Stickiness(b.Context(), q)
		return err
	})
}

func BenchmarkEngagement(b *testing.B) {
	quarter, year := benchRanges()
	benchKind(b, true, map[string]analytics.EngagementQuery{
		"quarter":            {Query: quarter},
		"year_by_channel":    {Query: year, Breakdown: "acquisition_channel", Limit: 100},
		"quarter_all_scores": {Query: quarter, IncludeScores: true},
	}, func(e *analytics.Engine, q analytics.EngagementQuery) error {
		_, err := e.Engagement(b.Context(), q)
		return err
	})
}

func BenchmarkSegments(b *testing.B) {
	quarter, year := benchRanges()
	benchKind(b, true, map[string]analytics.SegmentsQuery{
		"rfm_quarter":               {Query: quarter},
		"rfm_year_members":          {Query: year, IncludeMembers: true},
		"kmeans_quarter_k4":         {Query: quarter, Method: "kmeans", K: 4},
		"kmeans_quarter_choose_2_8": {Query: quarter, Method: "kmeans"},
	}, func(e *analytics.Engine, q analytics.SegmentsQuery) error {
		_, err := e.Segments(b.Context(), q)
		return err
	})
}

func BenchmarkFeatureUsage(b *testing.B) {
	quarter, year := benchRanges()
	benchKind(b, true, map[string]analytics.FeatureUsageQuery{
		"weekly_quarter": {Query: quarter},
		"monthly_year":   {Query: year, Period: "month"},
	}, func(e *analytics.Engine, q analytics.FeatureUsageQuery) error {
		_, err := e.FeatureUsage(b.Context(), q)
		return err
	})
}

func BenchmarkHeatmap(b *testing.B) {
	quarter, year := benchRanges()
	benchKind(b, false, map[string]analytics.HeatmapQuery{
		"year":         {Query: year},
		"year_by_type": {Query: year, ByActivityType: true},
		"quarter_appointments_new_york": {Query: analytics.Query{From: quarter.From, To: quarter.To, TimeZone: "America/New_York"},
			Event: ev("appointment_completed")},
	}, func(e *analytics.Engine, q analytics.HeatmapQuery) error {
		_, err := e.Heatmap(b.Context(), q)
		return err
	})
}
