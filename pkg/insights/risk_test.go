package insights_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/insights"
	"github.com/bdc-analytics/bdc/pkg/predict"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// riskScale is the generated platform of the risk test, of its own since the test promotes models
// in its registry.
var riskScale = demo.Config{Users: 600, Days: 200, Seed: 43, End: time.Date(2026, 6, 1, 0, 0, 0, 0, demo.Location)}

// TestRiskInsights runs the risk rule without a promoted model (no insight, no error), then with
// promoted no-show and churn models: with thresholds at the median score, both fire and their
// figures equal those of the appointments and beneficiaries scored independently and selected in
// plain SQL; with thresholds above every score, both stay silent.
func TestRiskInsights(t *testing.T) {
	t.Parallel()
	d := testdb.GetScale(t, riskScale)
	ctx := t.Context()
	at := d.Seed.End
	s := insights.NewStore(d.DB)
	s.Config.Trend.Enabled, s.Config.Anomaly.Enabled = false, false

	found, err := s.Detect(ctx, at)
	if err != nil || len(found) != 0 {
		t.Fatalf("without promoted models: %v, %+v", err, found)
	}

	promote(t, d, at)
	ps := predict.NewStore(d.DB)

	// The reference population: tomorrow's appointments still scheduled and booked by now, from
	// plain SQL, with their scores; the active beneficiaries with theirs.
	tomorrow := at.AddDate(0, 0, 1)
	rows, err := d.DB.Pool.Query(ctx, `select id from bdc.appointments where status = 'scheduled' and booked_at < $1
		and scheduled_at >= $2 and scheduled_at < $3`, at, tomorrow, tomorrow.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil || len(ids) == 0 {
		t.Fatalf("tomorrow's appointments: %d, %v", len(ids), err)
	}
	upcoming, err := ps.ScoreUpcomingAppointments(ctx, at, 7, 3)
	if err != nil {
		t.Fatal(err)
	}
	noShowRows := slices.DeleteFunc(upcoming.Rows, func(r predict.Scored) bool { return !slices.Contains(ids, r.ID) })
	if len(noShowRows) != len(ids) {
		t.Fatalf("%d of tomorrow's %d appointments scored", len(noShowRows), len(ids))
	}
	active, err := ps.ScoreActiveBeneficiaries(ctx, predict.Churn, at, 3)
	if err != nil {
		t.Fatal(err)
	}
	population := map[string][]predict.Scored{"risk.noshow": noShowRows, "risk.churn": active.Rows}
	what := map[string]string{"risk.noshow": "appointments", "risk.churn": "beneficiaries"}

	// Thresholds at the median score: about half of each population is at risk.
	s.Config.Risk.NoShowThreshold, s.Config.Risk.ChurnThreshold = median(noShowRows), median(active.Rows)
	found, err = s.Detect(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 {
		t.Fatalf("want the no-show and churn insights, got %+v", found)
	}
	for _, in := range found {
		pop, ok := population[in.Rule]
		if !ok || in.Category != insights.CategoryRisk {
			t.Fatalf("unexpected insight %s (%s)", in.Rule, in.Category)
		}
		t.Logf("%s: %s\n%s", in.Priority, in.Title, in.Detail)
		threshold := num(t, in, "threshold")
		var risky []predict.Scored
		var expected float64
		for _, r := range pop {
			expected += r.Score
			if r.Score >= threshold {
				risky = append(risky, r)
			}
		}
		share := float64(len(risky)) / float64(len(pop))
		for key, want := range map[string]float64{"scored": float64(len(pop)), "at_risk": float64(len(risky)),
			"expected": expected, "share": share} {
			if got := num(t, in, key); math.Abs(got-want) > 1e-9*math.Max(1, want) {
				t.Errorf("%s: %s %v, reference %v", in.Rule, key, got, want)
			}
		}
		if want := map[bool]string{true: insights.PriorityHigh, false: insights.PriorityMedium}[share >= s.Config.Risk.HighShare]; in.Priority != want {
			t.Errorf("%s: priority %s with %v at risk, want %s", in.Rule, in.Priority, share, want)
		}
		listed := in.Evidence["ids"].([]any)
		if len(listed) != min(s.Config.Risk.ListIDs, len(risky)) {
			t.Errorf("%s: %d ids listed", in.Rule, len(listed))
		}
		for i, id := range listed {
			if id.(float64) != float64(risky[i].ID) {
				t.Errorf("%s: id %d is %v, the riskiest are %d", in.Rule, i, id, risky[i].ID)
			}
		}
		// The main factors: how many rows at risk each feature raises, counted here.
		raises := map[string]int{}
		for _, r := range risky {
			for _, f := range r.Factors {
				if f.Contribution > 0 {
					raises[f.Feature]++
				}
			}
		}
		top := in.Evidence["top_factors"].([]any)
		if len(top) == 0 || len(top) > s.Config.Risk.Factors {
			t.Fatalf("%s: %d top factors", in.Rule, len(top))
		}
		most := 0
		for _, n := range raises {
			most = max(most, n)
		}
		for i, item := range top {
			f := item.(map[string]any)
			n := f[what[in.Rule]].(float64)
			if int(n) != raises[f["feature"].(string)] || (i == 0 && int(n) != most) {
				t.Errorf("%s: factor %v raises %v rows, counted %d (most %d)", in.Rule, f["feature"], n, raises[f["feature"].(string)], most)
			}
		}
	}

	// A threshold no score reaches: nothing to report. (Isotonic calibration may give a
	// probability of exactly 1, which every valid threshold reaches: then the churn rule fires.)
	above := func(rows []predict.Scored) float64 { return math.Min(1, math.Nextafter(rows[0].Score, 2)) }
	s.Config.Risk.NoShowThreshold, s.Config.Risk.ChurnThreshold = above(noShowRows), above(active.Rows)
	found, err = s.Detect(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range found {
		if in.Rule != "risk.churn" || active.Rows[0].Score < 1 {
			t.Errorf("threshold above every score: %s %s", in.Rule, in.Title)
		}
	}
	if noShowRows[0].Score >= 1 {
		t.Fatalf("the riskiest appointment has a no-show probability of %v: no threshold leaves the rule silent", noShowRows[0].Score)
	}
}

// median is the median score of rows.
func median(rows []predict.Scored) float64 {
	scores := make([]float64, len(rows))
	for i, r := range rows {
		scores[i] = r.Score
	}
	slices.Sort(scores)
	return scores[len(scores)/2]
}
