package bench

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/report"
	"github.com/bdc-analytics/bdc/pkg/schedule"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

// burstRanges bound the exports of the burst: one day of activity (about 29,000 events at
// 100,000 users), a week of appointments, a month of the other tables, all before the
// platform's end.
var burstRanges = map[string]string{
	"user_activities":      "time_range: {from: 2026-05-31, to: 2026-06-01}",
	"appointments":         "time_range: {from: 2026-05-25, to: 2026-06-01}",
	"users":                "time_range: {from: 2026-05-01, to: 2026-06-01}",
	"beneficiaries":        "time_range: {from: 2026-05-01, to: 2026-06-01}",
	"evaluations":          "time_range: {from: 2026-05-01, to: 2026-06-01}",
	"trainer_availability": "time_range: {from: 2026-05-01, to: 2026-06-01}",
	"payments":             "time_range: {from: 2026-05-01, to: 2026-06-01}",
	"feedback":             "time_range: {from: 2026-05-01, to: 2026-06-01}",
	"support_tickets":      "time_range: {from: 2026-05-01, to: 2026-06-01}",
}

// burstReports are the burst's report jobs, for the last week of the platform: the shipped
// performance template (KPI history computed from PostgreSQL at every day) and two custom
// templates, one of KPIs and a trend and one of user-behaviour analytics (cohorts, funnel,
// journeys), in several formats. (Templates with forecast or prediction sections read the data
// before the firing, which is the real clock here, after the platform's end.)
var burstReports = []struct{ template, format string }{
	{"performance", "xlsx"}, {"ops.yml", "pdf"}, {"ops.yml", "html"}, {"behaviour.yml", "json"}, {"behaviour.yml", "pdf"},
}

// burstTemplates are the custom templates of burstReports, by file name.
var burstTemplates = map[string]string{
	"ops.yml": `title: Operations
sections:
  - kind: kpis
    kpis: ['bdc_appointment_noshow_ratio{window="auto"}', bdc_satisfaction_score]
  - kind: trend
    kpis: ['bdc_appointment_noshow_ratio{window="7d"}']
`,
	"behaviour.yml": `title: Behaviour
sections:
  - kind: cohorts
    period: week
    cohorts: 4
    intervals: 4
  - kind: funnel
    steps: [signup, appointment_booked, appointment_completed]
    window_days: 30
  - kind: paths
    limit: 10
`,
}

// burstExportJobs is the number of export jobs of the burst.
const burstExportJobs = 50

// BenchmarkReporterBurst fires 50 export jobs of bounded size (9 sources in 7 formats, each a
// day, a week or a month before the platform's end) and 5 report jobs at one instant on a
// bdc-reporter scheduler with its default concurrency, through its real cron (gocron, a wall-clock
// instant a few seconds ahead), and measures the time from the instant until every run has
// ended, and each job's run time and completion time (from the instant to its end: how long its
// user waits for the file). The peer is the same jobs run one after the other on the same
// scheduler (Execute in a loop, at another instant), measured in the same run: the ratio is what
// running them concurrently buys on this machine. The burst runs first, so the serial pass gets
// the warmer cache. Run records go to the platform's bdc_analytics.job_runs under job names
// carrying the process id, and are deleted at the end: the platform is otherwise read only.
func BenchmarkReporterBurst(b *testing.B) {
	d := Platform(b)
	dir := b.TempDir()
	for name, tmpl := range burstTemplates {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(tmpl), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	prefix := fmt.Sprintf("burst%d-", os.Getpid())
	b.Cleanup(func() {
		if _, err := d.DB.Pool.Exec(context.Background(), "delete from bdc_analytics.job_runs where job like $1", prefix+"%"); err != nil {
			b.Errorf("removing the benchmark's run records: %v", err)
		}
	})
	var (
		burst, serial burstTimes
		concurrency   int
	)
	for i := 0; b.Loop(); i++ {
		burst, serial, concurrency = burstOnce(b, d, dir, fmt.Sprintf("%s%d-", prefix, i))
	}

	scale := fmt.Sprintf("users=%d", d.Seed.Users)
	bursting := fmt.Sprintf("%d exports and %d reports due at once", burstExportJobs, len(burstReports))
	ours := fmt.Sprintf("bdc-reporter scheduler, concurrency %d", concurrency)
	b.ReportMetric(burst.total, "all-done-s")
	b.ReportMetric(serial.total, "serial-s")
	for _, m := range []struct {
		metric       string
		ours, serial float64
	}{
		{"time until all are done", burst.total, serial.total},
		{"job done after, p50", testtools.Percentile(burst.done, 50), testtools.Percentile(serial.done, 50)},
		{"job done after, p99", testtools.Percentile(burst.done, 99), testtools.Percentile(serial.done, 99)},
		{"job run time, p50", testtools.Percentile(burst.runs, 50), testtools.Percentile(serial.runs, 50)},
		{"job run time, p99", testtools.Percentile(burst.runs, 99), testtools.Percentile(serial.runs, 99)},
	} {
		b.Logf("%s at %s: %s %.2f s, serial run %.2f s", bursting, scale, m.metric, m.ours, m.serial)
		record(b, Result{Area: "Reporter load", Case: bursting, Scale: scale, Metric: m.metric, Unit: "s", Ours: m.ours,
			OursName: ours, Peer: m.serial, PeerName: "serial run", LowerIsBetter: true})
	}
}

// burstOnce runs one burst and its serial peer with jobs named after prefix, on a scheduler of
// their own (its cron holds the instant), and returns both passes' figures and the concurrency.
func burstOnce(b *testing.B, d *testdb.Database, dir, prefix string) (burst, serial burstTimes, concurrency int) {
	b.Helper()
	ctx := b.Context()
	// An instant far enough ahead for the scheduler to start and schedule it.
	at := time.Now().UTC().Add(6 * time.Second).Truncate(time.Second)
	yml, names := burstJobs(prefix, at)
	kinds := schedule.Kinds{
		schedule.KindExport: &schedule.ExportKind{Exporter: &export.Exporter{DB: d.DB}},
		schedule.KindReport: &schedule.ReportKind{Builder: &report.Builder{DB: d.DB}, Dir: dir},
	}
	cfg, err := schedule.ParseConfig(filepath.Join(dir, "reporter.yml"), []byte(yml), kinds)
	if err != nil {
		b.Fatal(err)
	}
	cfg.OutputDir = filepath.Join(dir, "output")
	s, err := schedule.New(schedule.Options{DB: d.DB, Config: cfg, Registerer: prometheus.NewRegistry(), Owner: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- s.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			b.Errorf("scheduler: %v", err)
		}
	}()
	for deadline := time.Now().Add(time.Minute); !s.Ready(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the scheduler was not ready within a minute")
		}
	}
	if !time.Now().Before(at) {
		b.Fatalf("the scheduler was ready only after the firing instant %s", at)
	}
	burst = waitBurst(b, d, prefix, at, len(names))

	// The same jobs one after the other, at an instant the cron does not fire.
	later := at.Add(time.Hour)
	for _, name := range names {
		begin := time.Now()
		if _, err := s.Execute(ctx, name, later, schedule.TriggerSchedule); err != nil {
			b.Fatalf("serial run of %s: %v", name, err)
		}
		took := time.Since(begin).Seconds()
		serial.total += took
		serial.runs = append(serial.runs, took)
		serial.done = append(serial.done, serial.total)
	}
	return burst, serial, cfg.Concurrency
}

