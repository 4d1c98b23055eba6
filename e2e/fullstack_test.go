// Package e2e runs the stack on loopback with real components: PostgreSQL, the exporter, a real
// Prometheus scraping it with the repository's rules, a real Alertmanager with the repository's
// routing sending to a webhook of the test's own.
package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// TestFullStack: the KPIs Prometheus stores equal the database's, and a no-show spike written
// to the database reaches the operations receiver as BDCNoShowRatioHigh.
//
// Only timing is changed from the shipped configuration: scrape and evaluation every second, and
// the rules' `for` durations and Alertmanager's group wait cut to seconds, so the test does not
// wait an hour; expressions, labels and routes are the repository's.
func TestFullStack(t *testing.T) {
	d := testdb.Get(t)
	at := d.Seed.End.Add(-24 * time.Hour)
	dir := t.TempDir()

	// The webhook receiver: alert name per receiver path.
	var mu sync.Mutex
	received := map[string][]string{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Status string `json:"status"`
			Alerts []struct {
				Labels map[string]string `json:"labels"`
			} `json:"alerts"`
		}
		_ = json.NewDecoder(r.Body).Decode(&msg)
		mu.Lock()
		for _, a := range msg.Alerts {
			received[r.URL.Path] = append(received[r.URL.Path], a.Labels["alertname"])
		}
		mu.Unlock()
	}))
	defer hook.Close()

	exporterAddr := startExporter(t, d, at)
	amAddr := startAlertmanager(t, dir, hook.URL)
	promURL := startPrometheus(t, dir, exporterAddr, amAddr)

	// KPI values in Prometheus equal the database's, computed here with plain SQL.
	var trainers, noShow, held float64
	err := d.DB.Pool.QueryRow(t.Context(), `select
		(select count(*) from bdc.users where role = 'trainer' and created_at <= $1),
		(select count(*) from bdc.appointments where status = 'no_show' and scheduled_at > $1::timestamptz - interval '7 days' and scheduled_at <= $1),
		(select count(*) from bdc.appointments where status in ('completed', 'no_show') and scheduled_at > $1::timestamptz - interval '7 days' and scheduled_at <= $1)`,
		at).Scan(&trainers, &noShow, &held)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "Prometheus never stored the KPIs", func() bool {
		v, ok := promValue(t, promURL, `bdc_users{role="trainer"}`)
		return ok && v == trainers
	})
	if v, ok := promValue(t, promURL, `bdc_appointment_noshow_ratio{window="7d"}`); !ok || !sameRatio(v, noShow/held) {
		t.Errorf("no-show ratio in Prometheus %v, in the database %v", v, noShow/held)
	}
	if noShow/held > 0.25 {
		t.Fatalf("the seed's no-show ratio %.2f is already above the alert threshold", noShow/held)
	}

	// A spike: enough missed appointments in the last week to push the ratio past 25%.
	spike := int(held) + 20
	_, err = d.DB.Pool.Exec(t.Context(), `
		insert into bdc.appointments (beneficiary_id, trainer_id, booked_at, scheduled_at, duration_minutes, channel, reminder_sent, status)
		select b.id, b.trainer_id, $1::timestamptz - interval '10 days', $1::timestamptz - interval '2 days' + (g * interval '1 minute'), 60, 'video', false, 'no_show'
		from generate_series(1, $2) g
		join lateral (select id, trainer_id from bdc.beneficiaries where trainer_id is not null order by id limit 1) b on true`, at, spike)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Minute, "BDCNoShowRatioHigh never reached the operations receiver", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, name := range received["/operations"] {
			if name == "BDCNoShowRatioHigh" {
				return true
			}
		}
		return false
	})
	mu.Lock()
	defer mu.Unlock()
	for path, names := range received {
		for _, name := range names {
			if name == "BDCNoShowRatioHigh" && path != "/operations" {
				t.Errorf("BDCNoShowRatioHigh also went to %s", path)
			}
		}
	}
}

func sameRatio(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func startExporter(t *testing.T, d *testdb.Database, at time.Time) string {
	t.Helper()
	fast := exporter.Schedule{Interval: time.Second, Timeout: 10 * time.Second}
	return testtools.ServeExporter(t, d.DB, exporter.Options{
		Schedules: exporter.Schedules{kpi.RealTime: fast, kpi.Business: fast, kpi.Operational: fast, kpi.Experience: fast},
		Now:       func() time.Time { return at },
	})
}

var forDuration = regexp.MustCompile(`(?m)^(\s+for:) .*$`)

// startPrometheus runs Prometheus on the repository's rules (with `for` cut to seconds),
// scraping the exporter every second and alerting to the Alertmanager.
func startPrometheus(t *testing.T, dir, exporterAddr, amAddr string) string {
	t.Helper()
	rules, _ := filepath.Glob("../alerts/rules/*.yml")
	var ruleFiles []string
	for _, r := range rules {
		raw, err := os.ReadFile(r)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "rules-"+filepath.Base(r))
		if err := os.WriteFile(out, forDuration.ReplaceAll(raw, []byte("$1 3s")), 0o600); err != nil {
			t.Fatal(err)
		}
		ruleFiles = append(ruleFiles, strconv.Quote(out))
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%s]
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
scrape_configs:
  - job_name: bdc-exporter
    static_configs:
      - targets: [%q]
`, strings.Join(ruleFiles, ", "), amAddr, exporterAddr)
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testtools.FreeAddr(t)
	start(t, testtools.Path(t, "prometheus"), "--config.file="+path, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+addr)
	base := "http://" + addr
	eventually(t, time.Minute, "Prometheus never ready", func() bool { return get(base+"/-/ready") == nil })
	return base
}

func startAlertmanager(t *testing.T, dir, hookURL string) string {
	t.Helper()
	raw, err := os.ReadFile("../alerts/alertmanager.yml")
	if err != nil {
		t.Fatal(err)
	}
	content := strings.ReplaceAll(string(raw), "http://alert-gateway:9099", hookURL)
	content = strings.Replace(content, "group_wait: 30s", "group_wait: 1s", 1)
	path := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, cluster := testtools.FreeAddr(t), testtools.FreeAddr(t)
	start(t, testtools.Path(t, "alertmanager"), "--config.file="+path, "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+addr, "--cluster.listen-address="+cluster, "--cluster.advertise-address="+cluster)
	eventually(t, time.Minute, "Alertmanager never ready", func() bool { return get("http://"+addr+"/-/ready") == nil })
	return addr
}

func start(t *testing.T, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
}

// promValue runs an instant query and returns the single sample's value.
func promValue(t *testing.T, base, query string) (float64, bool) {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Data.Result) != 1 {
		return 0, false
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

func get(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return nil
}

func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
