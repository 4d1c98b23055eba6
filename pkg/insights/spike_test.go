package insights_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/insights"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// TestNoShowSpikeOnTheGeneratedPlatform injects a no-show spike into the last week of a
// generated platform: the week-over-week no-show insight appears with high priority, and its
// figures equal a count in Go over the appointment rows. Before the spike the rule is silent.
func TestNoShowSpikeOnTheGeneratedPlatform(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	d, err := testdb.Create(ctx, "insights_spike", testdb.Scale)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() { _ = d.Drop(context.Background()) })
	end := d.Seed.End // midnight, Paris
	at := end.Add(6 * time.Hour)
	from, prevFrom := end.AddDate(0, 0, -7), end.AddDate(0, 0, -14)
	s := insights.NewStore(d.DB)
	s.Config = only("noshow_ratio", insights.PeriodWeek)

	before, err := s.Detect(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 0 {
		t.Fatalf("the generated platform's no-show ratio needs no insight before the spike: %+v", before)
	}

	// Half of the last week's completed appointments become no-shows.
	exec(t, d, `update bdc.appointments set status = 'no_show'
		where status = 'completed' and scheduled_at >= $1 and scheduled_at < $2 and id % 2 = 0`, from, end)
	found, err := s.Detect(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Rule != "trend.noshow_ratio.week" || found[0].Priority != insights.PriorityHigh {
		t.Fatalf("want trend.noshow_ratio.week with high priority, got %+v", found)
	}
	in := found[0]
	t.Logf("%s\n%s", in.Title, in.Detail)

	// The reference: every appointment row, counted in Go.
	rows, err := d.DB.Pool.Query(ctx, `select a.scheduled_at, a.status from bdc.appointments a`)
	if err != nil {
		t.Fatal(err)
	}
	var held, missed [2]float64
	for rows.Next() {
		var when time.Time
		var status string
		if err := rows.Scan(&when, &status); err != nil {
			t.Fatal(err)
		}
		k := -1
		switch {
		case !when.Before(prevFrom) && when.Before(from):
			k = 0
		case !when.Before(from) && when.Before(end):
			k = 1
		}
		if k < 0 || (status != "completed" && status != "no_show") {
			continue
		}
		held[k]++
		if status == "no_show" {
			missed[k]++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	p0, p1 := missed[0]/held[0], missed[1]/held[1]
	pooled := (missed[0] + missed[1]) / (held[0] + held[1])
	z := (p1 - p0) / math.Sqrt(pooled*(1-pooled)*(1/held[0]+1/held[1]))
	for key, want := range map[string]float64{
		"previous_rows": held[0], "current_rows": held[1], "previous_events": missed[0], "current_events": missed[1],
		"previous": p0, "current": p1, "z": z, "relative_change": (p1 - p0) / p0,
	} {
		if got := num(t, in, key); math.Abs(got-want) > 1e-9 {
			t.Errorf("evidence %s = %v, the rows say %v", key, got, want)
		}
	}
	if p1 < 2*p0 {
		t.Errorf("the spike took the no-show ratio from %v to %v only", p0, p1)
	}
}
