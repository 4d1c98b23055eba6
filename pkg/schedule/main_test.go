package schedule_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/schedule"
	"github.com/bdc-analytics/bdc/pkg/store"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

var paris, _ = time.LoadLocation("Europe/Paris")

// day is a firing time of the tests: 02:30 in Paris on the seeded history's last day.
var day = time.Date(2026, 5, 31, 2, 30, 0, 0, paris)

// kinds are the kinds the tests run: exports, as the reporter does.
func kinds(db *store.DB) schedule.Kinds {
	return schedule.Kinds{schedule.KindExport: &schedule.ExportKind{Exporter: &export.Exporter{DB: db}}}
}

// config parses a reporter.yml for the tests, with its output folder set to out.
func config(t *testing.T, db *store.DB, yml, out string) *schedule.Config {
	t.Helper()
	cfg, err := schedule.ParseConfig("reporter.yml", []byte(yml), kinds(db))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.OutputDir = out
	return cfg
}

// newScheduler builds a scheduler named owner on db with its own registry.
func newScheduler(t *testing.T, db *store.DB, cfg *schedule.Config, owner string) (*schedule.Scheduler, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := schedule.New(schedule.Options{DB: db, Config: cfg, Registerer: reg, Owner: owner, Keepalive: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, reg
}

// metric returns the value of a counter or gauge series (0 when absent).
func metric(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				switch {
				case m.Counter != nil:
					return m.Counter.GetValue()
				case m.Gauge != nil:
					return m.Gauge.GetValue()
				case m.Histogram != nil:
					return float64(m.Histogram.GetSampleCount())
				}
			}
		}
	}
	return 0
}

func matches(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := labels[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(labels)
}

// snapshot reads every file under dir (relative path → content).
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// staged lists the temporary files under dir.
func staged(t *testing.T, dir string) []string {
	var out []string
	for rel := range snapshot(t, dir) {
		if export.IsStaged(filepath.Base(rel)) {
			out = append(out, rel)
		}
	}
	return out
}

// exportJob is a reporter.yml with one export job of users as CSV, small and quick. settings
// ("retries: 1") replace the defaults of the same key or add to them.
func exportJob(name string, settings ...string) string {
	base := []string{"timeout: 30s", "retries: 0", "backoff: {initial: 10ms, max: 50ms}"}
	for _, s := range settings {
		key, _, _ := strings.Cut(strings.TrimSpace(s), ":")
		base = slices.DeleteFunc(base, func(b string) bool { return strings.HasPrefix(b, key+":") })
		base = append(base, strings.TrimSpace(s))
	}
	return `
jobs:
  - name: ` + name + `
    kind: export
    schedule: "*/5 * * * *"
    ` + strings.Join(base, "\n    ") + `
    export:
      - source: users
        format: csv
        columns: [id, role, created_at]
`
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
