package analytics_test

import (
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/demo"
)

// TestOrderedFunnelAtTheRangesBounds adds to a small platform of its own events of two activity
// types nobody else has, at the bounds of a range that starts and ends inside months, and checks
// an ordered funnel over them against the answer worked out by hand: without the rollup, with
// the instants rollup covering part of the range (months cut at From, raw rows after), and
// covering all of it (months cut at both bounds). An event at From counts, one a microsecond
// before does not, nor one at To.
func TestOrderedFunnelAtTheRangesBounds(t *testing.T) {
	ctx := t.Context()
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, paris)
	d, users := ownPlatform(t, "funnel_bounds", demo.Config{Users: 100, Days: 60, Seed: 13, End: end}, 4)
	from := time.Date(2026, 4, 10, 12, 0, 0, 0, paris)
	to := time.Date(2026, 5, 20, 12, 0, 0, 0, paris)
	const us = time.Microsecond
	for _, e := range []struct {
		user int
		at   time.Time
		typ  string
	}{
		// Enters at From exactly and converts 10 minutes later.
		{0, from, "bound_a"}, {0, from.Add(10 * time.Minute), "bound_b"},
		// Enters a microsecond before From (not counted), then 30 minutes before To; converts
		// at To exactly (not counted).
		{1, from.Add(-us), "bound_a"}, {1, from.Add(5 * time.Minute), "bound_b"},
		{1, to.Add(-30 * time.Minute), "bound_a"}, {1, to, "bound_b"},
		// Only a microsecond before From, and at To: never enters.
		{2, from.Add(-us), "bound_a"}, {2, from.Add(time.Minute), "bound_b"}, {2, to, "bound_a"},
		// Enters a microsecond before To, converts after it (not counted).
		{3, to.Add(-us), "bound_a"}, {3, to.Add(time.Minute), "bound_b"},
	} {
		insertActivity(t, d.DB.Pool, users[e.user], e.at, e.typ, "bounds")
	}
	q := analytics.FunnelQuery{Query: analytics.Query{From: from, To: to}, Series: evs("activity:bound_a", "activity:bound_b"),
		FunnelWindowInterval: 1, FunnelWindowIntervalUnit: analytics.UnitHour}
	check := func(name string, e *analytics.Engine, rollup bool) {
		t.Helper()
		r, err := e.Funnel(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if r.Executed.Rollup != rollup {
			t.Errorf("%s: Executed.Rollup = %v, want %v", name, r.Executed.Rollup, rollup)
		}
		s := r.Series[0].Steps
		if s[0].Count != 3 || s[1].Count != 1 || s[1].MedianConversionTime == nil || *s[1].MedianConversionTime != 600 {
			t.Errorf("%s: steps %d and %d users, median %v; want 3 and 1, 600 s:\n%s", name, s[0].Count, s[1].Count,
				s[1].MedianConversionTime, r.Executed)
		}
	}
	check("raw rows", &analytics.Engine{DB: d.DB, NoRollup: true}, false)
	if _, err := analytics.RefreshRollupsWith(ctx, d.DB, analytics.RefreshOptions{Until: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	check("rollup to May 1", analytics.NewEngine(d.DB), true)
	if _, err := analytics.RefreshRollups(ctx, d.DB); err != nil {
		t.Fatal(err)
	}
	check("rollup over the range", analytics.NewEngine(d.DB), true)
}
