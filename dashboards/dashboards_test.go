// Package dashboards holds the Grafana dashboards and their provisioning; this test checks them
// against the real components: each PromQL expression parses in a real Prometheus and names
// metrics a real scrape of the exporter or the reporter serves (or series the repository's rules
// record), each plugin query is accepted by the plugin's own backend, and each datasource a
// dashboard uses is provisioned.
package dashboards

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"go.yaml.in/yaml/v3"

	"github.com/bdc-analytics/bdc/datasource-plugin/pkg/plugin"
	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/predict"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

func TestMain(m *testing.M) { testdb.Main(m) }

type target struct {
	RefID      string          `json:"refId"`
	Expr       string          `json:"expr"`
	QueryType  string          `json:"queryType"`
	Datasource json.RawMessage `json:"datasource"`
	raw        json.RawMessage
}

type panel struct {
	Title      string          `json:"title"`
	Type       string          `json:"type"`
	Datasource json.RawMessage `json:"datasource"`
	Targets    []json.RawMessage
	Panels     []panel `json:"panels"`
}

type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name    string `json:"name"`
			Type    string `json:"type"`
			Query   any    `json:"query"`
			Current struct {
				Value any `json:"value"`
			} `json:"current"`
		} `json:"list"`
	} `json:"templating"`
	file string
}

func loadDashboards(t *testing.T) []dashboard {
	t.Helper()
	files, _ := filepath.Glob("*.json")
	if len(files) < 7 {
		t.Fatalf("only %d dashboards", len(files))
	}
	var out []dashboard
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		d.file = f
		out = append(out, d)
	}
	return out
}

// targets lists every query of a dashboard with the panel it belongs to.
func (d dashboard) targets(t *testing.T) map[string]target {
	out := map[string]target{}
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, raw := range p.Targets {
				var tg target
				if err := json.Unmarshal(raw, &tg); err != nil {
					t.Fatalf("%s: %s: %v", d.file, p.Title, err)
				}
				tg.raw = raw
				out[p.Title+"/"+tg.RefID] = tg
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// provisioned reads the datasource uids and types provisioned for Grafana.
func provisioned(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile("provisioning/datasources/bdc.yml")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, ds := range p.Datasources {
		out[ds.Type] = ds.UID
	}
	return out
}

// TestDatasourcesAreVariablesWithProvisionedDefaults: no hard-coded uid; each datasource
// variable defaults to a provisioned datasource of its type.
func TestDatasourcesAreVariablesWithProvisionedDefaults(t *testing.T) {
	uids := provisioned(t)
	seen := map[string]bool{}
	for _, d := range loadDashboards(t) {
		if d.UID == "" || d.Title == "" || seen[d.UID] {
			t.Errorf("%s: uid %q title %q (uids must be unique)", d.file, d.UID, d.Title)
		}
		seen[d.UID] = true
		vars := map[string]string{}
		for _, v := range d.Templating.List {
			if v.Type == "datasource" {
				typ, _ := v.Query.(string)
				if uids[typ] == "" || v.Current.Value != uids[typ] {
					t.Errorf("%s: variable %s defaults to %v, want the provisioned %s datasource %q", d.file, v.Name, v.Current.Value, typ, uids[typ])
				}
				vars["${"+v.Name+"}"] = typ
			}
		}
		for name, tg := range d.targets(t) {
			var ds struct{ Type, UID string }
			_ = json.Unmarshal(tg.Datasource, &ds)
			if vars[ds.UID] != ds.Type {
				t.Errorf("%s: %s uses datasource %+v: want a datasource variable of that type", d.file, name, ds)
			}
		}
	}
}

var (
	metricRef   = regexp.MustCompile(`\b(bdc_[a-z0-9_]+|up)\b`)
	recordedRef = regexp.MustCompile(`\bbdc:[a-z0-9_:]+`)
	variableRef = regexp.MustCompile(`\$\{?(\w+)\}?`)
)

// interpolate replaces template variables as Grafana would: Grafana's own interval variables
// with a duration, the dashboard's variables (label values in matchers) with a regular expression.
func interpolate(expr string) string {
	return variableRef.ReplaceAllStringFunc(expr, func(v string) string {
		if strings.HasPrefix(strings.Trim(v, "${}"), "__") {
			return "5m"
		}
		return ".*"
	})
}

// TestPromQLParsesAndNamesRealMetrics runs every expression against a real Prometheus (parse
// errors come back as bad_data) and checks its metrics against a real scrape of the exporter and
// the reporter.
func TestPromQLParsesAndNamesRealMetrics(t *testing.T) {
	families := scrapeSuite(t)
	prom := startPrometheus(t)
	for _, d := range loadDashboards(t) {
		for name, tg := range d.targets(t) {
			if tg.Expr == "" {
				continue
			}
			expr := interpolate(tg.Expr)
			resp, err := http.Get(prom + "/api/v1/query?query=" + url.QueryEscape(expr))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s: %s: %s", d.file, name, body)
			}
			for _, m := range metricRef.FindAllString(expr, -1) {
				base := m
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(m, suffix); ok && families[b] {
						base = b
					}
				}
				if m != "up" && !families[base] {
					t.Errorf("%s: %s names %s, which neither the exporter nor the reporter serves", d.file, name, m)
				}
			}
		}
	}
}

