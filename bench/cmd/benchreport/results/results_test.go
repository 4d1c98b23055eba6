package results

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata")

func TestAppendRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	start := Start{At: time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC), LoadAverage: "1.00 2.00 3.00"}
	if err := Append(path, Line{Start: &start}); err != nil {
		t.Fatal(err)
	}
	want := []Result{
		{Area: "Models", Case: "gbm", Scale: "appointments=5000", Metric: "test ROC AUC", Ours: 0.81, OursName: "pkg/ml", Peer: 0.8, PeerName: "sklearn"},
		{Area: "Reports", Case: "weekly", Scale: "users=2000", Metric: "build", Unit: "s", Ours: 1.5, OursName: "report.Builder", LowerIsBetter: true},
	}
	for _, r := range want {
		if err := Append(path, Line{Result: &r}); err != nil {
			t.Fatal(err)
		}
	}
	check := Check{Area: "Reliability", Case: "exporter: PostgreSQL stopped", Sees: "bdc_up 0", Outcome: "values back", Resumed: 1.5, Test: "TestX (pkg)"}
	if err := Append(path, Line{Check: &check}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	gotStart, got, checks, err := Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if gotStart == nil || !gotStart.At.Equal(start.At) || gotStart.LoadAverage != start.LoadAverage {
		t.Errorf("start: got %+v, want %+v", gotStart, start)
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("results: got %+v, want %+v", got, want)
	}
	if len(checks) != 1 || checks[0] != check {
		t.Errorf("checks: got %+v, want %+v", checks, check)
	}
}

func TestReadRejects(t *testing.T) {
	for _, in := range []string{`{}`, `{"area":"A","case":"c","metric":"m","ours_name":"o","peer":3}`, `not json`} {
		if _, _, _, err := Read(strings.NewReader(in + "\n")); err == nil {
			t.Errorf("Read(%s): no error", in)
		}
	}
}