// burstTimes are a pass's figures, in seconds: until every job was done, each job's run time,
// and when each job was done after the pass began.
type burstTimes struct {
	total      float64
	runs, done []float64
}

// burstJobs is reporter.yml with the burst's jobs, every one due at `at` only, and their names.
func burstJobs(prefix string, at time.Time) (string, []string) {
	when := fmt.Sprintf("%d %d %d %d %d *", at.Second(), at.Minute(), at.Hour(), at.Day(), int(at.Month()))
	var (
		y     strings.Builder
		names []string
	)
	y.WriteString("timezone: UTC\ndefaults: {timeout: 10m, retries: 0}\njobs:\n")
	sources := slices.Sorted(maps.Keys(burstRanges))
	formats := export.FormatNames()
	// 9 sources and 7 formats are coprime: the first 63 pairs are all different.
	for i := range burstExportJobs {
		src, f := sources[i%len(sources)], formats[i%len(formats)]
		name := fmt.Sprintf("%s%02d-%s", prefix, i, f)
		names = append(names, name)
		fmt.Fprintf(&y, "  - name: %s\n    kind: export\n    schedule: %q\n    export:\n      - {source: %s, format: %s, %s}\n",
			name, when, src, f, burstRanges[src])
	}
	for i, r := range burstReports {
		name := fmt.Sprintf("%sreport-%d", prefix, i)
		names = append(names, name)
		fmt.Fprintf(&y, "  - name: %s\n    kind: report\n    schedule: %q\n    report: {template: %s, formats: [%s], from: 2026-05-25, to: 2026-06-01}\n",
			name, when, r.template, r.format)
	}
	return y.String(), names
}

// waitBurst waits until the jobs' runs of the instant have all ended, fails the benchmark unless
// each succeeded once, and returns their times from the run records.
func waitBurst(b *testing.B, d *testdb.Database, prefix string, at time.Time, jobs int) burstTimes {
	b.Helper()
	ctx := b.Context()
	for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var ended int
		err := d.DB.Pool.QueryRow(ctx, `select count(*) from bdc_analytics.job_runs
			where job like $1 and scheduled_at = $2 and status <> 'running'`, prefix+"%", at).Scan(&ended)
		if err != nil {
			b.Fatal(err)
		}
		if ended == jobs {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of the %d runs had ended 10 minutes after the instant", ended, jobs)
		}
	}
	rows, err := d.DB.Pool.Query(ctx, `select job, status, coalesce(error, ''), started_at, finished_at
		from bdc_analytics.job_runs where job like $1 and scheduled_at = $2`, prefix+"%", at)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var t burstTimes
	for rows.Next() {
		var (
			job, status, msg  string
			started, finished time.Time
		)
		if err := rows.Scan(&job, &status, &msg, &started, &finished); err != nil {
			b.Fatal(err)
		}
		if status != schedule.StatusSucceeded {
			b.Fatalf("%s %s: %s", job, status, msg)
		}
		t.runs = append(t.runs, finished.Sub(started).Seconds())
		t.done = append(t.done, finished.Sub(at).Seconds())
		t.total = max(t.total, finished.Sub(at).Seconds())
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	if len(t.runs) != jobs {
		b.Fatalf("%d run records for %d jobs", len(t.runs), jobs)
	}
	return t
}
