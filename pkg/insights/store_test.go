package insights_test

import (
	"errors"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/insights"
)

// TestGenerateAndList saves the insights of two instants: saving an instant again (a retried
// firing, or replicas at once) leaves one set with the same ids, a rule that stops firing loses
// its insight, and List returns them newest first with its filters.
func TestGenerateAndList(t *testing.T) {
	t.Parallel()
	d := emptyPlatform(t)
	ctx := t.Context()
	// Week A ends on Monday 4 May: a no-show spike (high) and more active users (low).
	toA := time.Date(2026, 5, 4, 0, 0, 0, 0, paris)
	appointments(t, d, toA.AddDate(0, 0, -14), 7, 200, 20, 0)
	appointments(t, d, toA.AddDate(0, 0, -7), 7, 200, 60, 0)
	activeUsers(t, d, toA.AddDate(0, 0, -14), 7, 350)
	activeUsers(t, d, toA.AddDate(0, 0, -7), 7, 500)
	// Week B ends two weeks later: satisfaction drops (high).
	toB := toA.AddDate(0, 0, 14)
	feedback(t, d, toB.AddDate(0, 0, -14), 7, repeat(80, 5))
	feedback(t, d, toB.AddDate(0, 0, -7), 7, repeat(80, 3))
	atA, atB := toA.Add(6*time.Hour), toB.Add(6*time.Hour)

	s := insights.NewStore(d.DB)
	s.Config.Anomaly.Enabled, s.Config.Risk.Enabled = false, false
	s.Config.Trend.Periods = []string{insights.PeriodWeek}
	s.Config.Trend.KPIs.CompletionRatio.Enabled = false // no-shows count against completion: the spike would fire it too

	first, err := s.Generate(ctx, atA)
	if err != nil {
		t.Fatal(err)
	}
	if rules(first) != "trend.noshow_ratio.week/high trend.active_users.week/low" {
		t.Fatalf("week A: %s", rules(first))
	}
	// The same instant again, from several replicas at once: one set, the same ids.
	var wg sync.WaitGroup
	again := make([][]insights.Insight, 3)
	for i := range again {
		wg.Go(func() {
			var err error
			if again[i], err = s.Generate(ctx, atA); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, set := range again {
		if ids(set) != ids(first) {
			t.Errorf("ids %s, then %s", ids(first), ids(set))
		}
	}
	stored := func(at time.Time) int {
		var n int
		if err := d.DB.Pool.QueryRow(ctx, `select count(*) from bdc_analytics.insights where detected_at = $1`, at).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := stored(atA); n != 2 {
		t.Errorf("%d insights stored for week A, want 2", n)
	}
	second, err := s.Generate(ctx, atB)
	if err != nil {
		t.Fatal(err)
	}
	if rules(second) != "trend.satisfaction_score.week/high" {
		t.Fatalf("week B: %s", rules(second))
	}

	t.Run("list", func(t *testing.T) {
		all, err := s.List(ctx, insights.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := append(append([]insights.Insight{}, second...), first...)
		if len(all) != len(want) {
			t.Fatalf("listed %s, want %s", rules(all), rules(want))
		}
		for i := range all {
			if !same(all[i], want[i]) {
				t.Errorf("listed %+v\nsaved %+v", all[i], want[i])
			}
		}
		for _, c := range []struct {
			opts insights.ListOptions
			want string
		}{
			{insights.ListOptions{Category: insights.CategoryTrend}, "trend.satisfaction_score.week/high trend.noshow_ratio.week/high trend.active_users.week/low"},
			{insights.ListOptions{Category: insights.CategoryRisk}, ""},
			{insights.ListOptions{Priority: insights.PriorityHigh}, "trend.satisfaction_score.week/high trend.noshow_ratio.week/high"},
			{insights.ListOptions{Priority: insights.PriorityLow}, "trend.active_users.week/low"},
			{insights.ListOptions{From: atB}, "trend.satisfaction_score.week/high"},
			{insights.ListOptions{To: atA}, "trend.noshow_ratio.week/high trend.active_users.week/low"},
			{insights.ListOptions{From: atA.Add(time.Second), To: atB.Add(-time.Second)}, ""},
			{insights.ListOptions{Limit: 2}, "trend.satisfaction_score.week/high trend.noshow_ratio.week/high"},
		} {
			got, err := s.List(ctx, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if rules(got) != c.want {
				t.Errorf("%+v: %s, want %s", c.opts, rules(got), c.want)
			}
		}
		for _, bad := range []insights.ListOptions{{Category: "forecast"}, {Priority: "urgent"}, {Limit: -1},
			{Limit: insights.MaxLimit + 1}, {From: atB, To: atA}} {
			if _, err := s.List(ctx, bad); !errors.Is(err, insights.ErrBadOptions) {
				t.Errorf("%+v: %v, want ErrBadOptions", bad, err)
			}
		}
	})

	t.Run("a rule that stops firing loses its insight", func(t *testing.T) {
		exec(t, d, `update bdc.appointments set status = 'completed' where status = 'no_show' and scheduled_at >= $1 and scheduled_at < $2
			and id % 2 = 0`, toA.AddDate(0, 0, -7), toA)
		// 30 of the 60 no-shows are left, 15 % against 10 %: not significant.
		redo, err := s.Generate(ctx, atA)
		if err != nil {
			t.Fatal(err)
		}
		if rules(redo) != "trend.active_users.week/low" || redo[0].ID != first[1].ID {
			t.Errorf("week A again: %s ids %s, want the active users insight with id %d", rules(redo), ids(redo), first[1].ID)
		}
		if n := stored(atA); n != 1 {
			t.Errorf("%d insights stored for week A, want 1", n)
		}
	})
}

// rules lists insights as rule/priority, space-separated.
func rules(in []insights.Insight) string {
	out := ""
	for i, x := range in {
		if i > 0 {
			out += " "
		}
		out += x.Rule + "/" + x.Priority
	}
	return out
}

func ids(in []insights.Insight) string {
	out := ""
	for _, x := range in {
		out += " " + strconv.FormatInt(x.ID, 10)
	}
	return out
}

// same compares a listed insight with a saved one.
func same(a, b insights.Insight) bool {
	return a.ID == b.ID && a.Rule == b.Rule && a.Category == b.Category && a.Priority == b.Priority &&
		a.Title == b.Title && a.Detail == b.Detail && reflect.DeepEqual(a.Evidence, b.Evidence) &&
		a.PeriodFrom.Equal(b.PeriodFrom) && a.PeriodTo.Equal(b.PeriodTo) && a.DetectedAt.Equal(b.DetectedAt)
}