func TestSummarize(t *testing.T) {
	r := func(area, metric string, ours, peer float64, lower bool, nominal float64) Result {
		out := Result{Area: area, Case: "c", Scale: "s", Metric: metric, Ours: ours, OursName: "ours", LowerIsBetter: lower, Nominal: nominal}
		if peer != 0 {
			out.Peer, out.PeerName = peer, "peer"
		}
		return out
	}
	rows := Summarize([]Result{
		r("Zeta", "z", 1, 0, false, 0),
		r("Export", "time", 3, 9, true, 0),
		r("Export", "time", 1, 3, true, 0),
		r("Export", "time", 2, 8, true, 0),
		r("Export", "rate", 10, 5, false, 0),
		{Area: "Export", Case: "c", Scale: "s", Metric: "rate", Ours: 10, OursName: "ours", Peer: 20, PeerName: "other peer"},
		r("Forecasts", "cover80", 81, 76, false, 80),
		r("Forecasts", "zero", 0, 5, true, 0),
	})
	var got []string
	for _, row := range rows {
		ratio := "nil"
		if row.Ratio != nil {
			ratio = strings.TrimRight(strings.TrimRight(formatValue(*row.Ratio, ""), "0"), ".")
		}
		got = append(got, row.Area+"/"+row.Metric+" "+formatValue(row.Ours, "")+" "+formatValue(row.Peer, "")+" "+ratio)
	}
	// Areas in areaOrder, unknown ones last; medians of each side; one row per peer; the ratio
	// above 1 when ours wins.
	want := []string{"Forecasts/cover80 81 76 4", "Forecasts/zero 0 5 nil", "Export/time 2 8 4", "Export/rate 10 5 2", "Export/rate 10 20 0.5", "Zeta/z 1 0 nil"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReportGolden renders the report of the logs of testdata and compares it with
// testdata/results.md (go test -update rewrites it).
func TestReportGolden(t *testing.T) {
	var rs []Result
	var failures []string
	for _, f := range []struct {
		path  string
		parse func(string) ([]Result, []string)
	}{{"testdata/fuzz.log", FuzzResults}, {"testdata/load.log", LoadResults}} {
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		got, fails := f.parse(string(data))
		rs, failures = append(rs, got...), append(failures, fails...)
	}
	rs = append(rs, Result{Area: "Exporter scrape", Case: "KPI catalogue /metrics", Scale: "users=2000", Metric: "scrape p99", Unit: "ms",
		Ours: 3.2, OursName: "bdc-exporter", Peer: 120, PeerName: "postgres_exporter", LowerIsBetter: true})
	failures = append(failures, BenchFailures("--- FAIL: BenchmarkSeed/psql-copy-csv/users=2000\n")...)
	at := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	rep := Report{Command: "make bench", Started: at, Finished: at.Add(42 * time.Minute), LoadStart: "1.0 1.0 1.0", LoadEnd: "2.0 2.0 2.0",
		Machine: Machine{CPU: "Test CPU", Cores: 2, MemoryGiB: 8, OS: "Debian GNU/Linux 12 (bookworm)", Kernel: "6.1.0", Go: "go1.26.8", PostgreSQL: "15.20"},
		Rows:    Summarize(rs), Failures: failures,
		Checks: SummarizeChecks([]Check{
			{Area: "Security", Case: "roles", Sees: "permission denied for table users", Outcome: "every forbidden write refused", Test: "TestRoles (deploy)"},
			{Area: "Reliability", Case: "exporter: PostgreSQL stopped | started", Sees: "bdc_up 0", Outcome: "last values kept", Resumed: 3, Test: "TestDown (pkg/exporter)"},
			{Area: "Reliability", Case: "exporter: PostgreSQL stopped | started", Sees: "bdc_up 0", Outcome: "last values kept", Resumed: 1, Test: "TestDown (pkg/exporter)"},
			{Area: "Reliability", Case: "exporter: PostgreSQL stopped | started", Sees: "bdc_up 0", Outcome: "last values kept", Resumed: 2, Test: "TestDown (pkg/exporter)"},
		})}
	got := rep.Markdown()
	if *update {
		if err := os.WriteFile("testdata/results.md", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/results.md")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the report differs from testdata/results.md (go test -update rewrites it):\n%s", got)
	}
}

// TestFill fills the marked sections of a document with the report's parts and leaves the rest
// as it was; a marker without its end is an error.
func TestFill(t *testing.T) {
	at := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	rep := Report{Command: "make bench", Started: at, Finished: at.Add(time.Hour), LoadStart: "1", LoadEnd: "2",
		Rows:   Summarize([]Result{{Area: "Export", Case: "csv", Scale: "rows=10", Metric: "rate", Unit: "rows/s", Ours: 10, OursName: "ours"}}),
		Checks: SummarizeChecks([]Check{{Area: "Security", Case: "roles", Sees: "refused", Outcome: "ok", Test: "TestRoles"}})}
	doc := "# Doc\n<!-- bench:figures -->\nold table\n<!-- /bench:figures -->\ntext\n<!-- bench:security -->\n<!-- /bench:security -->\n<!-- bench:reliability -->\n<!-- /bench:reliability -->\nend\n"
	got, err := rep.Fill(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Doc\n<!-- bench:figures -->\n#### Export\n", "| csv | rows=10 | rate | 10 rows/s (ours) |", "<!-- /bench:figures -->\ntext\n",
		"<!-- bench:security -->\n#### Security\n", "| roles | refused | ok | — | 1 | TestRoles |", "<!-- bench:reliability -->\n\n<!-- /bench:reliability -->\nend\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("filled document lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "old table") {
		t.Errorf("the old table stayed:\n%s", got)
	}
	if _, err := rep.Fill("<!-- bench:figures -->\nno end"); err == nil {
		t.Error("a marker without its end: no error")
	}
}
