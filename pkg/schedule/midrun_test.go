package schedule_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bdc-analytics/bdc/bench/cmd/benchreport/results"
	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/pgcluster"
	"github.com/bdc-analytics/bdc/pkg/schedule"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

// TestDatabaseStoppedMidExport stops a throwaway PostgreSQL (never the shared server) while an
// export job is writing its CSV, and checks what the user sees and that the service resumes by
// itself once PostgreSQL is back:
//
//   - the attempt ends at once with an error naming PostgreSQL's 127.0.0.1:PORT, logged with
//     reason=database; the replica has lost the session holding the firing's lock with it, so it
//     records nothing (it cannot), retries nothing (it no longer holds the firing) and leaves the
//     run running for a watchdog, as when a replica is killed: the firing has not failed, so no
//     failure and no retry is counted;
//   - no file at the final path, no temporary file, no manifest: nothing half-written;
//   - while PostgreSQL is down: bdc_reporter_database_up 0, /-/ready 503, and /api/v1/runs 503
//     naming the address;
//   - once it is restarted, the watchdog of the same replica picks the run up with attempt 2
//     and publishes the CSV, whose rows are counted against select count(*): exactly one run
//     record, one file set, and the metrics say it (takeovers 1, one success, no failure).
//
// Catching "while the export is writing" by timing alone would be a race: the server sends the
// rows faster than the client writes them, and the socket buffers can hold megabytes. So the
// test makes it deterministic: once the temporary file holds data, it freezes the export's server
// process (SIGSTOP) and checks in pg_stat_activity that its query is still active; only then does
// it stop the cluster (pg_ctl stop -m fast, all pgcluster offers), waits until the frozen process
// has the postmaster's SIGTERM pending, and lets it go on (SIGCONT), so that it dies in the middle
// of sending the rows, whatever the machine's speed. The export holds several times more data
// than the socket buffers, so the query is still running when it is frozen.
func TestDatabaseStoppedMidExport(t *testing.T) {
	ctx := t.Context()
	// The deepest sessions give about 260,000 activity rows (16 MB of CSV) in a few seconds: five
	// times what a run of this test showed the socket buffers can hold before the export's
	// query ends.
	cluster, db := testdb.Cluster(t, demo.Config{Users: 600, Days: 200, Seed: 3, SessionDepth: 50, End: testdb.Scale.End})
	var want int64
	if err := db.Pool.QueryRow(ctx, "select count(*) from bdc.user_activities").Scan(&want); err != nil {
		t.Fatal(err)
	}

	out := t.TempDir()
	// The job is off the cron schedule (enabled: false): the test fires it itself at a known
	// instant, and the watchdog, which runs every 200 ms, still watches its runs.
	cfg := config(t, db, `
watchdog: {interval: 200ms}
jobs:
  - name: midrun
    kind: export
    schedule: "0 3 * * *"
    enabled: false
    timeout: 2m
    retries: 2
    backoff: {initial: 100ms, max: 500ms}
    export:
      - {source: user_activities, format: csv}
`, out)
	logs := &testtools.SyncBuffer{}
	reg := prometheus.NewRegistry()
	// The production keepalive (10 s): the export's own connection reports the stop first, as it
	// does in production.
	s, err := schedule.New(schedule.Options{DB: db, Config: cfg, Registerer: reg, Owner: "replica-a",
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	handler, err := s.Handler(reg, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- s.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("scheduler: %v", err)
		}
		if t.Failed() {
			t.Logf("scheduler log:\n%s", logs)
		}
	})
	waitUntil(t, time.Minute, "the scheduler ready", s.Ready)

	type result struct {
		run *schedule.Run
		err error
	}
	done := make(chan result, 1)
	go func() {
		run, err := s.Execute(ctx, "midrun", day, schedule.TriggerSchedule)
		done <- result{run, err}
	}()

	dir := filepath.Join(out, "midrun", "2026-05-31")
	var partial int64
	waitUntil(t, time.Minute, "the export's temporary CSV to hold data", func() bool {
		partial = stagedBytes(dir, ".csv")
		return partial > 0
	})
	pid := freezeExport(t, cluster)
	partial = stagedBytes(dir, ".csv")

	stopped := make(chan error, 1)
	go func() { stopped <- cluster.Stop(context.Background()) }()
	waitUntil(t, 30*time.Second, "the postmaster's SIGTERM to the frozen export", func() bool { return sigtermPending(pid) })
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	var res result
	select {
	case res = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the run did not end after PostgreSQL stopped")
	}

	// What the user sees while PostgreSQL is down.
	addr := fmt.Sprintf("127.0.0.1:%d", cluster.Port())
	wantErr := "lost the connection holding the run's lock, to PostgreSQL at " + addr
	if res.err == nil || !strings.Contains(res.err.Error(), wantErr) || res.run != nil {
		t.Errorf("interrupted firing: %+v, %v; want no record and an error saying %q", res.run, res.err, wantErr)
	}
	line := logLine(logs.String(), "run interrupted")
	if !contains(line, "reason=database", addr, "attempt=1", "couldn't export user_activities as csv") {
		t.Errorf("log line of the interrupted run: %q", line)
	}
	if files := snapshot(t, out); len(files) > 0 {
		names := make([]string, 0, len(files))
		for name := range files {
			names = append(names, name)
		}
		t.Errorf("the interrupted attempt left %v; want nothing, not even its temporary file", names)
	}
	waitUntil(t, 10*time.Second, "bdc_reporter_database_up 0", func() bool {
		return metric(t, reg, "bdc_reporter_database_up", nil) == 0 && !s.Ready()
	})
	for _, path := range []string{"/-/ready", "/api/v1/runs"} {
		code, body := httpGet(t, srv.URL+path)
		if code != http.StatusServiceUnavailable || (path != "/-/ready" && !strings.Contains(body, addr)) {
			t.Errorf("GET %s while PostgreSQL is down: %d %s", path, code, body)
		}
	}
	job := map[string]string{"job": "midrun"}
	if n := metric(t, reg, "bdc_reporter_job_running", job); n != 0 {
		t.Errorf("bdc_reporter_job_running = %v after the run was interrupted, want 0", n)
	}

	if err := cluster.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	var runs []schedule.Run
	waitUntil(t, 2*time.Minute, "the firing to succeed after the restart", func() bool {
		code, body := httpGet(t, srv.URL+"/api/v1/runs?job=midrun")
		var env struct{ Data []schedule.Run }
		if code != http.StatusOK || json.Unmarshal([]byte(body), &env) != nil {
			return false
		}
		runs = env.Data
		return len(runs) > 0 && runs[0].Status != schedule.StatusRunning
	})
	resumed := time.Since(restarted)
	if len(runs) != 1 || runs[0].Status != schedule.StatusSucceeded || runs[0].Attempt != 2 || runs[0].Owner != "replica-a" ||
		!runs[0].ScheduledAt.Equal(day) || runs[0].Error != "" || runs[0].Rows == nil || *runs[0].Rows != want {
		t.Fatalf("run records after the restart: %+v; want one, succeeded with attempt 2 and %d rows", runs, want)
	}

	// The published CSV is whole: read back independently and counted against the table.
	name := "user_activities_20260531T003000Z.csv"
	if got := csvRecords(t, filepath.Join(dir, name)); got != want {
		t.Errorf("%s holds %d rows, select count(*) says %d", name, got, want)
	}
	var md export.Metadata
	if data, err := os.ReadFile(filepath.Join(dir, name+export.MetadataSuffix)); err != nil || json.Unmarshal(data, &md) != nil || md.Rows != want {
		t.Errorf("sidecar of %s: %d rows (%v), want %d", name, md.Rows, err, want)
	}
	m, err := schedule.ReadManifest(dir)
	if err != nil || len(m.Runs) != 1 || m.Runs[0].Attempt != 2 || m.Runs[0].Rows != want {
		t.Errorf("manifest %+v (%v): want the one run, attempt 2, %d rows", m, err, want)
	}
	if left := staged(t, out); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	for name, want := range map[string]float64{
		"bdc_reporter_job_takeovers_total": 1,
		"bdc_reporter_job_success":         1,
		"bdc_reporter_job_retries_total":   0,
	} {
		if n := metric(t, reg, name, job); n != want {
			t.Errorf("%s = %v, want %v", name, n, want)
		}
	}
	if n := metric(t, reg, "bdc_reporter_job_runs_total", map[string]string{"job": "midrun", "status": "succeeded"}); n != 1 {
		t.Errorf("bdc_reporter_job_runs_total{status=succeeded} = %v, want 1", n)
	}
	for _, r := range []string{schedule.ReasonDatabase, schedule.ReasonOutput, schedule.ReasonTimeout, schedule.ReasonJob} {
		if n := metric(t, reg, "bdc_reporter_job_failures_total", map[string]string{"job": "midrun", "reason": r}); n != 0 {
			t.Errorf("bdc_reporter_job_failures_total{reason=%q} = %v: the firing did not fail", r, n)
		}
	}
	if n := metric(t, reg, "bdc_reporter_database_up", nil); n != 1 {
		t.Errorf("bdc_reporter_database_up = %v after the restart, want 1", n)
	}
	t.Logf("stopped with %d of the CSV's bytes staged; the user saw %q, and the log %q; resumed %.2f s after the restart with %d rows",
		partial, res.err, line, resumed.Seconds(), want)
	testtools.RecordCheck(t, results.Check{Area: "Reliability", Case: "reporter: PostgreSQL stopped in the middle of an export",
		Sees: fmt.Sprintf("the attempt ends at once with %q, logged with reason=database; bdc_reporter_database_up 0, /-/ready 503, "+
			"/api/v1/runs 503 naming the address; no failure counted: the run is left running for the watchdog", res.err),
		Outcome: "no file, temporary file or manifest left by the cut attempt; once PostgreSQL is back the watchdog runs attempt 2, " +
			"which publishes the whole CSV (its rows equal to select count(*)) under the one run record",
		Resumed: resumed.Seconds()})
}

