package schedule

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

var firing = time.Date(2026, 5, 30, 4, 0, 0, 0, time.UTC)

func testScheduler(t *testing.T, job string) (*Scheduler, *testdb.Database) {
	t.Helper()
	d := testdb.Get(t)
	yml := `
jobs:
  - name: ` + job + `
    kind: export
    schedule: "0 * * * *"
    timeout: 1m
    retries: 2
    export:
      - {source: feedback, format: csv}
`
	cfg, err := ParseConfig("reporter.yml", []byte(yml), Kinds{KindExport: &ExportKind{Exporter: &export.Exporter{DB: d.DB}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.OutputDir = t.TempDir()
	s, err := New(Options{DB: d.DB, Config: cfg, Registerer: prometheus.NewRegistry(), Owner: "survivor"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.ctx = t.Context()
	return s, d
}

// deadReplica leaves what a replica killed in the middle of a run leaves: a running record,
// the firing's lock held by its session, and a partial temporary file. Closing the returned
// connection is the kill: the session ends and the lock goes with it.
func deadReplica(t *testing.T, s *Scheduler, d *testdb.Database, job string, attempt int, deadline time.Time) *pgx.Conn {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, d.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "select pg_advisory_lock($1)", runLockKey(job, firing)); err != nil {
		t.Fatal(err)
	}
	var id int64
	err = conn.QueryRow(ctx, `insert into bdc_analytics.job_runs (job, kind, scheduled_at, triggered_by, status, attempt,
		max_attempts, owner, created_at, started_at, deadline_at) values ($1, 'export', $2, 'schedule', 'running', $3, 3,
		'killed:42', $2, $2, $4) returning id`, job, firing, attempt, deadline).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	j := s.cfg.Job(job)
	dir := filepath.Join(s.cfg.OutputDir, Folder(j, firing))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(dir, ".feedback_20260530T040000Z.csv.tmp-r"+strconv.FormatInt(id, 10)+"-a"+strconv.Itoa(attempt))
	if err := os.WriteFile(partial, []byte("id,user_id\n1,"), 0o644); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestWatchdogPicksUpARunWhoseReplicaDied checks that a run is left alone while its replica
// holds its lock, and picked up, once, when that replica's session ends: the partial file goes,
// the firing's files appear, and the record says attempt 2 by the survivor.
func TestWatchdogPicksUpARunWhoseReplicaDied(t *testing.T) {
	s, d := testScheduler(t, "pickup")
	conn := deadReplica(t, s, d, "pickup", 1, firing.Add(24*365*time.Hour))

	s.check(t.Context())
	s.wg.Wait()
	runs, err := ListRuns(t.Context(), d.DB, RunFilter{Job: "pickup"})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != StatusRunning || runs[0].Owner != "killed:42" {
		t.Fatalf("a run whose replica holds its lock was touched: %+v", runs)
	}

	if err := conn.Close(context.Background()); err != nil { // the replica dies
		t.Fatal(err)
	}
	s.check(t.Context())
	s.wg.Wait()
	runs, err = ListRuns(t.Context(), d.DB, RunFilter{Job: "pickup"})
	if err != nil {
		t.Fatal(err)
	}
	r := runs[0]
	if len(runs) != 1 || r.Status != StatusSucceeded || r.Owner != "survivor" || r.Attempt != 2 {
		t.Fatalf("after the replica died: %+v", runs)
	}
	dir := filepath.Join(s.cfg.OutputDir, r.Folder)
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"feedback_20260530T040000Z.csv", "feedback_20260530T040000Z.csv.meta.json", ManifestName}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("folder holds %v, want %v (no temporary file left)", names, want)
	}
	if n := value(s.metrics.takeovers.WithLabelValues("pickup")); n != 1 {
		t.Errorf("bdc_reporter_job_takeovers_total = %v, want 1", n)
	}
	// Later rounds leave the finished run alone.
	s.check(t.Context())
	s.wg.Wait()
	if n := value(s.metrics.runs.WithLabelValues("pickup", StatusSucceeded)); n != 1 {
		t.Errorf("bdc_reporter_job_runs_total{succeeded} = %v, want 1", n)
	}
}

// TestWatchdogFailsRunsPastTheirDeadline checks the watchdog on a run stuck on a replica that
// still holds its lock (a hung process): it is failed, with a clear error and metrics.
func TestWatchdogFailsRunsPastTheirDeadline(t *testing.T) {
	s, d := testScheduler(t, "stuck")
	past := time.Now().Add(-time.Minute)
	conn := deadReplica(t, s, d, "stuck", 1, past)
	defer conn.Close(context.Background())
	s.check(t.Context())
	s.wg.Wait()
	runs, err := ListRuns(t.Context(), d.DB, RunFilter{Job: "stuck"})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != StatusFailed || !strings.HasPrefix(runs[0].Error, "watchdog: no result by ") ||
		!strings.Contains(runs[0].Error, "attempt 1 on killed:42") {
		t.Fatalf("stuck run: %+v", runs)
	}
	if n := value(s.metrics.expired.WithLabelValues("stuck")); n != 1 {
		t.Errorf("bdc_reporter_watchdog_expired_runs_total = %v, want 1", n)
	}
	if n := value(s.metrics.failures.WithLabelValues("stuck", ReasonTimeout)); n != 1 {
		t.Errorf("bdc_reporter_job_failures_total{reason=timeout} = %v, want 1", n)
	}
}

// TestDeadRunWithoutAttemptsLeftFails checks that a run whose replica died on its last attempt is
// failed rather than run again.
func TestDeadRunWithoutAttemptsLeftFails(t *testing.T) {
	s, d := testScheduler(t, "exhausted")
	conn := deadReplica(t, s, d, "exhausted", 3, firing.Add(24*365*time.Hour))
	_ = conn.Close(context.Background())
	s.check(t.Context())
	s.wg.Wait()
	runs, err := ListRuns(t.Context(), d.DB, RunFilter{Job: "exhausted"})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != StatusFailed || !strings.Contains(runs[0].Error, "the replica running attempt 3 of 3 (killed:42) stopped; no attempt left") {
		t.Fatalf("run: %+v", runs)
	}
	if n := value(s.metrics.failures.WithLabelValues("exhausted", ReasonJob)); n != 1 {
		t.Errorf("bdc_reporter_job_failures_total{reason=job} = %v, want 1", n)
	}
}

// TestCronFirings checks prev and next, across the spring DST change in Paris and with seconds.
func TestCronFirings(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	cases := []struct {
		spec       string
		at         time.Time
		prev, next time.Time
	}{
		{"30 2 * * *", time.Date(2026, 5, 31, 2, 30, 0, 0, paris), time.Date(2026, 5, 31, 2, 30, 0, 0, paris), time.Date(2026, 6, 1, 2, 30, 0, 0, paris)},
		{"30 2 * * *", time.Date(2026, 5, 31, 2, 29, 59, 0, paris), time.Date(2026, 5, 30, 2, 30, 0, 0, paris), time.Date(2026, 5, 31, 2, 30, 0, 0, paris)},
		// 29 March 2026: 02:30 does not exist in Paris; robfig/cron fires at 03:00 then.
		{"0 * * * *", time.Date(2026, 3, 29, 3, 10, 0, 0, paris), time.Date(2026, 3, 29, 3, 0, 0, 0, paris), time.Date(2026, 3, 29, 4, 0, 0, 0, paris)},
		{"*/3 * * * * *", time.Date(2026, 5, 31, 12, 0, 4, 500, paris), time.Date(2026, 5, 31, 12, 0, 3, 0, paris), time.Date(2026, 5, 31, 12, 0, 6, 0, paris)},
		{"0 5 1 * *", time.Date(2026, 5, 31, 12, 0, 0, 0, paris), time.Date(2026, 5, 1, 5, 0, 0, 0, paris), time.Date(2026, 6, 1, 5, 0, 0, 0, paris)},
		{"@yearly", time.Date(2026, 5, 31, 12, 0, 0, 0, paris), time.Date(2026, 1, 1, 0, 0, 0, 0, paris), time.Date(2027, 1, 1, 0, 0, 0, 0, paris)},
	}
	for _, c := range cases {
		cron, err := parseCron(c.spec, paris)
		if err != nil {
			t.Fatal(err)
		}
		if got := cron.prev(c.at); !got.Equal(c.prev) {
			t.Errorf("%q prev(%s) = %s, want %s", c.spec, c.at, got, c.prev)
		}
		if got := cron.next(c.at); !got.Equal(c.next) {
			t.Errorf("%q next(%s) = %s, want %s", c.spec, c.at, got, c.next)
		}
	}
}

// TestBackoff checks the delays' growth, cap and jitter bounds.
func TestBackoff(t *testing.T) {
	jitter := 0.25
	b := Backoff{Initial: 1e9, Max: 10e9, Factor: 3, Jitter: &jitter}
	for n, base := range map[int]float64{1: 1e9, 2: 3e9, 3: 9e9, 4: 10e9, 10: 10e9} {
		for range 200 {
			d := float64(b.delay(n))
			if d < base*(1-jitter) || d > base*(1+jitter) {
				t.Fatalf("delay after attempt %d = %v, want %v ±25%%", n, time.Duration(d), time.Duration(base))
			}
		}
	}
	zero := 0.0
	b.Jitter = &zero
	if d := b.delay(2); d != 3*time.Second {
		t.Errorf("without jitter: %v, want 3s", d)
	}
}

// value reads a counter or gauge.
func value(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		return -1
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}
