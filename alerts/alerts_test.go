// Package alerts holds the Prometheus rules, the Prometheus and Alertmanager configurations and
// the runbooks; this test checks them with the real promtool, amtool and Alertmanager, and
// against real scrapes of the exporter and the reporter.
package alerts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/schedule"
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

	postAlerts(t, base, []map[string]string{
		{"alertname": "BDCExporterDown", "severity": "critical", "team": "sre", "component": "exporter", "instance": "a:10091"},
		{"alertname": "BDCNoShowRatioHigh", "severity": "warning", "team": "operations", "component": "kpi", "instance": "a:10091"},
		{"alertname": "BDCNoShowRatioHigh", "severity": "warning", "team": "operations", "component": "kpi", "instance": "b:10091"},
	})
	var states []alertState
	eventually(t, "inhibition never applied", func() bool {
		states = alertStates(t, base)
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

// postAlerts sends alerts with these labels to the Alertmanager at base, starting now.
func postAlerts(t *testing.T, base string, labels []map[string]string) {
	t.Helper()
	var alerts []map[string]any
	for _, l := range labels {
		alerts = append(alerts, map[string]any{"labels": l, "startsAt": time.Now().UTC().Format(time.RFC3339)})
	}
	body, _ := json.Marshal(alerts)
	resp, err := http.Post(base+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("posting alerts: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("posting alerts: %s", resp.Status)
	}
}

// alertState is an alert as Alertmanager's API shows it.
type alertState struct {
	Labels map[string]string `json:"labels"`
	Status struct {
		State       string   `json:"state"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status"`
}

// alertStates lists the alerts of the Alertmanager at base; none when it does not answer.
func alertStates(t *testing.T, base string) []alertState {
	t.Helper()
	r, err := http.Get(base + "/api/v2/alerts")
	if err != nil {
		return nil
	}
	defer r.Body.Close()
	var states []alertState
	_ = json.NewDecoder(r.Body).Decode(&states)
	return states
}

// TestModelAndReporterInhibition: in the real Alertmanager, a failing model query mutes the
// alerts on that model's figures and not the others', a down exporter mutes the forecast alerts
// of its instance, and a down reporter mutes the job alerts of its instance only.
func TestModelAndReporterInhibition(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hook.Close()
	base := startAlertmanager(t, hook.URL)
	postAlerts(t, base, []map[string]string{
		{"alertname": "BDCExporterQueryFailing", "severity": "warning", "team": "sre", "component": "exporter", "instance": "a:10091", "query": "model_noshow"},
		{"alertname": "BDCModelDrift", "severity": "warning", "team": "data", "component": "model", "instance": "a:10091", "model": "noshow", "query": "model_noshow"},
		{"alertname": "BDCHighRiskAppointmentsTomorrow", "severity": "warning", "team": "operations", "component": "model", "instance": "a:10091", "horizon": "1d", "query": "model_noshow"},
		{"alertname": "BDCModelDrift", "severity": "warning", "team": "data", "component": "model", "instance": "a:10091", "model": "churn", "query": "model_churn"},
		{"alertname": "BDCExporterDown", "severity": "critical", "team": "sre", "component": "exporter", "instance": "b:10091"},
		{"alertname": "BDCCapacityForecastOverAvailability", "severity": "warning", "team": "operations", "component": "forecast", "instance": "b:10091", "bound": "mean", "query": "forecast_trainer_utilization"},
		{"alertname": "BDCCapacityForecastOverAvailability", "severity": "warning", "team": "operations", "component": "forecast", "instance": "a:10091", "bound": "mean", "query": "forecast_trainer_utilization"},
		{"alertname": "BDCReporterDown", "severity": "warning", "team": "sre", "component": "reporter", "instance": "r1:10092"},
		{"alertname": "BDCReportMissing", "severity": "warning", "team": "sre", "component": "reporter", "instance": "r1:10092", "job": "daily_export"},
		{"alertname": "BDCReportJobFailing", "severity": "warning", "team": "sre", "component": "reporter", "instance": "r1:10092", "job": "retrain_models"},
		{"alertname": "BDCReportMissing", "severity": "warning", "team": "sre", "component": "reporter", "instance": "r2:10092", "job": "daily_export"},
	})
	want := map[string]string{ // alertname@instance/model-or-job -> state
		"BDCModelDrift@a:10091/noshow":                 "suppressed",
		"BDCHighRiskAppointmentsTomorrow@a:10091/":     "suppressed",
		"BDCModelDrift@a:10091/churn":                  "active",
		"BDCCapacityForecastOverAvailability@b:10091/": "suppressed",
		"BDCCapacityForecastOverAvailability@a:10091/": "active",
		"BDCReportMissing@r1:10092/daily_export":       "suppressed",
		"BDCReportJobFailing@r1:10092/retrain_models":  "suppressed",
		"BDCReportMissing@r2:10092/daily_export":       "active",
		"BDCExporterQueryFailing@a:10091/":             "active",
		"BDCReporterDown@r1:10092/":                    "active",
	}
	var wrong []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got := map[string]string{}
		for _, s := range alertStates(t, base) {
			got[s.Labels["alertname"]+"@"+s.Labels["instance"]+"/"+s.Labels["model"]+s.Labels["job"]] = s.Status.State
		}
		wrong = nil
		for k, v := range want {
			if got[k] != v {
				wrong = append(wrong, fmt.Sprintf("%s is %q, want %q", k, got[k], v))
			}
		}
		if len(wrong) == 0 || time.Now().After(deadline) {
			break
		}
	}
	slices.Sort(wrong)
	for _, w := range wrong {
		t.Error(w)
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

// TestRulesNameRealMetrics: every metric a rule names exists in a real scrape of the exporter or
// the reporter.
func TestRulesNameRealMetrics(t *testing.T) {
	families := scrapeSuite(t)
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
					t.Errorf("rule %s%s names %s, which neither the exporter nor the reporter serves", r.Alert, r.Record, name)
				}
			}
		}
	}
}

// scrapeSuite serves an exporter and a reporter on the package's test database and returns the
// metric families of their scrapes: the exporter's once every query has refreshed, the
// reporter's with the shipped reporter.yml once a job has run.
func scrapeSuite(t *testing.T) map[string]bool {
	t.Helper()
	d := testdb.Get(t)
	// Evaluated inside the seed's history, so every KPI has data; with one custom metric, so
	// the custom metrics' own self-metrics show too; with the models trained at start, so the
	// model and forecast metrics show.
	custom := filepath.Join(t.TempDir(), "custom.yml")
	if err := os.WriteFile(custom, []byte("metrics:\n  - name: bdc_custom_trainers\n    type: gauge\n    sql: select count(*) as n from bdc.users where role = 'trainer'\n    value: n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	at := d.Seed.End.Add(-24 * time.Hour)
	addr := testtools.ServeExporter(t, d.DB, exporter.Options{ConfigFile: custom, Now: func() time.Time { return at },
		Models: exporter.ModelOptions{TrainAtStart: true}})
	families := testtools.MetricFamilies(t, "http://"+addr+"/metrics")
	reporter := testtools.ServeReporter(t, d.URL, "../reporter/reporter.yml", "daily_export")
	for name := range testtools.MetricFamilies(t, "http://"+reporter+"/metrics") {
		families[name] = true
	}
	return families
}

var recordedRef = regexp.MustCompile(`\bbdc:[a-z0-9_:]+`)

// TestRecordedSeriesAreDefined: every recording rule an expression reads is recorded.
func TestRecordedSeriesAreDefined(t *testing.T) {
	rules := loadRules(t)
	recorded := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			for _, name := range recordedRef.FindAllString(r.Expr, -1) {
				if !recorded[name] {
					t.Errorf("rule %s%s reads %s, which no rule records", r.Alert, r.Record, name)
				}
			}
		}
	}
}

// anyKind accepts any job block: TestReportMaxAgesCoverSchedules reads reporter.yml's schedules,
// whatever kinds this build runs.
type anyKind struct{}

func (anyKind) Prepare(*schedule.Job, *yaml.Node, export.Lines, string) (schedule.Task, error) {
	return nil, nil
}

var vectorSeconds = regexp.MustCompile(`^vector\((\d+)\)$`)

// firingGaps returns the gaps between a job's consecutive firings over a year, and the most
// common of them (rounded to the hour).
func firingGaps(j *schedule.Job) (gaps []time.Duration, usual time.Duration) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, j.Location())
	count := map[time.Duration]int{}
	prev := j.Next(from)
	for next := j.Next(prev); next.Before(from.AddDate(1, 0, 0)); prev, next = next, j.Next(next) {
		gap := next.Sub(prev)
		gaps = append(gaps, gap)
		count[gap.Round(time.Hour)]++
		if count[gap.Round(time.Hour)] > count[usual] {
			usual = gap.Round(time.Hour)
		}
	}
	return gaps, usual
}

