package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/predict"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

// Scrapes per measurement. The peers that query on scrape get fewer: each of their scrapes runs
// every KPI query.
const (
	scrapes       = 300
	peerScrapes   = 10
	scrapeTimeout = 5 * time.Minute
)

// BenchmarkExporterScrape serves the KPI catalogue at the demo scale and at BDC_BENCH_USERS
// users with bdc-exporter and with the two exporters a user would otherwise run the same SQL
// with: prometheus-community's postgres_exporter (custom queries, run on every scrape) and
// justwatchcom's sql_exporter (queries run on an interval). It reports scrape latency p50 and
// p99, and for bdc-exporter the refresh duration of each KPI group.
func BenchmarkExporterScrape(b *testing.B) {
	demoScale := demo.Config{Users: demo.DefaultUsers, Days: platformDays, Seed: platformSeed, End: platformEnd}
	for _, cfg := range []demo.Config{demoScale, platformConfig(b)} {
		d := PlatformFor(b, cfg)
		// The rollups the reporter keeps fresh in production, which two KPIs read.
		if _, err := analytics.RefreshRollups(context.Background(), d.DB); err != nil {
			b.Fatal(err)
		}
		if cfg.Users == demo.DefaultUsers {
			// The demo's models, as `bdc-exporter demo` trains them, so that the scrape carries
			// the model and forecast families. The large platform keeps the registry it has.
			if _, err := predict.NewStore(d.DB).RunJob(context.Background(), predict.JobOptions{Now: scrapeAt}); err != nil {
				b.Fatal(err)
			}
		}
		var ours, pgExp, sqlExp latency
		b.Run(fmt.Sprintf("bdc-exporter/users=%d", cfg.Users), func(b *testing.B) { ours = benchOurs(b, d, cfg.Users) })
		b.Run(fmt.Sprintf("postgres_exporter/users=%d", cfg.Users), func(b *testing.B) { pgExp = benchPostgresExporter(b, d) })
		b.Run(fmt.Sprintf("sql_exporter/users=%d", cfg.Users), func(b *testing.B) { sqlExp = benchSQLExporter(b, d) })
		for _, peer := range []struct {
			name string
			lat  latency
		}{{"postgres_exporter", pgExp}, {"sql_exporter", sqlExp}} {
			for _, m := range []struct {
				metric     string
				ours, peer float64
			}{{"scrape p50", ours.p50, peer.lat.p50}, {"scrape p99", ours.p99, peer.lat.p99}} {
				record(b, Result{Area: "Exporter scrape", Case: "KPI catalogue /metrics", Scale: fmt.Sprintf("users=%d", cfg.Users),
					Metric: m.metric, Unit: "ms", Ours: m.ours, OursName: "bdc-exporter", Peer: m.peer, PeerName: peer.name, LowerIsBetter: true})
			}
		}
	}
}

// latency is a scrape latency measurement, in milliseconds.
type latency struct{ p50, p99 float64 }

// scrapeAt is the instant the KPIs are evaluated at: the platforms' last hour.
var scrapeAt = platformEnd.Add(-time.Hour)

