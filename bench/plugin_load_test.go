package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/bdc-analytics/bdc/datasource-plugin/pkg/grafanahost"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

// The plugin's load: concurrent clients of one plugin process, each sending a fixed number of
// QueryData calls, most of them answered from the result cache (dashboards reopened within the
// cache's TTL) and one in pluginLoadColdEvery computed (a panel's range moved).
const (
	pluginLoadCalls     = 24
	pluginLoadColdEvery = 8
)

// pluginLoadClients are the concurrency levels; the first is the reference the others compare to.
var pluginLoadClients = []int{1, 4, 16}

// pluginLoadWarm are the kinds served from the cache: every analytics kind, a forecast and a KPI,
// on the 90-day panel. The KPI is bdc_users (a count by role at each of the 91 days) rather than
// BenchmarkPluginQueryData's bdc_users_active, whose 110 s at 100,000 users would be most of
// this benchmark's time spent filling the cache.
var pluginLoadWarm = []struct{ kind, json string }{
	{"kpi", `{"kpi": "bdc_users"}`},
	{"retention", `{"period": "week", "totalIntervals": 8}`},
	{"funnel", `{"series": ["signup", "appointment_booked", "appointment_completed"]}`},
	{"paths", `{"stepLimit": 5, "edgeLimit": 50}`},
	{"lifecycle", `{"interval": "week"}`},
	{"stickiness", `{"period": "week"}`},
	{"engagement", `{"limit": 10}`},
	{"segments", `{"method": "rfm"}`},
	{"feature_usage", `{"period": "week"}`},
	{"activity_heatmap", `{}`},
	{"forecast", `{"series": "appointments", "horizon": 28}`},
}

// pluginLoadCold are the kinds computed under load, each time on a range no call has used before
// (so a cache miss): the ones under a second at 100,000 users in BenchmarkPluginQueryData, so
// that the 16 clients' cold calls fit the benchmark's three minutes.
var pluginLoadCold = []struct{ kind, json string }{
	{"retention", `{"period": "week", "totalIntervals": 8}`},
	{"funnel", `{"series": ["signup", "appointment_booked", "appointment_completed"]}`},
	{"lifecycle", `{"interval": "week"}`},
	{"segments", `{"method": "rfm"}`},
	{"forecast", `{"series": "appointments", "horizon": 28}`},
}

// loadFigures are one concurrency level's results.
type loadFigures struct {
	warmP50, warmP99, coldP50, coldP99 float64 // milliseconds
	perSecond                          float64 // QueryData calls answered per second, warm and cold
}

