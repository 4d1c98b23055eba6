package report_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/report"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

// TestKPIHistoryFromPrometheus runs a real Prometheus scraping a real exporter (whose clock is
// fixed at the reports' instant) every second, then builds a report whose KPIs come from
// Prometheus' range queries: every value read equals the brute-force reference at that instant.
// With Prometheus gone, the build fails saying so.
func TestKPIHistoryFromPrometheus(t *testing.T) {
	d := testdb.Get(t)
	fast := exporter.Schedule{Interval: time.Second, Timeout: 10 * time.Second}
	exp := testtools.ServeExporter(t, d.DB, exporter.Options{
		Schedules: exporter.Schedules{kpi.RealTime: fast, kpi.Business: fast, kpi.Operational: fast, kpi.Experience: fast},
		Now:       func() time.Time { return at },
	})
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: bdc-exporter\n    static_configs:\n      - targets: [%q]\n", exp)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testtools.FreeAddr(t)
	cmd := exec.Command(testtools.Path(t, "prometheus"), "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	// From the first scrape of the KPIs, a few more.
	deadline := time.Now().Add(time.Minute)
	for !scraped(base, "bdc_evaluation_score_count") {
		if time.Now().After(deadline) {
			t.Fatal("Prometheus did not scrape the exporter within a minute")
		}
		time.Sleep(250 * time.Millisecond)
	}
	start := time.Now().Truncate(time.Second)
	time.Sleep(5 * time.Second)
	end := time.Now().Truncate(time.Second)
	metrics := []string{`bdc_users{role="beneficiary"}`, `bdc_appointment_noshow_ratio{window="7d"}`, `bdc_support_resolution_seconds`, `bdc_evaluation_score`}
	tmpl := &report.Template{Name: "perf", Title: "Performance", Sections: []report.SectionSpec{
		{Kind: report.SectionKPIs, KPIs: metrics},
		{Kind: report.SectionTrend, KPIs: metrics},
	}}
	if err := tmpl.Validate(nil); err != nil {
		t.Fatal(err)
	}
	doc, err := builder(t).Build(t.Context(), tmpl, report.Params{At: end, From: start, To: end, Step: time.Second, PrometheusURL: base})
	if err != nil {
		t.Fatal(err)
	}
	if doc.KPISource != "prometheus" {
		t.Errorf("KPIs from %s", doc.KPISource)
	}
	want := make([]float64, len(metrics))
	for i, m := range metrics {
		want[i] = expectedKPI(t, m, kpi.Params{At: at})
		if math.IsNaN(want[i]) {
			t.Fatalf("the reference of %s is missing", m)
		}
	}
	kpis := doc.Sections[0].Table
	for i, row := range kpis.Rows {
		if got := row[column(t, kpis, "current")].Float(); !sameFloat(got, want[i]) {
			t.Errorf("%s at the end = %v from Prometheus, reference %v", metrics[i], got, want[i])
		}
	}
	trend := doc.Sections[1].Table
	points := 0
	for _, row := range trend.Rows {
		for i := range metrics {
			v := row[i+1].Float()
			if math.IsNaN(v) {
				continue // before the first scrape
			}
			points++
			if !sameFloat(v, want[i]) {
				t.Errorf("%s at %s = %v from Prometheus, reference %v", metrics[i], row[0].Value, v, want[i])
			}
		}
	}
	if points < 3*len(metrics) || len(trend.Rows) != int(end.Sub(start)/time.Second) {
		t.Errorf("%d values over %d steps, want at least 3 steps of every KPI, one step a second", points, len(trend.Rows))
	}
	// Filters cannot apply to Prometheus' KPIs; a Prometheus that is down fails the build.
	if _, err := builder(t).Build(t.Context(), tmpl, report.Params{At: end, PrometheusURL: base,
		Filters: analyticsRegion("Bretagne")}); err == nil || !strings.Contains(err.Error(), "filters need KPIs computed from PostgreSQL") {
		t.Errorf("filters with Prometheus: %v", err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	_, err = builder(t).Build(t.Context(), tmpl, report.Params{At: end, PrometheusURL: base})
	if err == nil || !strings.Contains(err.Error(), "couldn't read bdc_users from Prometheus at "+base) {
		t.Errorf("Prometheus down: %v", err)
	}
}

// scraped reports whether Prometheus has a value of metric.
func scraped(base, metric string) bool {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(metric))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK && strings.Contains(string(b), `"value"`)
}
