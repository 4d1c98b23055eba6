package insights_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/insights"
)

// trendCase is a pair of weeks built to make one KPI's trend rule fire, or to keep it silent.
type trendCase struct {
	name string
	kpi  string
	// build inserts the rows of the previous week (from prev) and the current one (from cur).
	build func(t *testing.T, prev, cur time.Time)
	// priority is the insight's, "" when the rule must stay silent.
	priority string
	// previous and current are the KPI's values by construction, rows the rows of each week.
	previous, current float64
	prevRows, curRows float64
}

// TestTrendRuleFiresOnlyWhenItShould builds, week after week in one empty platform, a pair of
// weeks per case: changes that are large, significant and backed by enough rows fire, with the
// priority their direction and size call for; steady KPIs, changes too small, changes on too few
// rows and changes that chance explains stay silent. The figures of the evidence are those the
// rows were built with.
func TestTrendRuleFiresOnlyWhenItShould(t *testing.T) {
	t.Parallel()
	d := emptyPlatform(t)
	scores := func(fives, fours, threes int) []int {
		return concat(repeat(fives, 5), repeat(fours, 4), repeat(threes, 3))
	}
	cases := []trendCase{
		{name: "no-show spike", kpi: "noshow_ratio", priority: insights.PriorityHigh,
			build: func(t *testing.T, prev, cur time.Time) {
				appointments(t, d, prev, 7, 200, 20, 0)
				appointments(t, d, cur, 7, 200, 60, 0)
			}, previous: 0.1, current: 0.3, prevRows: 200, curRows: 200},
		{name: "no-show rise past min_change but below high_change", kpi: "noshow_ratio", priority: insights.PriorityMedium,
			build: func(t *testing.T, prev, cur time.Time) {
				appointments(t, d, prev, 7, 1000, 200, 0)
				appointments(t, d, cur, 7, 1000, 250, 0)
			}, previous: 0.2, current: 0.25, prevRows: 1000, curRows: 1000},
		{name: "no-show fall is good news", kpi: "noshow_ratio", priority: insights.PriorityLow,
			build: func(t *testing.T, prev, cur time.Time) {
				appointments(t, d, prev, 7, 200, 60, 0)
				appointments(t, d, cur, 7, 200, 20, 0)
			}, previous: 0.3, current: 0.1, prevRows: 200, curRows: 200},
		{name: "no-show steady", kpi: "noshow_ratio",
			build: func(t *testing.T, prev, cur time.Time) {
				appointments(t, d, prev, 7, 200, 20, 0)
				appointments(t, d, cur, 7, 200, 22, 0)
			}},
		{name: "no-show change that chance explains", kpi: "noshow_ratio", // +60 %, z = 1.26
			build: func(t *testing.T, prev, cur time.Time) {
				appointments(t, d, prev, 7, 100, 10, 0)
				appointments(t, d, cur, 7, 100, 16, 0)
			}},
		{name: "no-show change on too few appointments", kpi: "noshow_ratio", // 10 % to 60 % of 20
			build: func(t *testing.T, prev, cur time.Time) {
				appointments(t, d, prev, 7, 20, 2, 0)
				appointments(t, d, cur, 7, 20, 12, 0)
			}},
		{name: "completion drop", kpi: "completion_ratio", priority: insights.PriorityHigh,
			build: func(t *testing.T, prev, cur time.Time) {
				appointments(t, d, prev, 7, 200, 10, 10)
				appointments(t, d, cur, 7, 200, 25, 25)
			}, previous: 0.9, current: 0.75, prevRows: 200, curRows: 200},
		{name: "active users drop", kpi: "active_users", priority: insights.PriorityHigh,
			build: func(t *testing.T, prev, cur time.Time) {
				activeUsers(t, d, prev, 7, 500)
				activeUsers(t, d, cur, 7, 350)
			}, previous: 500, current: 350, prevRows: 500, curRows: 350},
		{name: "active users steady", kpi: "active_users",
			build: func(t *testing.T, prev, cur time.Time) {
				activeUsers(t, d, prev, 7, 500)
				activeUsers(t, d, cur, 7, 480)
			}},
		{name: "satisfaction drop", kpi: "satisfaction_score", priority: insights.PriorityHigh,
			build: func(t *testing.T, prev, cur time.Time) {
				feedback(t, d, prev, 7, scores(50, 50, 0))
				feedback(t, d, cur, 7, scores(0, 50, 50))
			}, previous: 4.5, current: 3.5, prevRows: 100, curRows: 100},
		{name: "support resolution slower", kpi: "support_resolution_time", priority: insights.PriorityHigh,
			build: func(t *testing.T, prev, cur time.Time) {
				tickets(t, d, prev, 7, concat(repeat(30, 8.0), repeat(30, 12.0)))
				tickets(t, d, cur, 7, concat(repeat(30, 24.0), repeat(30, 36.0)))
			}, previous: 10 * 3600, current: 30 * 3600, prevRows: 60, curRows: 60},
		{name: "conversion drop", kpi: "conversion_ratio", priority: insights.PriorityHigh,
			build: func(t *testing.T, prev, cur time.Time) {
				registrations(t, d, prev, 7, 100, 60)
				registrations(t, d, cur, 7, 100, 30)
			}, previous: 0.6, current: 0.3, prevRows: 100, curRows: 100},
	}
	// Each case gets its own fortnight, in months without a daylight saving change.
	base := time.Date(2026, 4, 20, 0, 0, 0, 0, paris)
	for i, c := range cases {
		to := base.AddDate(0, 0, 14*i)
		prev, cur := to.AddDate(0, 0, -14), to.AddDate(0, 0, -7)
		c.build(t, prev, cur)
		t.Run(c.name, func(t *testing.T) {
			s := insights.NewStore(d.DB)
			s.Config = only(c.kpi, insights.PeriodWeek)
			at := to.Add(6 * time.Hour)
			found, err := s.Detect(t.Context(), at)
			if err != nil {
				t.Fatal(err)
			}
			if c.priority == "" {
				if len(found) != 0 {
					t.Fatalf("want no insight, got %+v", found)
				}
				return
			}
			if len(found) != 1 {
				t.Fatalf("want one insight, got %d: %+v", len(found), found)
			}
			in := found[0]
			if in.Rule != "trend."+c.kpi+".week" || in.Category != insights.CategoryTrend || in.Priority != c.priority {
				t.Errorf("insight %s %s %s, want trend.%s.week %s", in.Rule, in.Category, in.Priority, c.kpi, c.priority)
			}
			if !in.PeriodFrom.Equal(cur) || !in.PeriodTo.Equal(to) || !in.DetectedAt.Equal(at) {
				t.Errorf("period %s .. %s detected %s, want %s .. %s at %s", in.PeriodFrom, in.PeriodTo, in.DetectedAt, cur, to, at)
			}
			for key, want := range map[string]float64{"previous": c.previous, "current": c.current,
				"previous_rows": c.prevRows, "current_rows": c.curRows, "days": 7} {
				if got := num(t, in, key); math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
					t.Errorf("evidence %s = %v, want %v", key, got, want)
				}
			}
			if p := num(t, in, "p_value"); p > s.Config.Trend.Significance {
				t.Errorf("reported with p-value %v", p)
			}
			if in.Title == "" || !strings.Contains(in.Detail, "7 days") || strings.Contains(in.Detail, "@") {
				t.Errorf("title %q, detail %q", in.Title, in.Detail)
			}
			t.Logf("%s\n%s", in.Title, in.Detail)
		})
	}
}