// freezeExport stops the server process running the export's query (SIGSTOP) and returns its
// pid, failing unless the query is still active: the test then knows the export is cut in the
// middle. The process is let go on at the end of the test whatever happens.
func freezeExport(t *testing.T, cluster *pgcluster.Cluster) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), cluster.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	const find = `select pid, state from pg_stat_activity
		where backend_type = 'client backend' and pid <> pg_backend_pid() and query like '%from bdc."user_activities"%'`
	var (
		pid   int
		state string
	)
	if err := conn.QueryRow(t.Context(), find).Scan(&pid, &state); err != nil {
		t.Fatalf("finding the export's server process: %v", err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	if err := conn.QueryRow(t.Context(), `select state from pg_stat_activity where pid = $1`, pid).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != "active" {
		t.Fatalf("the export's query was %q, not active, when its process was frozen: the export is too small to be cut", state)
	}
	return pid
}

// sigtermPending reports whether SIGTERM is pending for the process (frozen processes keep it
// pending until they go on), from the process-wide mask of /proc/PID/status.
func sigtermPending(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "ShdPnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && mask&(1<<(uint(syscall.SIGTERM)-1)) != 0
		}
	}
	return false
}

// stagedBytes is the size of the temporary file in dir whose final name ends with ext, 0 when
// there is none.
func stagedBytes(dir, ext string) int64 {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if export.IsStaged(e.Name()) && strings.Contains(e.Name(), ext+".tmp-") {
			if info, err := e.Info(); err == nil {
				return info.Size()
			}
		}
	}
	return 0
}

// csvRecords counts the data rows of a CSV file (the header apart), parsing every record.
func csvRecords(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := countCSV(bufio.NewReader(f))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return n
}

// countCSV counts the records of a CSV, the header apart.
func countCSV(r io.Reader) (int64, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	var n int64
	for {
		_, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return max(0, n-1), nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// logLine returns the first line of the log holding msg, or "".
func logLine(log, msg string) string {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, msg) {
			return line
		}
	}
	return ""
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitUntil polls ok every 20 ms and fails the test after limit.
func waitUntil(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
	}
}
