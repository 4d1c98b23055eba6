package analytics_test

import (
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