// TestTrendMonthOverMonth compares 30 days with the 30 before: a drop of active users fires
// month over month, and the same rows compared week over week (both weeks inside the current 30
// days) stay silent.
func TestTrendMonthOverMonth(t *testing.T) {
	t.Parallel()
	d := emptyPlatform(t)
	to := time.Date(2025, 7, 1, 0, 0, 0, 0, paris)
	activeUsers(t, d, to.AddDate(0, 0, -60), 30, 1200)
	activeUsers(t, d, to.AddDate(0, 0, -30), 30, 900)
	s := insights.NewStore(d.DB)
	s.Config = only("active_users", insights.PeriodWeek, insights.PeriodMonth)
	found, err := s.Detect(t.Context(), to.Add(6*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Rule != "trend.active_users.month" || found[0].Priority != insights.PriorityHigh {
		t.Fatalf("want trend.active_users.month, high; got %+v", found)
	}
	if got := num(t, found[0], "current"); got != 900 {
		t.Errorf("current %v, want 900", got)
	}
	if got := num(t, found[0], "previous"); got != 1200 {
		t.Errorf("previous %v, want 1200", got)
	}
	if !found[0].PeriodFrom.Equal(to.AddDate(0, 0, -30)) {
		t.Errorf("period from %s", found[0].PeriodFrom)
	}
}