// loadReporterConfig reads the shipped reporter.yml, whatever job kinds this build runs.
func loadReporterConfig(t *testing.T) *schedule.Config {
	t.Helper()
	kinds := schedule.Kinds{}
	for _, k := range schedule.AllKinds {
		kinds[k] = anyKind{}
	}
	cfg, err := schedule.LoadConfig("../reporter/reporter.yml", kinds)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestReporterSchedulesSkipNoPeriod: no job of the shipped reporter.yml goes more than one and a
// half of its usual periods without a firing. A daily schedule inside the hour that daylight
// saving time skips fires on no day that night: that day's export is never made, and
// BDCReportMissing says so a day later.
func TestReporterSchedulesSkipNoPeriod(t *testing.T) {
	for _, j := range loadReporterConfig(t).Jobs {
		if !j.IsEnabled() {
			continue
		}
		gaps, usual := firingGaps(j)
		for _, gap := range gaps {
			if gap > usual*3/2 {
				t.Errorf("job %s (%q in %s) goes %s without a firing once a year, against %s usually: a firing time that does not exist on the day clocks change is skipped; schedule it outside 02:00-03:00",
					j.Name, j.Schedule, j.Location(), gap, usual)
			}
		}
	}
}

// TestReportMaxAgesCoverSchedules: every job of the shipped reporter.yml has a line in the
// table BDCReportMissing reads, no shorter than the longest regular gap between two of its
// firings over a year (daylight saving time included) plus its attempts and backoffs, and no
// more than a day longer, so a missed firing is noticed within a day.
func TestReportMaxAgesCoverSchedules(t *testing.T) {
	maxAge := map[string]time.Duration{}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Record != "bdc:reporter_job_max_success_age:seconds" {
				continue
			}
			m := vectorSeconds.FindStringSubmatch(strings.TrimSpace(r.Expr))
			if m == nil || r.Labels["job"] == "" {
				t.Fatalf("max age of job %q: expr %q, want vector(<seconds>) with a job label", r.Labels["job"], r.Expr)
			}
			s, _ := strconv.Atoi(m[1])
			maxAge[r.Labels["job"]] = time.Duration(s) * time.Second
		}
	}
	cfg := loadReporterConfig(t)
	for _, j := range cfg.Jobs {
		if !j.IsEnabled() {
			continue
		}
		// Skipped firings are TestReporterSchedulesSkipNoPeriod's.
		var gap time.Duration
		gaps, usual := firingGaps(j)
		for _, g := range gaps {
			if g <= usual*3/2 {
				gap = max(gap, g)
			}
		}
		backoff := cfg.Defaults.Backoff
		if j.Backoff != nil && j.Backoff.Max > 0 {
			backoff = *j.Backoff
		}
		jitter := 0.0
		if backoff.Jitter != nil {
			jitter = *backoff.Jitter
		}
		retries := j.MaxAttempts() - 1
		attempts := time.Duration(j.MaxAttempts())*time.Duration(j.Timeout) +
			time.Duration(float64(retries)*float64(backoff.Max)*(1+jitter))
		got, ok := maxAge[j.Name]
		switch {
		case !ok:
			t.Errorf("job %s has no bdc:reporter_job_max_success_age:seconds line in rules/reporter.yml", j.Name)
		case got < gap+attempts:
			t.Errorf("job %s: max success age %s, but its firings are up to %s apart and its attempts take up to %s", j.Name, got, gap, attempts)
		case got > gap+attempts+24*time.Hour:
			t.Errorf("job %s: max success age %s is more than a day over its longest gap %s and attempts %s", j.Name, got, gap, attempts)
		}
	}
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