func benchOurs(b *testing.B, d *testdb.Database, users int) latency {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	exp, err := exporter.New(d.DB, logger, exporter.Options{Now: func() time.Time { return scrapeAt }})
	if err != nil {
		b.Fatal(err)
	}
	handler, err := exp.Handler("/metrics")
	if err != nil {
		b.Fatal(err)
	}
	addr := freeAddr(b)
	go exp.Run(ctx)
	go func() {
		_ = exporter.Serve(ctx, handler, &web.FlagConfig{WebListenAddresses: &[]string{addr}, WebSystemdSocket: new(bool), WebConfigFile: new(string)}, logger)
	}()
	url := "http://" + addr
	waitUntil(b, func() bool { return get(url+"/-/ready") == nil })
	body, err := fetch(url + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	lat := measure(b, url+"/metrics", scrapes) // resets reported metrics: report the refresh after
	refresh := refreshByGroup(b, body)
	for group, seconds := range refresh {
		b.ReportMetric(seconds*1000, "refresh-"+string(group)+"-ms")
	}
	for _, group := range slices.Sorted(maps.Keys(refresh)) {
		record(b, Result{Area: "Exporter scrape", Case: "KPI refresh, group " + string(group), Scale: fmt.Sprintf("users=%d", users),
			Metric: "refresh", Unit: "ms", Ours: refresh[group] * 1000, OursName: "bdc-exporter", LowerIsBetter: true})
	}
	return lat
}

// refreshByGroup sums bdc_exporter_query_duration_seconds over the KPIs of each group.
func refreshByGroup(b *testing.B, body string) map[kpi.Group]float64 {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	out := map[kpi.Group]float64{}
	for _, m := range families["bdc_exporter_query_duration_seconds"].GetMetric() {
		if def, ok := kpi.ByName(m.Label[0].GetValue()); ok {
			out[def.Group] += m.Gauge.GetValue()
		}
	}
	return out
}

// peerKPIs are the KPIs the peers run: gauges and counters (neither peer builds a histogram from
// raw observations), with the parameters inlined (the evaluation instant is scrapeAt, as ours).
func peerKPIs() []kpi.Definition {
	inline := strings.NewReplacer(
		"$1::timestamptz", "'"+scrapeAt.Format(time.RFC3339)+"'::timestamptz", "$2::text", "'"+kpi.DefaultTimeZone+"'",
		"$3::text[]", "null::text[]", "$4::text[]", "null::text[]", "$5::bigint[]", "null::bigint[]", "$6::text[]", "null::text[]")
	var out []kpi.Definition
	for _, d := range kpi.All() {
		if d.Kind == kpi.Histogram {
			continue
		}
		cols := make([]string, 0, len(d.Labels)+1)
		for _, c := range append(slices.Clone(d.Labels), "value") {
			cols = append(cols, pgx.Identifier{c}.Sanitize()) // "window" is a reserved word
		}
		d.SQL = fmt.Sprintf("select * from (%s) as k(%s)", inline.Replace(d.SQL), strings.Join(cols, ", "))
		if regexp.MustCompile(`\$[0-9]`).MatchString(d.SQL) {
			panic("parameter left in " + d.Name)
		}
		out = append(out, d)
	}
	return out
}

func benchPostgresExporter(b *testing.B, d *testdb.Database) latency {
	bin := testtools.Path(b, "prometheus-postgres-exporter")
	var q strings.Builder
	for _, def := range peerKPIs() {
		usage := "GAUGE"
		if def.Kind == kpi.Counter {
			usage = "COUNTER"
		}
		fmt.Fprintf(&q, "%s:\n  query: %s\n  metrics:\n", strings.TrimPrefix(def.Name, "bdc_"), strconv.Quote(def.SQL))
		for _, l := range def.Labels {
			fmt.Fprintf(&q, "    - %s:\n        usage: LABEL\n        description: %s\n", l, l)
		}
		fmt.Fprintf(&q, "    - value:\n        usage: %s\n        description: %s\n", usage, strconv.Quote(def.Help))
	}
	path := filepath.Join(b.TempDir(), "queries.yml")
	if err := os.WriteFile(path, []byte(q.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	addr := freeAddr(b)
	runPeer(b, exec.Command(bin, "--disable-default-metrics", "--disable-settings-metrics",
		"--extend.query-path="+path, "--web.listen-address="+addr), "DATA_SOURCE_NAME="+d.URL)
	url := "http://" + addr + "/metrics"
	waitUntil(b, func() bool { body, err := fetch(url); return err == nil && strings.Contains(body, "users_active") })
	return measure(b, url, peerScrapes)
}

func benchSQLExporter(b *testing.B, d *testdb.Database) latency {
	bin := testtools.Path(b, "prometheus-sql-exporter")
	var c strings.Builder
	fmt.Fprintf(&c, "jobs:\n- name: bdc\n  interval: 5m\n  connections:\n  - %s\n  queries:\n", strconv.Quote(d.URL))
	for _, def := range peerKPIs() {
		fmt.Fprintf(&c, "  - name: %s\n    help: %s\n    labels: [%s]\n    values: [value]\n    query: %s\n",
			strings.TrimPrefix(def.Name, "bdc_"), strconv.Quote(def.Help), strings.Join(def.Labels, ", "), strconv.Quote(def.SQL))
	}
	path := filepath.Join(b.TempDir(), "sql_exporter.yml")
	if err := os.WriteFile(path, []byte(c.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	addr := freeAddr(b)
	runPeer(b, exec.Command(bin, "-config.file="+path, "-web.listen-address="+addr))
	url := "http://" + addr + "/metrics"
	waitUntil(b, func() bool { body, err := fetch(url); return err == nil && strings.Contains(body, "users_active") })
	return measure(b, url, scrapes)
}

func runPeer(b *testing.B, cmd *exec.Cmd, env ...string) {
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
}

// measure scrapes url n times in a row, reports the latency percentiles and returns them.
func measure(b *testing.B, url string, n int) latency {
	lat := make([]time.Duration, 0, n)
	b.ResetTimer()
	for range n {
		begin := time.Now()
		if _, err := fetch(url); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(begin))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(n), "scrapes")
	return latency{p50: pct(0.50), p99: pct(0.99)}
}

var client = &http.Client{Timeout: scrapeTimeout}

func fetch(url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(body), err
}

func get(url string) error {
	_, err := fetch(url)
	return err
}

func waitUntil(b *testing.B, cond func() bool) {
	deadline := time.Now().Add(10 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatal("gave up waiting")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freeAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
