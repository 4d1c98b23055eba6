package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/bench/cmd/benchreport/results"
	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/schedule"
	"github.com/bdc-analytics/bdc/pkg/store"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

// failureCase runs a firing that works, breaks something, runs a firing that must fail with a
// clear error and a metric while the first firing's files stay as they were, repairs it, and
// runs a firing that must work again.
type failureCase struct {
	// what names the fault for bench/results.md's Reliability table.
	what        string
	job         string
	breakIt     func(t *testing.T)
	repair      func(t *testing.T)
	wantErr     string
	wantReason  string
	wantRetries float64
}

// checkFailure is the sequence every failure test follows.
func checkFailure(t *testing.T, db *store.DB, yml, out string, c failureCase) {
	t.Helper()
	s, reg := newScheduler(t, db, config(t, db, yml, out), "replica-a")
	first := day
	if _, err := s.Execute(t.Context(), c.job, first, schedule.TriggerSchedule); err != nil {
		t.Fatalf("first firing: %v", err)
	}
	before := snapshot(t, out)
	if len(before) == 0 {
		t.Fatal("the first firing wrote nothing")
	}

	c.breakIt(t)
	run, err := s.Execute(t.Context(), c.job, first.Add(5*time.Minute), schedule.TriggerSchedule)
	seen := strings.ReplaceAll(fmt.Sprint(err), out, "OUTPUT_DIR") // the test's temporary folder, for the report
	if err == nil || !strings.Contains(err.Error(), c.wantErr) {
		t.Errorf("failing firing: error %v, want one saying %q", err, c.wantErr)
	}
	if run != nil && (run.Status != schedule.StatusFailed || !strings.Contains(run.Error, c.wantErr)) {
		t.Errorf("failing firing's record: %s, %q", run.Status, run.Error)
	}
	labels := map[string]string{"job": c.job, "reason": c.wantReason}
	if n := metric(t, reg, "bdc_reporter_job_failures_total", labels); n != 1 {
		t.Errorf("bdc_reporter_job_failures_total%v = %v, want 1", labels, n)
	}
	if n := metric(t, reg, "bdc_reporter_job_runs_total", map[string]string{"job": c.job, "status": "failed"}); n != 1 {
		t.Errorf("bdc_reporter_job_runs_total{status=failed} = %v, want 1", n)
	}
	if n := metric(t, reg, "bdc_reporter_job_success", map[string]string{"job": c.job}); n != 0 {
		t.Errorf("bdc_reporter_job_success = %v after a failure, want 0", n)
	}
	if n := metric(t, reg, "bdc_reporter_job_retries_total", map[string]string{"job": c.job}); n != c.wantRetries {
		t.Errorf("bdc_reporter_job_retries_total = %v, want %v", n, c.wantRetries)
	}

	c.repair(t)
	repaired := time.Now()
	after := snapshot(t, out)
	for name, content := range before {
		if after[name] != content {
			t.Errorf("%s changed after the failed firing", name)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("the failed firing left %s", name)
		}
	}
	if _, err := s.Execute(t.Context(), c.job, first.Add(10*time.Minute), schedule.TriggerSchedule); err != nil {
		t.Fatalf("firing after the repair: %v", err)
	}
	if n := metric(t, reg, "bdc_reporter_job_success", map[string]string{"job": c.job}); n != 1 {
		t.Errorf("bdc_reporter_job_success = %v after the repair, want 1", n)
	}
	if len(staged(t, out)) > 0 {
		t.Errorf("temporary files left: %v", staged(t, out))
	}
	testtools.RecordCheck(t, results.Check{Area: "Reliability", Case: "reporter: " + c.what,
		Sees:    fmt.Sprintf("the run fails with %q; bdc_reporter_job_failures_total{reason=%q} counts it, job_success 0", seen, c.wantReason),
		Outcome: fmt.Sprintf("the earlier firing's files unchanged, no file or temporary file left by the failed one (%g retries); the next firing after the repair succeeds", c.wantRetries),
		Resumed: time.Since(repaired).Seconds()})
}

// mountTmpfs mounts a tmpfs of size at dir (root only) and unmounts it when the test ends.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
}