// TestRecordedSeriesAreRecorded: every recording rule's series a dashboard reads is recorded by a
// rule of alerts/rules, which prometheus.yml loads.
func TestRecordedSeriesAreRecorded(t *testing.T) {
	recorded := map[string]bool{}
	files, _ := filepath.Glob("../alerts/rules/*.yml")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rf struct {
			Groups []struct {
				Rules []struct {
					Record string `yaml:"record"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		if err := yaml.Unmarshal(raw, &rf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				recorded[r.Record] = true
			}
		}
	}
	used := 0
	for _, d := range loadDashboards(t) {
		for name, tg := range d.targets(t) {
			for _, rec := range recordedRef.FindAllString(tg.Expr, -1) {
				used++
				if !recorded[rec] {
					t.Errorf("%s: %s reads %s, which no rule of alerts/rules records", d.file, name, rec)
				}
			}
		}
	}
	if used == 0 {
		t.Error("no dashboard reads a recorded series: the test checks nothing")
	}
}

// TestPluginQueriesAreAccepted sends every plugin query of every dashboard to the plugin's own
// backend on a seeded database: none may be refused as invalid.
func TestPluginQueriesAreAccepted(t *testing.T) {
	d := testdb.Get(t)
	u, _ := url.Parse(d.URL)
	js, _ := json.Marshal(map[string]any{"host": u.Host, "database": strings.TrimPrefix(u.Path, "/"), "user": "postgres", "sslmode": "disable", "cacheTTL": 0})
	inst, err := plugin.NewDatasource(context.Background(), backend.DataSourceInstanceSettings{UID: "bdc-analytics", JSONData: js})
	if err != nil {
		t.Fatal(err)
	}
	ds := inst.(*plugin.Datasource)
	defer ds.Dispose()
	// The predictive kinds read the model registry and the forecasts: fill them as the
	// reporter's train job does (its retraining policy skips models already trained).
	if _, err := predict.NewStore(d.DB).RunJob(t.Context(), predict.JobOptions{Now: d.Seed.End.Add(-24 * time.Hour)}); err != nil {
		t.Fatalf("train job: %v", err)
	}
	history := backend.TimeRange{From: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 5, 25, 0, 0, 0, 0, time.UTC)}
	checked := 0
	for _, dash := range loadDashboards(t) {
		for name, tg := range dash.targets(t) {
			if tg.QueryType == "" {
				continue
			}
			// Grafana's frontend interpolates template variables before the backend sees them.
			raw := strings.ReplaceAll(string(tg.raw), `"$region"`, `"ile-de-france"`)
			resp, err := ds.QueryData(t.Context(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{
				RefID: tg.RefID, QueryType: tg.QueryType, JSON: json.RawMessage(raw), TimeRange: history, Interval: 24 * time.Hour, MaxDataPoints: 100,
			}}})
			if err != nil {
				t.Fatal(err)
			}
			if dr := resp.Responses[tg.RefID]; dr.Error != nil {
				t.Errorf("%s: %s: %v", dash.file, name, dr.Error)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Error("no plugin query in the dashboards")
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

// startPrometheus runs a real Prometheus with an empty configuration, to parse expressions.
func startPrometheus(t *testing.T) string {
	t.Helper()
	bin := testtools.Path(t, "prometheus")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testtools.FreeAddr(t)
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+dir, "--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	waitOK(t, base+"/-/ready")
	return base
}

func waitOK(t *testing.T, u string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		r, err := http.Get(u)
		if err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never answered 200", u)
}
