package schedule_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/xuri/excelize/v2"
	"go.yaml.in/yaml/v3"

	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/report"
	"github.com/bdc-analytics/bdc/pkg/schedule"
	"github.com/bdc-analytics/bdc/pkg/store"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

// burstExport is an export of the burst: its spec's filter in reporter.yml, and the same filter
// in SQL, to count the rows it must hold.
type burstExport struct {
	source, filter, count string
}

var burstExports = []burstExport{
	{"users", "columns: [id, role, created_at]", "select count(*) from bdc.users"},
	{"beneficiaries", "", "select count(*) from bdc.beneficiaries"},
	{"appointments", "where: [{column: status, op: in, value: [completed, no_show]}]",
		"select count(*) from bdc.appointments where status in ('completed', 'no_show')"},
	{"evaluations", "", "select count(*) from bdc.evaluations"},
	{"user_activities", "time_range: {from: 2026-05-01, to: 2026-06-01}",
		"select count(*) from bdc.user_activities where occurred_at >= timestamptz '2026-05-01 00:00 Europe/Paris' " +
			"and occurred_at < timestamptz '2026-06-01 00:00 Europe/Paris'"},
	{"trainer_availability", "", "select count(*) from bdc.trainer_availability"},
	{"payments", "", "select count(*) from bdc.payments"},
	{"feedback", "", "select count(*) from bdc.feedback"},
	{"support_tickets", "", "select count(*) from bdc.support_tickets"},
}

// burstReportFormats are the formats of the burst's report jobs, one job each; every job also
// writes JSON, which the test parses.
var burstReportFormats = [][]string{{"json", "csv"}, {"json", "html"}, {"json", "xlsx"}, {"json", "pdf"}}