// TestOutputNotWritable makes the output folder read-only between two firings: a read-only
// tmpfs when running as root (which permissions do not stop), else a folder without write
// permission.
func TestOutputNotWritable(t *testing.T) {
	d := testdb.Get(t)
	out := t.TempDir()
	root := os.Geteuid() == 0
	if root {
		mountTmpfs(t, out, "16m")
	}
	checkFailure(t, d.DB, exportJob("readonly"), out, failureCase{
		what: "the output folder made read-only between two firings",
		job:  "readonly",
		breakIt: func(t *testing.T) {
			if root {
				if b, err := exec.Command("mount", "-o", "remount,ro", out).CombinedOutput(); err != nil {
					t.Fatalf("remount ro: %v\n%s", err, b)
				}
				return
			}
			if err := os.Chmod(filepath.Join(out, "readonly", "2026-05-31"), 0o555); err != nil {
				t.Fatal(err)
			}
		},
		repair: func(t *testing.T) {
			if root {
				if b, err := exec.Command("mount", "-o", "remount,rw", out).CombinedOutput(); err != nil {
					t.Fatalf("remount rw: %v\n%s", err, b)
				}
				return
			}
			if err := os.Chmod(filepath.Join(out, "readonly", "2026-05-31"), 0o755); err != nil {
				t.Fatal(err)
			}
		},
		wantErr:    map[bool]string{true: "read-only file system", false: "permission denied"}[root],
		wantReason: schedule.ReasonOutput,
	})
}

// TestDiskFull fills the output file system between two firings: a 1 MiB tmpfs filled to the
// last byte when running as root, else a file size limit (RLIMIT_FSIZE) below the export's size.
func TestDiskFull(t *testing.T) {
	d := testdb.Get(t)
	out := t.TempDir()
	root := os.Geteuid() == 0
	if root {
		mountTmpfs(t, out, "1m")
	}
	filler := filepath.Join(out, "filler")
	var saved syscall.Rlimit
	checkFailure(t, d.DB, exportJob("full"), out, failureCase{
		what: "the disk full during an export",
		job:  "full",
		breakIt: func(t *testing.T) {
			if !root {
				if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &saved); err != nil {
					t.Fatal(err)
				}
				if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 1024, Max: saved.Max}); err != nil {
					t.Fatal(err)
				}
				return
			}
			f, err := os.Create(filler)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			block := make([]byte, 4096)
			for {
				if _, err := f.Write(block); err != nil {
					if !errors.Is(err, syscall.ENOSPC) {
						t.Fatalf("filling the disk: %v", err)
					}
					break
				}
			}
		},
		repair: func(t *testing.T) {
			if !root {
				if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &saved); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
		},
		wantErr:    map[bool]string{true: "no space left on device", false: "file too large"}[root],
		wantReason: schedule.ReasonOutput,
	})
}

// TestStatementTimeout holds a lock on the exported table so that both attempts of a firing time
// out: the run fails as a timeout after one retry.
func TestStatementTimeout(t *testing.T) {
	d := testdb.Get(t)
	out := t.TempDir()
	yml := `
jobs:
  - name: slow
    kind: export
    schedule: "*/5 * * * *"
    timeout: 1s
    retries: 1
    backoff: {initial: 10ms, max: 10ms}
    export:
      - {source: feedback, format: parquet}
`
	var release func()
	checkFailure(t, d.DB, yml, out, failureCase{
		what: "an export's query blocked by a lock past its timeout, both attempts",
		job:  "slow",
		breakIt: func(t *testing.T) {
			tx, err := d.DB.Pool.Begin(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(t.Context(), "lock table bdc.feedback in access exclusive mode"); err != nil {
				t.Fatal(err)
			}
			release = func() { _ = tx.Rollback(context.Background()) }
		},
		repair:      func(*testing.T) { release() },
		wantErr:     "timed out after 1s",
		wantReason:  schedule.ReasonTimeout,
		wantRetries: 1,
	})
}

// TestDatabaseDown stops a throwaway PostgreSQL between two firings (never the shared server).
func TestDatabaseDown(t *testing.T) {
	cluster, db := testdb.Cluster(t, demo.Config{Users: demo.MinUsers, Days: demo.MinDays, Seed: 3, End: testdb.Scale.End})
	out := t.TempDir()
	checkFailure(t, db, exportJob("dbdown", "retries: 1"), out, failureCase{
		what: "PostgreSQL stopped between two firings",
		job:  "dbdown",
		breakIt: func(t *testing.T) {
			if err := cluster.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		},
		repair: func(t *testing.T) {
			if err := cluster.Restart(context.Background()); err != nil {
				t.Fatal(err)
			}
		},
		wantErr:     fmt.Sprintf("couldn't start job dbdown: couldn't reach PostgreSQL at 127.0.0.1:%d", cluster.Port()),
		wantReason:  schedule.ReasonDatabase,
		wantRetries: 1,
	})
}
