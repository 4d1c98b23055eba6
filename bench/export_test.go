package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// exportRows is the size of the export benchmark: BDC_BENCH_EXPORT_ROWS, 1,000,000 by default.
func exportRows(b *testing.B) int {
	if v := os.Getenv("BDC_BENCH_EXPORT_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			b.Fatalf("BDC_BENCH_EXPORT_ROWS: want a number of at least 1000, got %q", v)
		}
		return n
	}
	return 1_000_000
}

// pandasFormats are the formats pandas writes (to_csv, to_json, to_json(lines=True), to_excel).
var pandasFormats = []string{"csv", "json", "jsonl", "xlsx"}

// BenchmarkExport exports the first rows of bdc.user_activities (7 columns: integers, a
// timestamp, texts with nulls) to every format with the built bdc-reporter binary, and to CSV,
// JSON, JSON Lines and XLSX with pandas (read_sql, then to_csv, to_json, to_excel), each in its
// own process, at a tenth of the rows and at all of them: memory that stays flat from one to the
// other is memory that does not grow with the row count. It reports rows per second (database to
// file, and for pandas also its write alone) and the process's peak resident memory.
func BenchmarkExport(b *testing.B) {
	rows := exportRows(b)
	// The generator makes about 50 activity events per user over two years.
	users := max(demo.MinUsers, rows/40)
	d, err := testdb.Create(context.Background(), "benchexport", demo.Config{Users: users, Days: 730, Seed: 1,
		End: time.Date(2026, 11, 1, 0, 0, 0, 0, demo.Location)})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = d.Drop(context.Background()) }()
	var have int
	if err := d.DB.Pool.QueryRow(context.Background(), "select count(*) from bdc.user_activities").Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have < rows {
		b.Fatalf("the seeded platform has %d activity rows, fewer than %d", have, rows)
	}
	reporter := buildReporter(b)
	python := pandasPython(b)
	for _, n := range []int{rows / 10, rows} {
		warmUp(b, d, n)
		ours, theirs := map[string]measured{}, map[string]measured{}
		for _, f := range export.FormatNames() {
			b.Run(fmt.Sprintf("bdc-reporter/%s/rows=%d", f, n), func(b *testing.B) { ours[f] = benchReporter(b, reporter, d.URL, f, n) })
		}
		for _, f := range pandasFormats {
			b.Run(fmt.Sprintf("pandas/%s/rows=%d", f, n), func(b *testing.B) { theirs[f] = benchPandas(b, python, d.URL, f, n) })
		}
		recordExport(b, n, ours, theirs)
	}
}

// recordExport records each format's throughput and peak memory, with pandas' beside ours for
// the formats pandas writes.
func recordExport(b *testing.B, rows int, ours, theirs map[string]measured) {
	for _, f := range export.FormatNames() {
		o := ours[f]
		figures := []Result{
			{Metric: "throughput, database to file", Unit: "rows/s", Ours: float64(rows) / o.seconds},
			{Metric: "peak resident memory", Unit: "MiB", Ours: o.peakMiB, LowerIsBetter: true},
		}
		if p, ok := theirs[f]; ok {
			figures[0].Peer, figures[0].PeerName = float64(rows)/p.seconds, "pandas"
			figures[1].Peer, figures[1].PeerName = p.peakMiB, "pandas"
		}
		for _, r := range figures {
			r.Area, r.Case, r.Scale, r.OursName = "Export", "user_activities to "+f, fmt.Sprintf("rows=%d", rows), "bdc-reporter export"
			record(b, r)
		}
	}
}

// warmUp reads the rows once, so that the first format measured does not pay alone for a cold
// buffer cache.
func warmUp(b *testing.B, d *testdb.Database, rows int) {
	var n int
	err := d.DB.Pool.QueryRow(context.Background(), `select count(*) from (select * from bdc.user_activities order by id limit $1) t
		where t::text <> ''`, rows).Scan(&n)
	if err != nil || n != rows {
		b.Fatalf("warming up: %d rows, %v", n, err)
	}
}

