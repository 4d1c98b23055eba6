package analytics_test

import (
	"strings"
	"testing"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// TestAgainstReference compares every case with the brute-force reference: with raw data only,
// before any refresh, with the rollup covering part of the history, and covering all of it.
func TestAgainstReference(t *testing.T) {
	d := testdb.Get(t)
	ctx := t.Context()
	ref := loadRef(t, d)
	rcases, fcases := retentionCases(ref), funnelCases(ref)
	rwant := make([][]analytics.RetentionCohort, len(rcases))
	for i, c := range rcases {
		q := c.q
		if err := q.Validate(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		rwant[i] = ref.retention(q)
	}
	fwant := make([][]analytics.FunnelSeries, len(fcases))
	for i, c := range fcases {
		q := c.q
		if err := q.Validate(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		fwant[i] = ref.funnel(q)
		// Every case but those made empty compares someone's way past the first step.
		if strings.Contains(c.name, "empty") || strings.Contains(c.name, "nobody") {
			continue
		}
		reached := false
		for _, s := range fwant[i] {
			reached = reached || len(s.Steps) > 1 && s.Steps[1].Count > 0
		}
		if !reached {
			t.Errorf("funnel %s: nobody reaches the second step in the reference, so the case compares little", c.name)
		}
	}

	var kinds []kindCase
	for _, cases := range [](func(*testing.T, *refData) []kindCase){lifecycleCases, stickinessCases, heatmapCases,
		featureUsageCases, engagementCases, segmentsCases, pathsCases} {
		kinds = append(kinds, cases(t, ref)...)
	}

	resetRollup(ctx, t, d)
	phases := []struct {
		name    string
		engine  *analytics.Engine
		prepare func(t *testing.T)
	}{
		{"no_rollup", &analytics.Engine{DB: d.DB, NoRollup: true}, func(*testing.T) {}},
		{"before_refresh", analytics.NewEngine(d.DB), func(*testing.T) {}},
		{"partial_rollup", analytics.NewEngine(d.DB), func(t *testing.T) {
			st, err := analytics.RefreshRollupsWith(ctx, d.DB, analytics.RefreshOptions{Until: day(2026, 3, 15)})
			if err != nil || st.NewDays == 0 || st.Rows == 0 {
				t.Fatalf("partial refresh: %+v, %v", st, err)
			}
		}},
		{"full_rollup", analytics.NewEngine(d.DB), func(t *testing.T) {
			if _, err := analytics.RefreshRollups(ctx, d.DB); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, ph := range phases {
		t.Run(ph.name, func(t *testing.T) {
			ph.prepare(t)
			for i, c := range rcases {
				t.Run("retention/"+c.name, func(t *testing.T) {
					got, err := ph.engine.Retention(ctx, c.q)
					if err != nil {
						t.Fatal(err)
					}
					// The rollup is read once refreshed, for the cases it can answer; the partial
					// one covers the days before March 15.
					want := c.rollup && ph.name == "full_rollup"
					if ph.name == "partial_rollup" && c.q.From.Before(day(2026, 3, 1)) {
						want = c.rollup
					}
					if got.Executed.Rollup != want && (want || ph.name != "partial_rollup") {
						t.Errorf("Executed.Rollup = %v, want %v", got.Executed.Rollup, want)
					}
					compareRetention(t, got, rwant[i])
				})
			}
			for i, c := range fcases {
				t.Run("funnel/"+c.name, func(t *testing.T) {
					got, err := ph.engine.Funnel(ctx, c.q)
					if err != nil {
						t.Fatal(err)
					}
					// Ordered funnels read the instants rollup, once refreshed, for steps of one
					// activity type or one feature; the partial one covers the days before
					// March 15.
					want := readsInstants(c.q) && (ph.name == "full_rollup" || ph.name == "partial_rollup" && c.q.From.Before(day(2026, 3, 15)))
					if got.Executed.Rollup != want {
						t.Errorf("Executed.Rollup = %v, want %v", got.Executed.Rollup, want)
					}
					compareFunnel(t, got, fwant[i])
				})
			}
			for _, c := range kinds {
				t.Run(c.name, func(t *testing.T) {
					ex := c.run(t, ph.engine)
					// Once refreshed over the whole history, the rollup is read wherever it can
					// answer; never before.
					switch {
					case ph.name == "full_rollup" && ex.Rollup != c.rollup:
						t.Errorf("Executed.Rollup = %v, want %v", ex.Rollup, c.rollup)
					case (ph.name == "no_rollup" || ph.name == "before_refresh") && ex.Rollup:
						t.Error("Executed.Rollup is set with no rollup to read")
					}
				})
			}
		})
	}
}

// readsInstants says whether the ordered funnel q reads the instants rollup where it covers the
// range: when its first step can happen many times per user (otherwise each attempt's steps are
// looked up by index) and every activity step names an activity type or a feature, one of
// them not both.
func readsInstants(q analytics.FunnelQuery) bool {
	if (q.FunnelOrderType != "" && q.FunnelOrderType != analytics.OrderOrdered) || q.Series[0].Kind == analytics.EventSignup || q.Series[0].Kind == analytics.EventProgrammeCompleted {
		return false
	}
	one := false
	for _, e := range q.Series {
		if e.Kind == analytics.EventActivity {
			if e.ActivityType == "" && e.Feature == "" {
				return false
			}
			one = one || e.ActivityType == "" || e.Feature == ""
		}
	}
	return one
}
