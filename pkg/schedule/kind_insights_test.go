package schedule_test

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/insights"
	"github.com/bdc-analytics/bdc/pkg/schedule"
	"github.com/bdc-analytics/bdc/pkg/store"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// insightsKinds are the kinds of the insights tests: exports and insights.
func insightsKinds(db *store.DB) schedule.Kinds {
	k := kinds(db)
	k[schedule.KindInsights] = &schedule.InsightsKind{DB: db}
	return k
}

// insightsJob is a reporter.yml with one insights job; block is its insights block, indented
// under it.
func insightsJob(name, block string) string {
	return `
jobs:
  - name: ` + name + `
    kind: insights
    schedule: "0 6 * * *"
    timeout: 1m
    retries: 0
    insights:
` + block
}

// TestInsightsConfigErrors checks that mistakes in an insights block name the file, the line and
// the field, and that a partial block keeps the defaults of what it leaves out.
func TestInsightsConfigErrors(t *testing.T) {
	for _, c := range []struct{ name, block, want string }{
		{"unknown field", "      trend: {treshold: 2}\n", "reporter.yml:9: jobs[0].insights.trend.treshold: unknown field (want one of enabled, kpis, min_count, periods, significance)"},
		{"unknown kpi", "      trend:\n        kpis:\n          revenue: {min_change: 0.1}\n",
			"reporter.yml:11: jobs[0].insights.trend.kpis.revenue: unknown field"},
		{"significance", "      trend:\n        significance: 0\n",
			"reporter.yml:10: jobs[0].insights.trend.significance: must be above 0 and at most 0.5 (a two-sided p-value), got 0"},
		{"high below min change", "      trend:\n        kpis:\n          noshow_ratio: {min_change: 0.3, high_change: 0.2}\n",
			"reporter.yml:11: jobs[0].insights.trend.kpis.noshow_ratio.high_change: must be between min_change (0.3) and 10, got 0.2"},
		{"unknown period", "      trend: {periods: [week, quarter]}\n", `reporter.yml:9: jobs[0].insights.trend.periods[1]: unknown period "quarter" (want week or month)`},
		{"unknown series", "      anomaly:\n        series: [appointments, revenue]\n",
			`reporter.yml:10: jobs[0].insights.anomaly.series[1]: unknown series "revenue" (want one of appointments, registrations, trainer_utilization)`},
		{"level", "      anomaly:\n        level: 95\n", "reporter.yml:10: jobs[0].insights.anomaly.level: must be between 0 and 1 (0.95 is a 95 % interval), got 95"},
		{"wrong type", "      anomaly:\n        days: yesterday\n", "reporter.yml:10: jobs[0].insights.anomaly.days: cannot unmarshal !!str `yesterday` into int"},
		{"threshold", "      risk:\n        enabled: true\n        noshow_threshold: 1.5\n",
			"reporter.yml:11: jobs[0].insights.risk.noshow_threshold: must be a probability above 0 and at most 1, got 1.5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := schedule.ParseConfig("reporter.yml", []byte(insightsJob("daily_insights", c.block)), insightsKinds(nil))
			var ce *schedule.ConfigError
			if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("got  %v\nwant %s", err, c.want)
			}
		})
	}
	for _, ok := range []string{"", "      risk: {enabled: false}\n", "      trend:\n        kpis:\n          noshow_ratio: {min_change: 0.2}\n"} {
		if _, err := schedule.ParseConfig("reporter.yml", []byte(insightsJob("daily_insights", ok)), insightsKinds(nil)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

// TestInsightsJob runs a job of kind insights through the scheduler on the generated platform:
// each firing stores its insights once, under its scheduled time (a finished firing does not
// run again; two replicas firing at once run it once), writes them into its folder, and the API
// lists them with its filters.
func TestInsightsJob(t *testing.T) {
	d := testdb.Get(t)
	out := t.TempDir()
	// A narrow interval over the last week: the generated platform has days outside it.
	yml := insightsJob("insights", "      anomaly: {days: 7, level: 0.5, high_level: 0.8}\n")
	cfg, err := schedule.ParseConfig("reporter.yml", []byte(yml), insightsKinds(d.DB))
	if err != nil {
		t.Fatal(err)
	}
	cfg.OutputDir = out
	a, reg := newScheduler(t, d.DB, cfg, "replica-a")
	b, _ := newScheduler(t, d.DB, cfg, "replica-b")
	ctx := t.Context()
	list := func(opts insights.ListOptions) []insights.Insight {
		t.Helper()
		found, err := insights.NewStore(d.DB).List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		return found
	}
	firings := []time.Time{day.Add(-24 * time.Hour), day}
	for _, at := range firings {
		run, err := a.Execute(ctx, "insights", at, schedule.TriggerSchedule)
		if err != nil {
			t.Fatal(err)
		}
		stored := list(insights.ListOptions{From: at, To: at})
		if run.Rows == nil || *run.Rows != int64(len(stored)) || len(stored) == 0 {
			t.Fatalf("run of %s: %v rows, %d insights stored", at, run.Rows, len(stored))
		}
		if len(run.Files) != 1 {
			t.Fatalf("run files %+v", run.Files)
		}
		data, err := os.ReadFile(filepath.Join(out, run.Folder, run.Files[0].Name))
		if err != nil {
			t.Fatal(err)
		}
		var file schedule.InsightsFile
		if err := json.Unmarshal(data, &file); err != nil {
			t.Fatal(err)
		}
		if !file.DetectedAt.Equal(at) || len(file.Insights) != len(stored) {
			t.Fatalf("file of %s: %d insights detected at %s", at, len(file.Insights), file.DetectedAt)
		}
		for i := range stored {
			if file.Insights[i].ID != stored[i].ID || file.Insights[i].Title != stored[i].Title {
				t.Errorf("file insight %d: %d %q, stored %d %q", i, file.Insights[i].ID, file.Insights[i].Title, stored[i].ID, stored[i].Title)
			}
		}
		if _, err := a.Execute(ctx, "insights", at, schedule.TriggerSchedule); !errors.Is(err, schedule.ErrDone) {
			t.Errorf("a finished firing ran again: %v", err)
		}
		if again := list(insights.ListOptions{From: at, To: at}); len(again) != len(stored) {
			t.Errorf("%d insights after the second firing, want %d", len(again), len(stored))
		}
	}
	if n := metric(t, reg, "bdc_reporter_job_runs_total", map[string]string{"job": "insights", "status": "succeeded"}); n != 2 {
		t.Errorf("%v successful runs, want 2", n)
	}

	t.Run("two replicas", func(t *testing.T) {
		at := day.Add(time.Hour)
		var wg sync.WaitGroup
		var ran sync.Map
		for _, s := range []*schedule.Scheduler{a, b} {
			wg.Go(func() {
				run, err := s.Execute(ctx, "insights", at, schedule.TriggerSchedule)
				switch {
				case errors.Is(err, schedule.ErrBusy), errors.Is(err, schedule.ErrDone):
				case err != nil:
					t.Error(err)
				default:
					ran.Store(s.Owner(), run)
				}
			})
		}
		wg.Wait()
		n := 0
		var rows int64
		ran.Range(func(_, v any) bool {
			n++
			rows = *v.(*schedule.Run).Rows
			return true
		})
		if stored := list(insights.ListOptions{From: at, To: at}); n != 1 || int64(len(stored)) != rows {
			t.Errorf("%d runs, %d rows, %d insights stored", n, rows, len(stored))
		}
	})

	t.Run("api", func(t *testing.T) {
		handler, err := a.Handler(reg, "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(handler)
		defer srv.Close()
		get := func(query url.Values) (int, apiResponse, []insights.Insight) {
			t.Helper()
			var found []insights.Insight
			code, _, body := call(t, "GET", srv.URL+"/api/v1/insights?"+query.Encode())
			r := decode(t, body, &found)
			return code, r, found
		}
		all := list(insights.ListOptions{})
		code, r, found := get(url.Values{})
		if code != 200 || r.Status != "success" || len(found) != len(all) || len(all) == 0 {
			t.Fatalf("all: %d %+v, %d insights of %d", code, r, len(found), len(all))
		}
		for i := 1; i < len(found); i++ {
			if found[i].DetectedAt.After(found[i-1].DetectedAt) {
				t.Fatalf("insight %d is newer than the one before it", i)
			}
		}
		count := func(keep func(insights.Insight) bool) int {
			n := 0
			for _, in := range all {
				if keep(in) {
					n++
				}
			}
			return n
		}
		for _, c := range []struct {
			query url.Values
			keep  func(insights.Insight) bool
		}{
			{url.Values{"category": {"anomaly"}}, func(in insights.Insight) bool { return in.Category == "anomaly" }},
			{url.Values{"priority": {"high"}}, func(in insights.Insight) bool { return in.Priority == "high" }},
			{url.Values{"from": {day.Format(time.RFC3339)}}, func(in insights.Insight) bool { return !in.DetectedAt.Before(day) }},
			{url.Values{"to": {day.Add(-time.Second).UTC().Format(time.RFC3339)}},
				func(in insights.Insight) bool { return in.DetectedAt.Before(day) }},
			{url.Values{"from": {unix(day)}, "to": {unix(day)}, "category": {"anomaly"}},
				func(in insights.Insight) bool { return in.DetectedAt.Equal(day) && in.Category == "anomaly" }},
		} {
			code, _, got := get(c.query)
			want := count(c.keep)
			if code != 200 || len(got) != want || want == 0 {
				t.Errorf("%s: %d, %d insights, want %d", c.query.Encode(), code, len(got), want)
			}
			for _, in := range got {
				if !c.keep(in) {
					t.Errorf("%s: listed %s of %s", c.query.Encode(), in.Rule, in.DetectedAt)
				}
			}
		}
		if code, _, got := get(url.Values{"limit": {"1"}}); code != 200 || len(got) != 1 || got[0].ID != all[0].ID {
			t.Errorf("limit=1: %d, %d insights", code, len(got))
		}
		for _, bad := range []url.Values{{"limit": {"0"}}, {"limit": {"x"}}, {"limit": {"10001"}}, {"category": {"forecast"}},
			{"priority": {"urgent"}}, {"from": {"yesterday"}}, {"to": {"NaN"}}, {"from": {unix(day)}, "to": {unix(day.Add(-time.Hour))}}} {
			if code, r, _ := get(bad); code != 400 || r.ErrorType != "bad_data" || r.Error == "" {
				t.Errorf("%s: %d %+v", bad.Encode(), code, r)
			}
		}
	})
}

// unix writes t as Unix seconds, the other form of instant the API takes.
func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// FuzzInsightsBlock checks that any insights block is accepted as the job of kind insights it
// is, or refused with an error naming the file, never with a panic.
func FuzzInsightsBlock(f *testing.F) {
	for _, seed := range []string{
		"trend: {periods: [week], significance: 0.05, kpis: {noshow_ratio: {min_change: 0.2, high_change: 0.4}}}",
		"anomaly: {series: [appointments], days: 3, level: 0.9, high_level: 0.99, history_days: 120}",
		"risk: {noshow_threshold: 0.4, churn_threshold: 0.6, high_share: 0.1, factors: 2, list_ids: 0}",
		"trend: {enabled: false}\nanomaly: {enabled: false}\nrisk: {enabled: false}",
		"trend: [1, 2]", "anomaly: {days: -1}", "&a {risk: *a}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, block string) {
		lines := strings.Split(block, "\n")
		for i, l := range lines {
			lines[i] = "      " + l
		}
		cfg, err := schedule.ParseConfig("fuzz.yml", []byte(insightsJob("a", strings.Join(lines, "\n")+"\n")), insightsKinds(nil))
		if err != nil {
			var ce *schedule.ConfigError
			if !errors.As(err, &ce) && !strings.HasPrefix(err.Error(), "fuzz.yml: ") {
				t.Fatalf("error %q names no file", err)
			}
			return
		}
		if len(cfg.Jobs) != 1 || cfg.Jobs[0].Kind != schedule.KindInsights {
			t.Fatalf("accepted %+v", cfg.Jobs)
		}
	})
}
