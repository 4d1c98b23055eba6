package exporter_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bdc-analytics/bdc/bench/cmd/benchreport/results"
	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/kpi/kpitest"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

// fast refreshes every group every second, so tests see refreshes quickly.
var fast = exporter.Schedules{
	kpi.RealTime:    {Interval: time.Second, Timeout: 5 * time.Second},
	kpi.Business:    {Interval: time.Second, Timeout: 5 * time.Second},
	kpi.Operational: {Interval: time.Second, Timeout: 5 * time.Second},
	kpi.Experience:  {Interval: time.Second, Timeout: 5 * time.Second},
}

func scrape(t *testing.T, base string) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	_, body := get(t, base+"/metrics", "", "")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing the scrape: %v\n%s", err, body)
	}
	return body, families
}

// value returns the sample of family name whose labels are exactly labels (name=value pairs).
func value(families map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf := families[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.Metric {
		if len(m.Label) != len(labels)/2 {
			continue
		}
		match := true
		for i, l := range m.Label {
			if l.GetName() != labels[2*i] || l.GetValue() != labels[2*i+1] {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		}
	}
	return 0, false
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	eventually(t, "exporter never ready", func() bool { code, _ := get(t, base+"/-/ready", "", ""); return code == 200 })
}

// TestScrapeMatchesBruteForce scrapes an exporter whose clock is fixed inside the test data's
// history and compares every KPI sample with the brute-force reference at that instant; then runs
// promtool check metrics on the scrape.
func TestScrapeMatchesBruteForce(t *testing.T) {
	d := testdb.Get(t)
	at := d.Seed.End.AddDate(0, 0, -2).Add(15*time.Hour + 7*time.Minute)
	base, _ := startWith(t, d.DB, "", exporter.Options{Schedules: fast, Now: func() time.Time { return at }})
	waitReady(t, base)
	body, families := scrape(t, base)

	got := map[string]any{}
	for _, def := range kpi.All() {
		mf := families[def.Name]
		if mf == nil {
			t.Errorf("scrape lacks %s", def.Name)
			continue
		}
		for _, m := range mf.Metric {
			var labels []string
			for _, name := range def.Labels {
				for _, l := range m.Label {
					if l.GetName() == name {
						labels = append(labels, l.GetValue())
					}
				}
			}
			key := def.Name + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.Histogram != nil:
				h := kpitest.Hist{Sum: m.Histogram.GetSampleSum(), Count: m.Histogram.GetSampleCount()}
				for _, b := range m.Histogram.Bucket {
					if !math.IsInf(b.GetUpperBound(), 1) {
						h.Buckets = append(h.Buckets, b.GetCumulativeCount())
					}
				}
				got[key] = h
			case m.Gauge != nil:
				got[key] = m.Gauge.GetValue()
			case m.Counter != nil:
				got[key] = m.Counter.GetValue()
			}
		}
	}
	kpitest.Compare(t, got, kpitest.Load(t, d).Expected(kpi.Params{At: at, TimeZone: kpi.DefaultTimeZone}))

	for _, def := range kpi.All() {
		if v, ok := value(families, "bdc_exporter_query_success", "query", def.Name); !ok || v != 1 {
			t.Errorf("bdc_exporter_query_success{query=%q} = %v, %v", def.Name, v, ok)
		}
	}
	for _, name := range []string{"bdc_exporter_query_duration_seconds", "bdc_exporter_query_last_success_timestamp_seconds",
		"bdc_exporter_query_errors_total", "bdc_exporter_database_up", "bdc_exporter_build_info"} {
		if families[name] == nil {
			t.Errorf("scrape lacks %s", name)
		}
	}

	promtool := testtools.Path(t, "promtool")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestBlockedQueryKeepsLastGoodValue holds a lock that blocks one KPI's query past its timeout:
// scrapes still answer (a scrape that waited on the database would hang here until the lock is
// released at the end of the test), that query's success drops to 0 with its last good value
// kept, and the other queries stay fresh.
func TestBlockedQueryKeepsLastGoodValue(t *testing.T) {
	d, err := testdb.Create(t.Context(), "blocked", testdb.Scale)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Drop(context.Background()) })
	at := d.Seed.End.AddDate(0, 0, -1)
	base, _ := startWith(t, d.DB, "", exporter.Options{Schedules: exporter.Schedules{
		kpi.RealTime:    {Interval: 200 * time.Millisecond, Timeout: time.Second},
		kpi.Business:    {Interval: time.Second, Timeout: time.Second},
		kpi.Operational: {Interval: time.Second, Timeout: time.Second},
		kpi.Experience:  {Interval: time.Second, Timeout: time.Second},
	}, Now: func() time.Time { return at }})
	waitReady(t, base)
	_, families := scrape(t, base)
	good, ok := value(families, "bdc_satisfaction_score")
	if !ok || math.IsNaN(good) {
		t.Fatalf("no satisfaction score before the lock: %v %v", good, ok)
	}

	lock, err := d.DB.Pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lock.Rollback(context.Background()) }()
	if _, err := lock.Exec(t.Context(), "lock table bdc.feedback in access exclusive mode"); err != nil {
		t.Fatal(err)
	}
	var realtimeBefore float64
	eventually(t, "the blocked query never reported failure", func() bool {
		_, families = scrape(t, base)
		s, _ := value(families, "bdc_exporter_query_success", "query", "bdc_satisfaction_score")
		realtimeBefore, _ = value(families, "bdc_exporter_query_last_success_timestamp_seconds", "query", "bdc_users_online")
		return s == 0
	})
	if v, ok := value(families, "bdc_satisfaction_score"); !ok || v != good {
		t.Errorf("satisfaction score during the failure = %v (%v), want the last good value %v", v, ok, good)
	}
	if n, _ := value(families, "bdc_exporter_query_errors_total", "query", "bdc_satisfaction_score"); n < 1 {
		t.Errorf("errors_total = %v, want >= 1", n)
	}
	eventually(t, "other queries stopped refreshing", func() bool {
		_, families = scrape(t, base)
		after, _ := value(families, "bdc_exporter_query_last_success_timestamp_seconds", "query", "bdc_users_online")
		ok, _ := value(families, "bdc_exporter_query_success", "query", "bdc_users_online")
		return after > realtimeBefore && ok == 1
	})
	_ = lock.Rollback(context.Background())
	released := time.Now()
	eventually(t, "the query never recovered after the lock", func() bool {
		_, families = scrape(t, base)
		s, _ := value(families, "bdc_exporter_query_success", "query", "bdc_satisfaction_score")
		return s == 1
	})
	testtools.RecordCheck(t, results.Check{Area: "Reliability",
		Case:    "exporter: a KPI query blocked by a lock past its 1 s timeout",
		Sees:    `bdc_exporter_query_success{query="bdc_satisfaction_score"} 0, its errors_total counting; the KPI keeps its last good value`,
		Outcome: "the other groups kept refreshing; the query succeeded again once the lock was released, with no restart",
		Resumed: time.Since(released).Seconds()})
}