// BenchmarkPluginLoad measures the built plugin, launched as Grafana launches it, under C
// concurrent clients (1, 4 and 16) sharing its one gRPC connection, as Grafana's users share
// Grafana's: each client sends pluginLoadCalls QueryData calls one after the other, one in
// pluginLoadColdEvery a cold query (a range never asked before, so computed by PostgreSQL through
// the instance's pool of 8 connections) and the others warm (cached) ones over every kind. It
// reports the warm and cold p50 and p99 and the calls per second, and records each level against
// the single client's figures (peer "1 client"), so the ratio is what the concurrency does: above
// 1, better than alone. It runs on the benchmark platform (BDC_BENCH_USERS users); the cache is
// filled once before the levels, and that time is logged, not measured.
func BenchmarkPluginLoad(b *testing.B) {
	d := Platform(b)
	ctx := context.Background()
	end := d.Seed.End
	logRollup(b, d)

	host := launchPlugin(b)
	pc, err := grafanahost.PluginContext(d.URL, "bench-load", map[string]any{"maxRows": 1_000_000, "queryTimeout": 600, "cacheTTL": 3600})
	if err != nil {
		b.Fatal(err)
	}
	query := func(kind, js string, r backend.TimeRange) backend.DataQuery {
		return backend.DataQuery{RefID: "A", QueryType: kind, JSON: json.RawMessage(js), TimeRange: r, Interval: 24 * time.Hour, MaxDataPoints: 100}
	}
	call := func(ctx context.Context, q backend.DataQuery) error {
		resp, err := host.QueryData(ctx, pc, q)
		if err != nil {
			return err
		}
		dr := resp.Responses[q.RefID]
		if dr.Error != nil {
			return fmt.Errorf("%s: %w", q.QueryType, dr.Error)
		}
		if len(dr.Frames) == 0 {
			return fmt.Errorf("%s: no frames", q.QueryType)
		}
		return nil
	}
	begin := time.Now()
	for _, w := range pluginLoadWarm {
		if err := call(ctx, query(w.kind, w.json, pluginRange(end))); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("cache filled with the %d warm queries in %s", len(pluginLoadWarm), time.Since(begin).Round(time.Millisecond))

	// Every cold call ends one more day before the platform's end than the previous one, across
	// levels and iterations: no two share a cache key.
	var cold atomic.Int64
	scale := fmt.Sprintf("users=%d", d.Seed.Users)
	var alone *loadFigures
	for _, clients := range pluginLoadClients {
		b.Run(fmt.Sprintf("clients=%d/users=%d", clients, d.Seed.Users), func(b *testing.B) {
			for range b.N {
				var (
					mu         sync.Mutex
					warm, slow []time.Duration
					errs       []error
					wg         sync.WaitGroup
				)
				begin := time.Now()
				for c := range clients {
					wg.Go(func() {
						for i := range pluginLoadCalls {
							var q backend.DataQuery
							isCold := i%pluginLoadColdEvery == pluginLoadColdEvery-1
							if isCold {
								k := pluginLoadCold[(c+i/pluginLoadColdEvery)%len(pluginLoadCold)]
								to := end.AddDate(0, 0, -int(cold.Add(1)))
								q = query(k.kind, k.json, backend.TimeRange{From: to.AddDate(0, 0, -90), To: to})
							} else {
								w := pluginLoadWarm[(c+i)%len(pluginLoadWarm)]
								q = query(w.kind, w.json, pluginRange(end))
							}
							start := time.Now()
							err := call(ctx, q)
							took := time.Since(start)
							mu.Lock()
							switch {
							case err != nil:
								errs = append(errs, fmt.Errorf("client %d, call %d: %w", c, i, err))
							case isCold:
								slow = append(slow, took)
							default:
								warm = append(warm, took)
							}
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				elapsed := time.Since(begin)
				if err := errors.Join(errs...); err != nil {
					b.Fatal(err)
				}
				f := loadFigures{
					warmP50: loadPercentile(warm, 0.50), warmP99: loadPercentile(warm, 0.99),
					coldP50: loadPercentile(slow, 0.50), coldP99: loadPercentile(slow, 0.99),
					perSecond: float64(clients*pluginLoadCalls) / elapsed.Seconds(),
				}
				b.ReportMetric(f.warmP50, "warm-p50-ms")
				b.ReportMetric(f.warmP99, "warm-p99-ms")
				b.ReportMetric(f.coldP50, "cold-p50-ms")
				b.ReportMetric(f.coldP99, "cold-p99-ms")
				b.ReportMetric(f.perSecond, "queries/s")
				b.Logf("%s × %d calls (%d warm, %d cold) in %s", loadCase(clients), pluginLoadCalls, len(warm), len(slow), elapsed.Round(time.Millisecond))
				recordLoad(b, clients, scale, f, alone)
				if clients == pluginLoadClients[0] {
					alone = &f
				}
			}
		})
	}
}

// recordLoad adds a concurrency level's rows to `make bench`'s results: against the single
// client's figures when they were measured in this run, alone otherwise (the single client
// itself, or a run that selected only other levels).
func recordLoad(b *testing.B, clients int, scale string, f loadFigures, alone *loadFigures) {
	rows := []struct {
		metric, unit string
		ours         float64
		peer         func(loadFigures) float64
	}{
		{"warm p50", "ms", f.warmP50, func(a loadFigures) float64 { return a.warmP50 }},
		{"warm p99", "ms", f.warmP99, func(a loadFigures) float64 { return a.warmP99 }},
		{"cold p50", "ms", f.coldP50, func(a loadFigures) float64 { return a.coldP50 }},
		{"cold p99", "ms", f.coldP99, func(a loadFigures) float64 { return a.coldP99 }},
		{"queries/s", "queries/s", f.perSecond, func(a loadFigures) float64 { return a.perSecond }},
	}
	for _, r := range rows {
		res := Result{Area: "Plugin load", Case: loadCase(clients), Scale: scale, Metric: r.metric, Unit: r.unit,
			Ours: r.ours, OursName: "plugin over gRPC, " + loadCase(clients), LowerIsBetter: r.unit == "ms"}
		if alone != nil && clients != 1 {
			res.Peer, res.PeerName = r.peer(*alone), loadCase(1)
		}
		record(b, res)
	}
}

// loadCase names a concurrency level: "1 client", "16 clients".
func loadCase(clients int) string {
	if clients == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d clients", clients)
}

// loadPercentile is the nearest-rank percentile p (0 to 1) of ds, in milliseconds.
func loadPercentile(ds []time.Duration, p float64) float64 {
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d.Microseconds()) / 1000
	}
	if len(ms) == 0 {
		return 0
	}
	return testtools.Percentile(ms, 100*p)
}
