package schedule_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/schedule"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// TestTwoReplicasRunEachFiringOnce fires the same firings on two schedulers at once, as two
// replicas whose clocks agree do: every firing runs once, on one of them, and writes one set of
// files; the other replica skips it.
func TestTwoReplicasRunEachFiringOnce(t *testing.T) {
	d := testdb.Get(t)
	out := t.TempDir()
	cfg := config(t, d.DB, exportJob("twice"), out)
	a, regA := newScheduler(t, d.DB, cfg, "replica-a")
	b, regB := newScheduler(t, d.DB, cfg, "replica-b")
	const firings = 12
	var mu sync.Mutex
	ran := map[time.Time][]string{}
	var wg sync.WaitGroup
	for i := range firings {
		at := day.Add(time.Duration(i) * 5 * time.Minute)
		for _, s := range []*schedule.Scheduler{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				run, err := s.Execute(t.Context(), "twice", at, schedule.TriggerSchedule)
				switch {
				case errors.Is(err, schedule.ErrBusy), errors.Is(err, schedule.ErrDone):
				case err != nil:
					t.Errorf("%s at %s: %v", s.Owner(), at, err)
				default:
					mu.Lock()
					ran[at] = append(ran[at], run.Owner)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if len(ran) != firings {
		t.Errorf("%d firings ran, want %d", len(ran), firings)
	}
	for at, owners := range ran {
		if len(owners) != 1 {
			t.Errorf("firing %s ran %d times (%v)", at, len(owners), owners)
		}
	}
	runs, err := schedule.ListRuns(t.Context(), d.DB, schedule.RunFilter{Job: "twice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != firings {
		t.Errorf("%d run records, want %d", len(runs), firings)
	}
	var csv int
	for rel := range snapshot(t, out) {
		if filepath.Ext(rel) == ".csv" {
			csv++
		}
	}
	if csv != firings {
		t.Errorf("%d CSV files, want %d", csv, firings)
	}
	total := metric(t, regA, "bdc_reporter_job_runs_total", map[string]string{"job": "twice", "status": "succeeded"}) +
		metric(t, regB, "bdc_reporter_job_runs_total", map[string]string{"job": "twice", "status": "succeeded"})
	if total != firings {
		t.Errorf("the replicas count %v successful runs, want %d", total, firings)
	}
	// A firing that already ran is not run again, by either replica.
	if _, err := a.Execute(t.Context(), "twice", day, schedule.TriggerSchedule); !errors.Is(err, schedule.ErrDone) {
		t.Errorf("running a finished firing again: %v, want ErrDone", err)
	}
}

// TestManifestListsEveryRunOfTheDay checks the date folder's manifest against the files.
func TestManifestListsEveryRunOfTheDay(t *testing.T) {
	d := testdb.Get(t)
	out := t.TempDir()
	cfg := config(t, d.DB, exportJob("manifest"), out)
	s, _ := newScheduler(t, d.DB, cfg, "replica-a")
	for i := range 3 {
		if _, err := s.Execute(t.Context(), "manifest", day.Add(time.Duration(i)*time.Hour), schedule.TriggerSchedule); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(out, "manifest", "2026-05-31")
	m, err := schedule.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Job != "manifest" || m.Date != "2026-05-31" || m.TimeZone != "Europe/Paris" || len(m.Runs) != 3 {
		t.Fatalf("manifest %+v, want 3 runs of 2026-05-31", m)
	}
	listed := map[string]bool{schedule.ManifestName: true}
	for i, r := range m.Runs {
		if !r.ScheduledAt.Equal(day.Add(time.Duration(i) * time.Hour)) {
			t.Errorf("run %d scheduled at %s", i, r.ScheduledAt)
		}
		if len(r.Files) != 2 {
			t.Errorf("run %d lists %d files, want the CSV and its sidecar", i, len(r.Files))
		}
		for _, f := range r.Files {
			data, err := os.ReadFile(filepath.Join(dir, f.Name))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(data)) != f.Bytes {
				t.Errorf("%s: manifest says %d bytes %s", f.Name, f.Bytes, f.SHA256)
			}
			listed[f.Name] = true
		}
		if r.Rows <= 0 || r.Files[0].Rows != r.Rows {
			t.Errorf("run %d: %d rows, file %+v", i, r.Rows, r.Files[0])
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !listed[e.Name()] {
			t.Errorf("%s is in the folder but not in the manifest", e.Name())
		}
	}
}

// TestRetentionPrunesOldDateFolders runs a job whose retention is 7 days next to older folders.
func TestRetentionPrunesOldDateFolders(t *testing.T) {
	d := testdb.Get(t)
	out := t.TempDir()
	cfg := config(t, d.DB, exportJob("pruned", "retention: 7d"), out)
	s, reg := newScheduler(t, d.DB, cfg, "replica-a")
	for _, dir := range []string{"2026-05-01", "2026-05-23", "2026-05-24", "2026-05-30", "notes"} {
		if err := os.MkdirAll(filepath.Join(out, "pruned", dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Execute(t.Context(), "pruned", day, schedule.TriggerSchedule); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(out, "pruned"))
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	sort.Strings(left)
	// 2026-05-31 02:30 minus 7 days is 2026-05-24: older folders go, the rest and non-dates stay.
	want := []string{"2026-05-24", "2026-05-30", "2026-05-31", "notes"}
	if !equal(left, want) {
		t.Errorf("folders left %v, want %v", left, want)
	}
	if n := metric(t, reg, "bdc_reporter_folders_pruned_total", map[string]string{"job": "pruned"}); n != 2 {
		t.Errorf("bdc_reporter_folders_pruned_total %v, want 2", n)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRunRecord checks what the record of a successful run holds.
func TestRunRecord(t *testing.T) {
	d := testdb.Get(t)
	out := t.TempDir()
	cfg := config(t, d.DB, exportJob("record"), out)
	s, _ := newScheduler(t, d.DB, cfg, "replica-a")
	run, err := s.Execute(t.Context(), "record", day, schedule.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != schedule.StatusSucceeded || run.Attempt != 1 || run.Owner != "replica-a" || run.Trigger != schedule.TriggerManual ||
		run.Kind != "export" || run.Folder != filepath.Join("record", "2026-05-31") || run.FinishedAt == nil || run.Error != "" {
		b, _ := json.MarshalIndent(run, "", "  ")
		t.Errorf("run record:\n%s", b)
	}
	if len(run.Files) != 2 || run.Files[0].Name != "users_20260531T003000Z.csv" || run.Files[1].Name != "users_20260531T003000Z.csv.meta.json" {
		t.Errorf("files %+v", run.Files)
	}
}