// TestRecoversFromDatabaseRestart stops and restarts a throwaway cluster of the test's own under
// a running exporter: it reports the outage and recovers without a restart.
func TestRecoversFromDatabaseRestart(t *testing.T) {
	cluster, db := testdb.Cluster(t, demo.Config{Users: 200, Days: 60, Seed: 3})
	base, _ := startWith(t, db, "", exporter.Options{Schedules: fast, ProbeInterval: 200 * time.Millisecond})
	waitReady(t, base)

	if err := cluster.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the outage was never reported", func() bool {
		_, families := scrape(t, base)
		up, _ := value(families, "bdc_exporter_database_up")
		s, _ := value(families, "bdc_exporter_query_success", "query", "bdc_users")
		return up == 0 && s == 0
	})
	_, families := scrape(t, base)
	if v, ok := value(families, "bdc_users", "role", "beneficiary"); !ok || v == 0 {
		t.Errorf("bdc_users lost its last good value during the outage: %v %v", v, ok)
	}
	if err := cluster.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	eventually(t, "the exporter did not recover", func() bool {
		_, families := scrape(t, base)
		up, _ := value(families, "bdc_exporter_database_up")
		s, _ := value(families, "bdc_exporter_query_success", "query", "bdc_users")
		return up == 1 && s == 1
	})
	testtools.RecordCheck(t, results.Check{Area: "Reliability",
		Case:    "exporter: PostgreSQL stopped and started during refreshes",
		Sees:    "bdc_exporter_database_up 0 and bdc_exporter_query_success 0 while /metrics keeps answering; every KPI keeps its last good value",
		Outcome: "database_up and every query back to 1 after the restart, the process never restarted",
		Resumed: time.Since(restarted).Seconds()})
}