// TestBurstOfDueJobs fires 40 jobs at one instant (36 exports, covering every source and every
// format, and 4 reports) on two scheduler replicas sharing the database, each allowed 3 runs at
// once, through the real cron (gocron) firing at a wall-clock instant a few seconds ahead. It
// proves that a burst is absorbed without loss or excess:
//
//   - every job ran exactly once for the instant: one run record per job, succeeded at its first
//     attempt, with no error, and the two replicas' success counters add up to one per job;
//   - no replica ever had more runs in progress than its concurrency, neither by its
//     bdc_reporter_job_running gauges nor by the run records it held running, both sampled
//     while the burst lasted;
//   - every file exists, complete and readable: each export read back in its format and its rows
//     counted against the same filter in SQL and against its sidecar, each report's JSON parsed
//     and its other format opened; nothing else in the folders, no temporary file;
//   - no run is left running and no replica logged an error.
//
// The wall time of the burst and the per-job duration and completion percentiles are logged,
// never asserted.
func TestBurstOfDueJobs(t *testing.T) {
	d := testdb.Get(t)
	ctx := t.Context()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ops.yml"), []byte(opsTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	const concurrency = 3
	// A wall-clock instant far enough ahead for both replicas to schedule it; the date in the
	// cron expression keeps it from firing again.
	at := time.Now().UTC().Add(5 * time.Second).Truncate(time.Second)
	when := fmt.Sprintf("%d %d %d %d %d *", at.Second(), at.Minute(), at.Hour(), at.Day(), int(at.Month()))
	yml, exports := burstConfig(when, concurrency)

	type replica struct {
		s    *schedule.Scheduler
		reg  *prometheus.Registry
		logs *testtools.SyncBuffer
		ran  chan error
	}
	runCtx, stop := context.WithCancel(ctx)
	var replicas []*replica
	for _, owner := range []string{"replica-a", "replica-b"} {
		// Each replica has its own pool, as two processes would.
		db, err := store.Open(ctx, store.Config{URL: d.URL, Application: "bdc-reporter-test"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		kinds := schedule.Kinds{
			schedule.KindExport: &schedule.ExportKind{Exporter: &export.Exporter{DB: db}},
			schedule.KindReport: &schedule.ReportKind{Builder: &report.Builder{DB: db}, Dir: dir},
		}
		cfg, err := schedule.ParseConfig(filepath.Join(dir, "reporter.yml"), []byte(yml), kinds)
		if err != nil {
			t.Fatal(err)
		}
		cfg.OutputDir = out
		r := &replica{reg: prometheus.NewRegistry(), logs: &testtools.SyncBuffer{}, ran: make(chan error, 1)}
		r.s, err = schedule.New(schedule.Options{DB: db, Config: cfg, Registerer: r.reg, Owner: owner,
			Logger: slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.s.Close)
		replicas = append(replicas, r)
	}
	for _, r := range replicas {
		go func() { r.ran <- r.s.Run(runCtx) }()
	}
	t.Cleanup(func() {
		stop()
		for _, r := range replicas {
			if err := <-r.ran; err != nil {
				t.Errorf("%s: %v", r.s.Owner(), err)
			}
			if t.Failed() {
				t.Logf("%s log:\n%s", r.s.Owner(), r.logs)
			}
		}
	})
	waitUntil(t, 30*time.Second, "both replicas ready", func() bool { return replicas[0].s.Ready() && replicas[1].s.Ready() })
	if !time.Now().Before(at) {
		t.Fatalf("the replicas were ready only after the firing instant %s: the machine is too slow for the margin", at)
	}

	// Sample what is in flight until every run of the instant has ended.
	jobs := len(exports) + len(burstReportFormats)
	var (
		mu       sync.Mutex
		peakRuns = map[string]int{} // by replica: runs it held running in job_runs
		peakGaug = map[string]float64{}
	)
	sample := func() (ended int) {
		rows, err := d.DB.Pool.Query(ctx, `select owner, status, count(*) from bdc_analytics.job_runs
			where job like 'burst-%' and scheduled_at = $1 group by owner, status`, at)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		mu.Lock()
		defer mu.Unlock()
		for rows.Next() {
			var (
				owner, status string
				n             int
			)
			if err := rows.Scan(&owner, &status, &n); err != nil {
				t.Fatal(err)
			}
			if status == schedule.StatusRunning {
				peakRuns[owner] = max(peakRuns[owner], n)
			} else {
				ended += n
			}
		}
		for _, r := range replicas {
			peakGaug[r.s.Owner()] = max(peakGaug[r.s.Owner()], sumMetric(t, r.reg, "bdc_reporter_job_running"))
		}
		return ended
	}
	waitUntil(t, 3*time.Minute, fmt.Sprintf("the %d runs of the burst to end", jobs), func() bool { return sample() == jobs })

	type runRow struct {
		job, owner, status, err string
		attempt                 int
		started, finished       time.Time
		files                   []export.FileInfo
		rows                    int64
	}
	rows, err := d.DB.Pool.Query(ctx, `select job, owner, status, coalesce(error, ''), attempt, started_at, finished_at,
		files, coalesce(rows, 0) from bdc_analytics.job_runs where job like 'burst-%' and scheduled_at = $1 order by job`, at)
	if err != nil {
		t.Fatal(err)
	}
	var runs []runRow
	for rows.Next() {
		var r runRow
		if err := rows.Scan(&r.job, &r.owner, &r.status, &r.err, &r.attempt, &r.started, &r.finished, &r.files, &r.rows); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	byOwner := map[string]int{}
	for _, r := range runs {
		seen[r.job]++
		byOwner[r.owner]++
		if r.status != schedule.StatusSucceeded || r.attempt != 1 || r.err != "" {
			t.Errorf("run of %s: %s at attempt %d by %s, error %q", r.job, r.status, r.attempt, r.owner, r.err)
		}
	}
	for job, n := range seen {
		if n != 1 {
			t.Errorf("%s has %d run records for the instant, want 1", job, n)
		}
	}
	if len(seen) != jobs {
		t.Errorf("%d of the %d jobs ran", len(seen), jobs)
	}
	var never int
	if err := d.DB.Pool.QueryRow(ctx, `select count(*) from bdc_analytics.job_runs where job like 'burst-%' and status = 'running'`).
		Scan(&never); err != nil || never != 0 {
		t.Errorf("%d runs left running (%v)", never, err)
	}
	for _, r := range replicas {
		if peakRuns[r.s.Owner()] > concurrency || peakGaug[r.s.Owner()] > concurrency {
			t.Errorf("%s had up to %d runs recorded running and bdc_reporter_job_running summing to %v, over its concurrency %d",
				r.s.Owner(), peakRuns[r.s.Owner()], peakGaug[r.s.Owner()], concurrency)
		}
		for _, reason := range []string{schedule.ReasonDatabase, schedule.ReasonOutput, schedule.ReasonTimeout, schedule.ReasonJob} {
			if n := sumMetricWhere(t, r.reg, "bdc_reporter_job_failures_total", map[string]string{"reason": reason}); n != 0 {
				t.Errorf("%s counts %v failures of reason %s", r.s.Owner(), n, reason)
			}
		}
		if line := logLine(r.logs.String(), "level=ERROR"); line != "" {
			t.Errorf("%s logged an error: %s", r.s.Owner(), line)
		}
	}
	for job := range seen {
		sum := 0.0
		for _, r := range replicas {
			sum += metric(t, r.reg, "bdc_reporter_job_runs_total", map[string]string{"job": job, "status": schedule.StatusSucceeded})
		}
		if sum != 1 {
			t.Errorf("the replicas count %v successful runs of %s, want 1", sum, job)
		}
	}

	// The files, read back.
	folder := at.Format(time.DateOnly)
	for _, r := range runs {
		dir := filepath.Join(out, r.job, folder)
		listed := map[string]bool{schedule.ManifestName: true}
		for _, f := range r.files {
			listed[f.Name] = true
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Errorf("%s: %v", r.job, err)
			continue
		}
		for _, e := range entries {
			if !listed[e.Name()] {
				t.Errorf("%s: %s is in the folder but not in the run's files", r.job, e.Name())
			}
		}
		if e, ok := exports[r.job]; ok {
			checkBurstExport(t, d.DB, dir, r.job, e, r.files, r.rows)
		} else {
			checkBurstReport(t, dir, r.job, r.files)
		}
	}
	if left := staged(t, out); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	var durations, completions, waits []float64
	var last time.Time
	for _, r := range runs {
		durations = append(durations, r.finished.Sub(r.started).Seconds())
		completions = append(completions, r.finished.Sub(at).Seconds())
		waits = append(waits, r.started.Sub(at).Seconds())
		if r.finished.After(last) {
			last = r.finished
		}
	}
	t.Logf("%d jobs due at %s on 2 replicas of concurrency %d: all done %.2f s after the instant; per job: run p50 %.2f s, p99 %.2f s; "+
		"wait for a slot p50 %.2f s, p99 %.2f s; done after p50 %.2f s, p99 %.2f s; runs by replica %v; peak in flight (records) %v, (gauges) %v",
		jobs, at.Format(time.TimeOnly), concurrency, last.Sub(at).Seconds(), testtools.Percentile(durations, 50), testtools.Percentile(durations, 99),
		testtools.Percentile(waits, 50), testtools.Percentile(waits, 99), testtools.Percentile(completions, 50), testtools.Percentile(completions, 99), byOwner, peakRuns, peakGaug)
}

// burstConfig is reporter.yml with the burst's jobs, all on the schedule when, and the exports
// by job name.
func burstConfig(when string, concurrency int) (string, map[string]burstExport) {
	formats := export.FormatNames()
	var b strings.Builder
	fmt.Fprintf(&b, "timezone: UTC\nconcurrency: %d\nwatchdog: {interval: 1s}\ndefaults: {timeout: 2m, retries: 0}\njobs:\n", concurrency)
	exports := map[string]burstExport{}
	// 9 sources and 7 formats, coprime: 36 distinct pairs, every source and every format.
	for i := range 36 {
		e, f := burstExports[i%len(burstExports)], formats[i%len(formats)]
		name := fmt.Sprintf("burst-%02d-%s-%s", i, e.source, f)
		exports[name] = e
		fmt.Fprintf(&b, "  - name: %s\n    kind: export\n    schedule: %q\n    export:\n      - {source: %s, format: %s", name, when, e.source, f)
		if e.filter != "" {
			b.WriteString(", " + e.filter)
		}
		b.WriteString("}\n")
	}
	for i, formats := range burstReportFormats {
		fmt.Fprintf(&b, "  - name: burst-report-%d\n    kind: report\n    schedule: %q\n    report: {template: ops.yml, formats: [%s], from: 2026-05-18, to: 2026-05-25}\n",
			i, when, strings.Join(formats, ", "))
	}
	return b.String(), exports
}

// checkBurstExport reads an export's data file back in its format and counts its rows against
// the SQL count of its filter, the sidecar's and the run record's. (The values themselves are
// compared with independent readers by pkg/export's TestFormatsReadBack: here the question is
// whether a file written under load is whole.)
func checkBurstExport(t *testing.T, db *store.DB, dir, job string, e burstExport, files []export.FileInfo, runRows int64) {
	t.Helper()
	var want int64
	if err := db.Pool.QueryRow(t.Context(), e.count).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || !strings.HasSuffix(files[1].Name, export.MetadataSuffix) {
		t.Errorf("%s: files %+v, want the data file and its sidecar", job, files)
		return
	}
	path := filepath.Join(dir, files[0].Name)
	got, err := countRows(path)
	if err != nil {
		t.Errorf("%s: reading %s back: %v", job, files[0].Name, err)
		return
	}
	var md export.Metadata
	data, err := os.ReadFile(filepath.Join(dir, files[1].Name))
	if err == nil {
		err = json.Unmarshal(data, &md)
	}
	if got != want || md.Rows != want || runRows != want || err != nil {
		t.Errorf("%s: %d rows read back, %d in the sidecar (%v), %d in the run record; SQL counts %d", job, got, md.Rows, err, runRows, want)
	}
}

// countRows counts the rows of an export file, parsing all of it in its format.
func countRows(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	switch ext := filepath.Ext(path); ext {
	case ".csv":
		return countCSV(bytes.NewReader(data))
	case ".json":
		var rows []json.RawMessage
		err := json.Unmarshal(data, &rows)
		return int64(len(rows)), err
	case ".jsonl":
		var n int64
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if !json.Valid(sc.Bytes()) {
				return n, fmt.Errorf("line %d is not JSON", n+1)
			}
			n++
		}
		return n, sc.Err()
	case ".yaml":
		var rows []map[string]any
		err := yaml.Unmarshal(data, &rows)
		return int64(len(rows)), err
	case ".xml":
		var doc struct {
			XMLName xml.Name `xml:"export"`
			Rows    []struct {
				Cells []struct {
					XMLName xml.Name
				} `xml:",any"`
			} `xml:"row"`
		}
		err := xml.Unmarshal(data, &doc)
		return int64(len(doc.Rows)), err
	case ".parquet":
		f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return 0, err
		}
		var n int64
		buf := make([]parquet.Row, 256)
		for _, rg := range f.RowGroups() {
			rows := rg.Rows()
			for err == nil {
				var k int
				k, err = rows.ReadRows(buf)
				n += int64(k)
			}
			_ = rows.Close()
			if !errors.Is(err, io.EOF) {
				return n, err
			}
			err = nil
		}
		if n != f.NumRows() {
			return n, fmt.Errorf("read %d rows, the footer says %d", n, f.NumRows())
		}
		return n, nil
	case ".xlsx":
		f, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			return 0, err
		}
		defer f.Close()
		rows, err := f.Rows(f.GetSheetList()[0])
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		var n int64
		for rows.Next() {
			n++
		}
		return n - 1, rows.Error()
	default:
		return 0, fmt.Errorf("no reader for %s", ext)
	}
}

// checkBurstReport parses a report job's JSON document (the ops template: three sections) and
// opens its other format.
func checkBurstReport(t *testing.T, dir, job string, files []export.FileInfo) {
	t.Helper()
	if len(files) != 2 {
		t.Errorf("%s: files %+v, want two formats", job, files)
		return
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil || int64(len(data)) != f.Bytes {
			t.Errorf("%s: %s: %d bytes (%v), the run says %d", job, f.Name, len(data), err, f.Bytes)
			continue
		}
		switch {
		case strings.HasSuffix(f.Name, ".json"):
			var doc report.Document
			if err := json.Unmarshal(data, &doc); err != nil || len(doc.Sections) != 3 || doc.Period.Label != "18–24 May 2026" {
				t.Errorf("%s: document with %d sections for %q (%v)", job, len(doc.Sections), doc.Period.Label, err)
			}
		case strings.HasSuffix(f.Name, ".csv.zip"):
			z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
			if err != nil || len(z.File) != 2 {
				t.Errorf("%s: %s: %v", job, f.Name, err)
			}
		case strings.HasSuffix(f.Name, ".html"):
			if !bytes.Contains(data, []byte("<html")) || !bytes.Contains(data, []byte("</html>")) {
				t.Errorf("%s: %s is not a whole HTML page", job, f.Name)
			}
		case strings.HasSuffix(f.Name, ".xlsx"):
			x, err := excelize.OpenReader(bytes.NewReader(data))
			if err != nil || len(x.GetSheetList()) < 2 {
				t.Errorf("%s: %s: %v", job, f.Name, err)
			}
			if x != nil {
				_ = x.Close()
			}
		case strings.HasSuffix(f.Name, ".pdf"):
			if !bytes.HasPrefix(data, []byte("%PDF-")) || !bytes.Contains(data[max(0, len(data)-32):], []byte("%%EOF")) {
				t.Errorf("%s: %s is not a whole PDF", job, f.Name)
			}
		default:
			t.Errorf("%s: unexpected file %s", job, f.Name)
		}
	}
}

// sumMetric adds the values of every series of a gauge or counter.
func sumMetric(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	return sumMetricWhere(t, reg, name, nil)
}

// sumMetricWhere adds the values of the series of a gauge or counter that carry labels.
func sumMetricWhere(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
