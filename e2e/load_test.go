package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

// loadDuration is how long wrk hammers /metrics: a few seconds in `make test`, the long form
// (BDC_LOAD_DURATION, e.g. 60s, set by `make bench`) for the published figures.
func loadDuration(t *testing.T) time.Duration {
	if v := os.Getenv("BDC_LOAD_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("BDC_LOAD_DURATION: %v", err)
		}
		return d
	}
	return 3 * time.Second
}

// TestMetricsUnderLoad runs wrk (Debian's package) against the exporter's /metrics on loopback,
// 8 connections on 2 threads for loadDuration, while every KPI group refreshes each second:
// every request must succeed, and the refreshes must go on during the load (a scrape never
// waits on them, nor they on scrapes). It logs throughput and latency percentiles; no figure is
// asserted (that is the benchmark's job), only the absence of errors.
func TestMetricsUnderLoad(t *testing.T) {
	d := testdb.Get(t)
	at := d.Seed.End.Add(-24 * time.Hour)
	second := exporter.Schedule{Interval: time.Second, Timeout: 10 * time.Second}
	addr := testtools.ServeExporter(t, d.DB, exporter.Options{Now: func() time.Time { return at },
		Schedules: exporter.Schedules{kpi.RealTime: second, kpi.Business: second, kpi.Operational: second, kpi.Experience: second}})
	url := "http://" + addr + "/metrics"
	before := lastSuccess(t, url, "bdc_users_online")

	dur := loadDuration(t)
	wrk := testtools.Path(t, "wrk")
	out, err := exec.Command(wrk, "-t2", "-c8", "-d"+dur.String(), "--latency", url).CombinedOutput()
	if err != nil {
		t.Fatalf("wrk: %v\n%s", err, out)
	}
	r, err := parseWrk(string(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("wrk -t2 -c8 -d%s: %d requests, %.0f req/s, latency p50 %s p90 %s p99 %s", dur, r.Requests, r.PerSecond, r.P50, r.P90, r.P99)
	if r.Requests == 0 || r.Non2xx != 0 || r.SocketErrors != 0 {
		t.Errorf("%d requests, %d non-2xx responses, %d socket errors\n%s", r.Requests, r.Non2xx, r.SocketErrors, out)
	}
	if after := lastSuccess(t, url, "bdc_users_online"); after <= before {
		t.Errorf("no refresh of bdc_users_online during the load (last success %v before, %v after)", before, after)
	}
}

// lastSuccess reads bdc_exporter_query_last_success_timestamp_seconds of query from a scrape.
func lastSuccess(t *testing.T, url, query string) float64 {
	t.Helper()
	body := testtools.Scrape(t, url)
	m := regexp.MustCompile(`(?m)^bdc_exporter_query_last_success_timestamp_seconds\{query="` + regexp.QuoteMeta(query) + `"\} (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no last success of %s in the scrape", query)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wrkResult is what wrk printed.
type wrkResult struct {
	Requests      int
	PerSecond     float64
	P50, P90, P99 time.Duration
	Non2xx        int
	SocketErrors  int
}

var (
	wrkRequests = regexp.MustCompile(`(\d+) requests in`)
	wrkRate     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkPct      = regexp.MustCompile(`(?m)^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk's --latency report.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := wrkRequests.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no request count in wrk's output")
	}
	r.Requests, _ = strconv.Atoi(m[1])
	if m := wrkRate.FindStringSubmatch(out); m != nil {
		r.PerSecond, _ = strconv.ParseFloat(m[1], 64)
	}
	for _, m := range wrkPct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[3]]
		d := time.Duration(v * float64(unit))
		switch m[1] {
		case "50":
			r.P50 = d
		case "90":
			r.P90 = d
		case "99":
			r.P99 = d
		}
	}
	if r.P99 == 0 {
		return r, fmt.Errorf("no latency distribution in wrk's output")
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.Atoi(m[1])
	}
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.SocketErrors += n
		}
	}
	return r, nil
}
