// Package alerts holds the Prometheus rules, the Prometheus and Alertmanager configurations and
// the runbooks; this test checks them with the real promtool, amtool and Alertmanager, and
// against a real scrape of the exporter.
package alerts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestPromtool(t *testing.T) {
	promtool := testtools.Path(t, "promtool")
	rules, _ := filepath.Glob("rules/*.yml")
	tests, _ := filepath.Glob("tests/*_test.yml")
	run(t, promtool, append([]string{"check", "rules"}, rules...)...)
	run(t, promtool, append([]string{"test", "rules"}, tests...)...)
	run(t, promtool, "check", "config", "prometheus.yml")
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	var all ruleFile
	files, _ := filepath.Glob("rules/*.yml")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rf ruleFile
		if err := yaml.Unmarshal(raw, &rf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		all.Groups = append(all.Groups, rf.Groups...)
	}
	return all
}

// TestEveryAlertIsTestedBothWays: each alert has a promtool case where it fires and one where it
// is evaluated and stays silent.
func TestEveryAlertIsTestedBothWays(t *testing.T) {
	type ruleTest struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	files, _ := filepath.Glob("tests/*_test.yml")
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		var rt ruleTest
		if err := yaml.Unmarshal(raw, &rt); err != nil {
			t.Fatal(err)
		}
		for _, tc := range rt.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					silent[a.Alertname] = true
				}
			}
		}
	}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if !fires[r.Alert] || !silent[r.Alert] {
				t.Errorf("%s: promtool cases firing %v, silent %v; want both", r.Alert, fires[r.Alert], silent[r.Alert])
			}
		}
	}
}

var anchor = regexp.MustCompile(`^https://github\.com/bdc-analytics/bdc/blob/main/alerts/(runbooks/[a-z]+\.md)#([a-z0-9-]+)$`)

// TestAlertsAreDocumented: labels, annotations, and a runbook section behind every runbook_url.
func TestAlertsAreDocumented(t *testing.T) {
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			for _, l := range []string{"severity", "team", "component"} {
				if r.Labels[l] == "" {
					t.Errorf("%s: no %s label", r.Alert, l)
				}
			}
			if !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]) {
				t.Errorf("%s: severity %q", r.Alert, r.Labels["severity"])
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			m := anchor.FindStringSubmatch(r.Annotations["runbook_url"])
			if m == nil {
				t.Errorf("%s: runbook_url %q is not a runbook of this repository", r.Alert, r.Annotations["runbook_url"])
				continue
			}
			book, err := os.ReadFile(m[1])
			if err != nil || !strings.Contains(strings.ToLower(string(book)), "## "+m[2]) {
				t.Errorf("%s: %s has no section %q", r.Alert, m[1], m[2])
			}
		}
	}
}

func TestAlertmanagerRoutes(t *testing.T) {
	amtool := testtools.Path(t, "amtool")
	run(t, amtool, "check-config", "alertmanager.yml")
	f, err := os.Open("tests/routes.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	cases := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		labels, receiver, ok := strings.Cut(line, " -> ")
		if !ok {
			t.Fatalf("routes.txt: %q", line)
		}
		args := append([]string{"config", "routes", "test", "--config.file=alertmanager.yml", "--verify.receivers=" + receiver}, strings.Fields(labels)...)
		run(t, amtool, args...)
		cases++
	}
	if cases < 6 {
		t.Errorf("only %d route cases", cases)
	}
}