func writeConfig(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCustomMetrics: gauges, counters and histograms from user SQL; a bad query fails alone;
// max_series drops and counts; reload keeps unchanged metrics and refuses a bad file.
func TestCustomMetrics(t *testing.T) {
	d := testdb.Get(t)
	cfg := filepath.Join(t.TempDir(), "custom.yml")
	writeConfig(t, cfg, `metrics:
  - name: bdc_custom_beneficiaries_by_region
    help: Beneficiaries per region.
    type: gauge
    sql: select region, count(*) as n from bdc.beneficiaries group by region
    labels: [region]
    value: n
    interval: 1s
  - name: bdc_custom_broken
    type: gauge
    sql: select no_such_column as n from bdc.users
    value: n
    interval: 1s
  - name: bdc_custom_capped
    type: gauge
    sql: select id::text as user_id, 1 as one from bdc.users order by id
    labels: [user_id]
    value: one
    max_series: 10
    interval: 1s
  - name: bdc_custom_appointment_minutes
    type: histogram
    sql: select channel, duration_minutes as minutes from bdc.appointments
    labels: [channel]
    value: minutes
    buckets: [60, 90, 120]
    interval: 1s
`)
	base, _ := startWith(t, d.DB, "", exporter.Options{Schedules: fast, ConfigFile: cfg})
	waitReady(t, base)
	var families map[string]*dto.MetricFamily
	eventually(t, "custom metrics never refreshed", func() bool {
		_, families = scrape(t, base)
		_, ok := value(families, "bdc_exporter_query_success", "query", "bdc_custom_capped")
		return ok
	})
	var regions int
	if err := d.DB.Pool.QueryRow(t.Context(), "select count(distinct region) from bdc.beneficiaries").Scan(&regions); err != nil {
		t.Fatal(err)
	}
	if mf := families["bdc_custom_beneficiaries_by_region"]; mf == nil || len(mf.Metric) != regions {
		t.Errorf("bdc_custom_beneficiaries_by_region: %v, want %d regions", mf, regions)
	}
	if s, _ := value(families, "bdc_exporter_query_success", "query", "bdc_custom_broken"); s != 0 {
		t.Error("the broken custom metric reports success")
	}
	if s, _ := value(families, "bdc_exporter_query_success", "query", "bdc_users"); s != 1 {
		t.Error("a broken custom metric affected the built-in KPIs")
	}
	if mf := families["bdc_custom_capped"]; mf == nil || len(mf.Metric) != 10 {
		t.Errorf("bdc_custom_capped has %v series, want max_series 10", mf)
	}
	if n, _ := value(families, "bdc_exporter_series_dropped_total", "query", "bdc_custom_capped"); n < float64(600-10) {
		t.Errorf("series dropped = %v, want at least %d", n, 600-10)
	}
	var inPerson, inPersonShort float64
	if err := d.DB.Pool.QueryRow(t.Context(), `select count(*), count(*) filter (where duration_minutes <= 60)
		from bdc.appointments where channel = 'in_person'`).Scan(&inPerson, &inPersonShort); err != nil {
		t.Fatal(err)
	}
	for _, m := range families["bdc_custom_appointment_minutes"].GetMetric() {
		if m.Label[0].GetValue() == "in_person" {
			if float64(m.Histogram.GetSampleCount()) != inPerson || float64(m.Histogram.Bucket[0].GetCumulativeCount()) != inPersonShort {
				t.Errorf("in_person histogram %v, want count %v and %v at le=60", m.Histogram, inPerson, inPersonShort)
			}
		}
	}

	// A bad file is refused and changes nothing.
	writeConfig(t, cfg, "metrics:\n  - name: bdc_custom_x\n    type: gauge\n    sql: select 1\n    value: [\n")
	if code, body := post(t, base+"/-/reload"); code != 400 || !strings.Contains(body, "custom.yml") {
		t.Errorf("reload of a bad file: %d %s", code, body)
	}
	if _, families = scrape(t, base); families["bdc_custom_beneficiaries_by_region"] == nil {
		t.Error("a refused reload dropped the metrics in force")
	}
	// A good file: the unchanged metric keeps its state, the removed ones go, the new one comes.
	before, _ := value(families, "bdc_exporter_query_last_success_timestamp_seconds", "query", "bdc_custom_beneficiaries_by_region")
	writeConfig(t, cfg, `metrics:
  - name: bdc_custom_beneficiaries_by_region
    help: Beneficiaries per region.
    type: gauge
    sql: select region, count(*) as n from bdc.beneficiaries group by region
    labels: [region]
    value: n
    interval: 1s
  - name: bdc_custom_trainers
    type: gauge
    sql: select count(*) as n from bdc.users where role = 'trainer'
    value: n
`)
	if code, body := post(t, base+"/-/reload"); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	_, families = scrape(t, base)
	if after, _ := value(families, "bdc_exporter_query_last_success_timestamp_seconds", "query", "bdc_custom_beneficiaries_by_region"); after < before || after == 0 {
		t.Errorf("the unchanged metric lost its state: last success %v -> %v", before, after)
	}
	if families["bdc_custom_broken"] != nil || families["bdc_custom_capped"] != nil {
		t.Error("removed custom metrics still served")
	}
	eventually(t, "the new custom metric never came", func() bool {
		_, families = scrape(t, base)
		_, ok := value(families, "bdc_custom_trainers")
		return ok
	})
}

func post(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := httpPost(url)
	if err != nil {
		t.Fatal(err)
	}
	return resp.code, resp.body
}