func buildReporter(b *testing.B) string {
	path := filepath.Join(b.TempDir(), "bdc-reporter")
	out, err := exec.Command("go", "build", "-o", path, "../reporter").CombinedOutput()
	if err != nil {
		b.Fatalf("building bdc-reporter: %v\n%s", err, out)
	}
	return path
}

// pandasPython returns Debian's interpreter with pandas, openpyxl and psycopg2 (needPython).
func pandasPython(b *testing.B) string {
	b.Helper()
	needPython(b)
	return python
}

// measured is one process's run: wall time, peak resident memory and output size.
type measured struct {
	seconds float64
	peakMiB float64
	bytes   int64
	stdout  []byte
}

// measureProcess runs cmd and measures its wall time and its peak resident memory: the high-water
// mark (VmHWM) of its own address space, read from /proc while it runs. (The rusage of a child is
// no good here: Linux starts it at the parent's peak, and the benchmark process holds hundreds of
// megabytes.)
func measureProcess(b *testing.B, cmd *exec.Cmd, out string) measured {
	b.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatalf("%v: %v", cmd.Args, err)
	}
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	var peakKiB int64
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	var err error
poll:
	for {
		if kib := vmHWM(status); kib > peakKiB {
			peakKiB = kib
		}
		select {
		case err = <-done:
			break poll
		case <-t.C:
		}
	}
	if err != nil {
		b.Fatalf("%v: %v\n%s", cmd.Args, err, stderr.String())
	}
	m := measured{seconds: time.Since(start).Seconds(), stdout: stdout.Bytes(), peakMiB: float64(peakKiB) / 1024}
	_ = filepath.WalkDir(out, func(_ string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && !strings.HasSuffix(e.Name(), export.MetadataSuffix) {
			if info, err := e.Info(); err == nil {
				m.bytes += info.Size()
			}
		}
		return nil
	})
	return m
}

// vmHWM reads the peak resident set size, in KiB, from a /proc/PID/status file (0 when gone).
func vmHWM(status string) int64 {
	data, err := os.ReadFile(status)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func benchReporter(b *testing.B, reporter, url, format string, rows int) measured {
	var m measured
	for range b.N {
		out := b.TempDir()
		cmd := exec.Command(reporter, "export", "--source", "user_activities", "--format", format,
			"--limit", strconv.Itoa(rows), "--out", out, "--log.level", "warn")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "GOGC=100")
		m = measureProcess(b, cmd, out)
		var md export.Metadata
		metas, _ := filepath.Glob(filepath.Join(out, "*"+export.MetadataSuffix))
		data, err := os.ReadFile(metas[0])
		if err == nil {
			err = json.Unmarshal(data, &md)
		}
		if err != nil || md.Rows != int64(rows) {
			b.Fatalf("the export wrote %d rows, want %d (%v)", md.Rows, rows, err)
		}
	}
	b.ReportMetric(float64(rows)/m.seconds, "rows/s")
	b.ReportMetric(m.peakMiB, "peak-MiB")
	b.ReportMetric(float64(m.bytes)/(1<<20), "file-MiB")
	return m
}

func benchPandas(b *testing.B, python, url, format string, rows int) measured {
	var (
		m   measured
		res struct {
			Rows  int     `json:"rows"`
			Read  float64 `json:"read_seconds"`
			Write float64 `json:"write_seconds"`
		}
	)
	for range b.N {
		out := b.TempDir()
		file := filepath.Join(out, "user_activities."+format)
		m = measureProcess(b, exec.Command(python, "peers/pandas_export.py", "--dsn", url, "--rows", strconv.Itoa(rows),
			"--format", format, "--out", file), out)
		if err := json.Unmarshal(m.stdout, &res); err != nil || res.Rows != rows {
			b.Fatalf("pandas wrote %d rows, want %d (%v): %s", res.Rows, rows, err, m.stdout)
		}
	}
	b.ReportMetric(float64(rows)/m.seconds, "rows/s")
	b.ReportMetric(float64(rows)/res.Write, "write-rows/s")
	b.ReportMetric(m.peakMiB, "peak-MiB")
	b.ReportMetric(float64(m.bytes)/(1<<20), "file-MiB")
	return m
}