// TestInhibitionAndDelivery runs the real Alertmanager with our routing, receivers pointed at a
// webhook of the test's own: a down exporter mutes the KPI alerts of its instance only, and each
// alert reaches its team's receiver.
func TestInhibitionAndDelivery(t *testing.T) {
	received := map[string][]string{} // receiver path -> alert names
	var mu sync.Mutex
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
			} `json:"alerts"`
		}
		_ = json.NewDecoder(r.Body).Decode(&msg)
		mu.Lock()
		for _, a := range msg.Alerts {
			received[r.URL.Path] = append(received[r.URL.Path], a.Labels["alertname"]+"@"+a.Labels["instance"])
		}
		mu.Unlock()
	}))
	defer hook.Close()
	base := startAlertmanager(t, hook.URL)

	now := time.Now().UTC()
	alerts := []map[string]any{
		{"labels": map[string]string{"alertname": "BDCExporterDown", "severity": "critical", "team": "sre", "component": "exporter", "instance": "a:10091"}},
		{"labels": map[string]string{"alertname": "BDCNoShowRatioHigh", "severity": "warning", "team": "operations", "component": "kpi", "instance": "a:10091"}},
		{"labels": map[string]string{"alertname": "BDCNoShowRatioHigh", "severity": "warning", "team": "operations", "component": "kpi", "instance": "b:10091"}},
	}
	for _, a := range alerts {
		a["startsAt"] = now.Format(time.RFC3339)
	}
	body, _ := json.Marshal(alerts)
	resp, err := http.Post(base+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("posting alerts: %v %v", resp, err)
	}
	resp.Body.Close()

	type state struct {
		Labels map[string]string `json:"labels"`
		Status struct {
			State       string   `json:"state"`
			InhibitedBy []string `json:"inhibitedBy"`
		} `json:"status"`
	}
	var states []state
	eventually(t, "inhibition never applied", func() bool {
		r, err := http.Get(base + "/api/v2/alerts")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		states = nil
		_ = json.NewDecoder(r.Body).Decode(&states)
		for _, s := range states {
			if s.Labels["instance"] == "a:10091" && s.Labels["alertname"] == "BDCNoShowRatioHigh" {
				return s.Status.State == "suppressed" && len(s.Status.InhibitedBy) > 0
			}
		}
		return false
	})
	for _, s := range states {
		if s.Labels["instance"] == "b:10091" && s.Status.State != "active" {
			t.Errorf("the KPI alert of another instance is %s, want active", s.Status.State)
		}
	}
	eventually(t, "alerts never reached their receivers", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(received["/sre-pager"], "BDCExporterDown@a:10091") &&
			slices.Contains(received["/operations"], "BDCNoShowRatioHigh@b:10091")
	})
	mu.Lock()
	defer mu.Unlock()
	if slices.Contains(received["/operations"], "BDCNoShowRatioHigh@a:10091") {
		t.Error("the inhibited alert was delivered")
	}
}

// startAlertmanager runs Alertmanager with our configuration, its webhooks pointed at hookURL.
func startAlertmanager(t *testing.T, hookURL string) string {
	t.Helper()
	bin := testtools.Path(t, "alertmanager")
	raw, err := os.ReadFile("alertmanager.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	// Short group waits so the test does not wait half a minute; routing is unchanged.
	content := strings.ReplaceAll(string(raw), "http://alert-gateway:9099", hookURL)
	content = strings.Replace(content, "group_wait: 30s", "group_wait: 1s", 1)
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testtools.FreeAddr(t)
	cluster := testtools.FreeAddr(t)
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.path="+dir, "--web.listen-address="+addr,
		"--cluster.listen-address="+cluster, "--cluster.advertise-address="+cluster)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	eventually(t, "alertmanager never became ready", func() bool {
		r, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
	return base
}

var metricRef = regexp.MustCompile(`\bbdc_[a-z0-9_]+\b`)

// TestRulesNameRealMetrics: every metric a rule names exists in a real scrape of the exporter.
func TestRulesNameRealMetrics(t *testing.T) {
	families := scrapeExporter(t)
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			for _, name := range metricRef.FindAllString(r.Expr, -1) {
				family := name
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if base, ok := strings.CutSuffix(name, suffix); ok && families[base] {
						family = base
					}
				}
				if !families[family] {
					t.Errorf("rule %s%s names %s, which the exporter does not serve", r.Alert, r.Record, name)
				}
			}
		}
	}
}

// scrapeExporter serves an exporter on the package's test database and returns the metric
// families of its scrape once every query has refreshed.
func scrapeExporter(t *testing.T) map[string]bool {
	t.Helper()
	d := testdb.Get(t)
	// Evaluated inside the seed's history, so every KPI has data; with one custom metric, so
	// the custom metrics' own self-metrics show too.
	custom := filepath.Join(t.TempDir(), "custom.yml")
	if err := os.WriteFile(custom, []byte("metrics:\n  - name: bdc_custom_trainers\n    type: gauge\n    sql: select count(*) as n from bdc.users where role = 'trainer'\n    value: n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	at := d.Seed.End.Add(-24 * time.Hour)
	addr := testtools.ServeExporter(t, d.DB, exporter.Options{ConfigFile: custom, Now: func() time.Time { return at }})
	return testtools.MetricFamilies(t, "http://"+addr+"/metrics")
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
