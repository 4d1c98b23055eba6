package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/datasource-plugin/pkg/grafanahost"
	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/ml"
	"github.com/bdc-analytics/bdc/pkg/predict"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// Runs per measurement: cold runs compute the query each time (seconds at scale), warm runs are
// cache hits.
const (
	pluginColdRuns = 3
	pluginWarmRuns = 50
)

// pluginRange is the panels' range: the 90 days before the platform's end, at a daily interval.
func pluginRange(end time.Time) backend.TimeRange {
	return backend.TimeRange{From: end.AddDate(0, 0, -90), To: end}
}

// launchPlugin builds the plugin and launches it as Grafana does; it stops when the benchmark
// ends.
func launchPlugin(b *testing.B) *grafanahost.Host {
	b.Helper()
	binary, err := grafanahost.Build(b.Context(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	host, err := grafanahost.Launch(binary, b.Output())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(host.Close)
	return host
}

// pluginCase is a query type: its panel JSON, and the same work as a direct call into the
// package the plugin routes it to.
type pluginCase struct {
	kind, json string
	direct     func(ctx context.Context) error
}

// BenchmarkPluginQueryData measures the latency of QueryData for every query type through the
// built plugin over gRPC, launched as Grafana launches it (go-plugin, protocol 2): cold (the
// result cache off, so each query is computed) and warm (a cache hit), side by side with the same
// work done by a direct Go call into pkg/kpi, pkg/analytics and pkg/predict on the same database.
// Cold minus direct is what the plugin adds: decoding, frames, Arrow encoding and gRPC. It runs on
// the benchmark platform (BDC_BENCH_USERS users, the analytics benchmarks' scale), with the
// no-show model trained on it once (the train job's training, kept with the platform) when it has
// none. Reports p50 milliseconds of each.
func BenchmarkPluginQueryData(b *testing.B) {
	d := Platform(b)
	ctx := context.Background()
	end := d.Seed.End
	trainOnce(b, d)
	logRollup(b, d)

	host := launchPlugin(b)
	settings := map[string]any{"maxRows": 1_000_000, "queryTimeout": 600}
	cold, err := grafanahost.PluginContext(d.URL, "bench-cold", withSettings(settings, map[string]any{"cacheTTL": 0}))
	if err != nil {
		b.Fatal(err)
	}
	warm, err := grafanahost.PluginContext(d.URL, "bench-warm", withSettings(settings, map[string]any{"cacheTTL": 3600}))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range pluginCases(d, end) {
		q := backend.DataQuery{RefID: "A", QueryType: c.kind, JSON: json.RawMessage(c.json), TimeRange: pluginRange(end),
			Interval: 24 * time.Hour, MaxDataPoints: 100}
		b.Run(fmt.Sprintf("%s/users=%d", c.kind, d.Seed.Users), func(b *testing.B) {
			for range b.N {
				viaPlugin := func(pc *pluginv2.PluginContext) func(context.Context) error {
					return func(ctx context.Context) error {
						resp, err := host.QueryData(ctx, pc, q)
						if err != nil {
							return err
						}
						dr := resp.Responses[q.RefID]
						if dr.Error != nil {
							return dr.Error
						}
						if len(dr.Frames) == 0 {
							return errors.New("no frames")
						}
						return nil
					}
				}
				// Cold and direct alternate, so that both see the same load on the machine.
				var coldMs, directMs []float64
				for range pluginColdRuns {
					coldMs = append(coldMs, timed(ctx, b, viaPlugin(cold)))
					directMs = append(directMs, timed(ctx, b, c.direct))
				}
				timed(ctx, b, viaPlugin(warm)) // fills the cache
				var warmMs []float64
				for range pluginWarmRuns {
					warmMs = append(warmMs, timed(ctx, b, viaPlugin(warm)))
				}
				b.ReportMetric(median(coldMs), "cold-p50-ms")
				b.ReportMetric(median(warmMs), "warm-p50-ms")
				b.ReportMetric(median(directMs), "direct-p50-ms")
				b.ReportMetric(median(coldMs)-median(directMs), "overhead-p50-ms")
				scale := fmt.Sprintf("users=%d", d.Seed.Users)
				record(b, Result{Area: "Plugin QueryData", Case: c.kind, Scale: scale, Metric: "cold p50", Unit: "ms", Ours: median(coldMs),
					OursName: "plugin over gRPC, cache off", Peer: median(directMs), PeerName: "direct Go call", LowerIsBetter: true})
				record(b, Result{Area: "Plugin QueryData", Case: c.kind, Scale: scale, Metric: "warm p50", Unit: "ms", Ours: median(warmMs),
					OursName: "plugin over gRPC, cache hit", LowerIsBetter: true})
			}
		})
	}
}

// pluginCases are the query types with a typical panel's parameters, and their direct calls.
func pluginCases(d *testdb.Database, end time.Time) []pluginCase {
	eng := &analytics.Engine{DB: d.DB, Timeout: 10 * time.Minute}
	s := &predict.Store{DB: d.DB, Timeout: 10 * time.Minute}
	r := pluginRange(end)
	// analyticsCase decodes the panel JSON into the kind's query, as the plugin does, and runs it.
	analyticsCase := func(kind, js string, run func(ctx context.Context, raw []byte, q analytics.Query) error) pluginCase {
		return pluginCase{kind: kind, json: js, direct: func(ctx context.Context) error {
			return run(ctx, []byte(js), analytics.Query{From: r.From, To: r.To})
		}}
	}
	return []pluginCase{
		{kind: "kpi", json: `{"kpi": "bdc_users_active"}`, direct: func(ctx context.Context) error { return directKPI(ctx, d, r, "bdc_users_active") }},
		analyticsCase("retention", `{"period": "week", "totalIntervals": 8}`, func(ctx context.Context, raw []byte, base analytics.Query) error {
			q := analytics.RetentionQuery{}
			return runKind(ctx, raw, &q, &q.Query, base, eng.Retention)
		}),
		analyticsCase("funnel", `{"series": ["signup", "appointment_booked", "appointment_completed"]}`, func(ctx context.Context, raw []byte, base analytics.Query) error {
			q := analytics.FunnelQuery{}
			return runKind(ctx, raw, &q, &q.Query, base, eng.Funnel)
		}),
		analyticsCase("paths", `{"stepLimit": 5, "edgeLimit": 50}`, func(ctx context.Context, raw []byte, base analytics.Query) error {
			q := analytics.PathsQuery{}
			return runKind(ctx, raw, &q, &q.Query, base, eng.Paths)
		}),
		analyticsCase("lifecycle", `{"interval": "week"}`, func(ctx context.Context, raw []byte, base analytics.Query) error {
			q := analytics.LifecycleQuery{}
			return runKind(ctx, raw, &q, &q.Query, base, eng.Lifecycle)
		}),
		analyticsCase("stickiness", `{"period": "week"}`, func(ctx context.Context, raw []byte, base analytics.Query) error {
			q := analytics.StickinessQuery{}
			return runKind(ctx, raw, &q, &q.Query, base, eng.Stickiness)
		}),
		analyticsCase("engagement", `{"limit": 10}`, func(ctx context.Context, raw []byte, base analytics.Query) error {
			q := analytics.EngagementQuery{}
			return runKind(ctx, raw, &q, &q.Query, base, eng.Engagement)
		}),
		analyticsCase("segments", `{"method": "rfm"}`, func(ctx context.Context, raw []byte, base analytics.Query) error {
			q := analytics.SegmentsQuery{}
			return runKind(ctx, raw, &q, &q.Query, base, eng.Segments)
		}),
		analyticsCase("feature_usage", `{"period": "week"}`, func(ctx context.Context, raw []byte, base analytics.Query) error {
			q := analytics.FeatureUsageQuery{}
			return runKind(ctx, raw, &q, &q.Query, base, eng.FeatureUsage)
		}),
		analyticsCase("activity_heatmap", `{}`, func(ctx context.Context, raw []byte, base analytics.Query) error {
			q := analytics.HeatmapQuery{}
			return runKind(ctx, raw, &q, &q.Query, base, eng.Heatmap)
		}),
		{kind: "forecast", json: `{"series": "appointments", "horizon": 28}`, direct: func(ctx context.Context) error {
			if _, err := s.Forecast(ctx, predict.SeriesAppointments, predict.ForecastOptions{Now: end, Horizon: 28, BacktestOrigins: -1}); err != nil {
				return err
			}
			_, err := s.Series(ctx, predict.SeriesAppointments, r.From, end)
			return err
		}},
		{kind: "predictions", json: `{"model": "noshow", "horizon": 7, "threshold": 0.5, "limit": 100}`, direct: func(ctx context.Context) error {
			_, err := s.ScoreUpcomingAppointments(ctx, end, 7, predict.DefaultFactors)
			return err
		}},
		{kind: "model_performance", json: `{"model": "noshow"}`, direct: func(ctx context.Context) error {
			return directPerformance(ctx, s, predict.NoShow, end)
		}},
	}
}

// runKind decodes raw into q, sets the range of its base query and runs it.
func runKind[Q, R any](ctx context.Context, raw []byte, q *Q, base *analytics.Query, from analytics.Query, run func(context.Context, Q) (R, error)) error {
	if err := json.Unmarshal(raw, q); err != nil {
		return err
	}
	base.From, base.To = from.From, from.To
	_, err := run(ctx, *q)
	return err
}

// directKPI evaluates a KPI at the instants the plugin draws it at (daily over the range: 91),
// batched in one read-only transaction.
func directKPI(ctx context.Context, d *testdb.Database, r backend.TimeRange, name string) error {
	def, ok := kpi.ByName(name)
	if !ok {
		return fmt.Errorf("no KPI %s", name)
	}
	return d.DB.ReadOnly(ctx, 10*time.Minute, func(ctx context.Context, tx pgx.Tx) error {
		batch := &pgx.Batch{}
		for at := r.From; !at.After(r.To); at = at.Add(24 * time.Hour) {
			batch.Queue(def.Query(), def.Args(kpi.Params{At: at})...).Query(func(rows pgx.Rows) error {
				for rows.Next() {
					vals, err := rows.Values()
					if err != nil {
						return err
					}
					if _, err := def.ParseRow(vals); err != nil {
						return err
					}
				}
				return rows.Err()
			})
		}
		return tx.SendBatch(ctx, batch).Close()
	})
}

// directPerformance reads a model's registry rows and drift, and scores its recently labelled
// rows into a reliability curve: the model_performance query's work.
func directPerformance(ctx context.Context, s *predict.Store, model string, end time.Time) error {
	if _, err := s.Versions(ctx, model, 0); err != nil {
		return err
	}
	if _, err := s.LatestDrift(ctx, model); err != nil && !errors.Is(err, predict.ErrNoRows) {
		return err
	}
	v, err := s.LatestPromoted(ctx, model)
	if err != nil {
		return err
	}
	f, err := s.Labelled(ctx, model, end.AddDate(0, 0, -28), end)
	if err != nil {
		return err
	}
	ds, err := v.Schema.Encode(f)
	if err != nil {
		return err
	}
	scores, err := ml.Scores(v.Fitted, ds)
	if err != nil {
		return err
	}
	_, err = ml.ReliabilityCurve(f.Y, scores, predict.CalibrationBins)
	return err
}

// trainOnce trains and registers the no-show model on the platform at its end, as the reporter's
// train job does, unless a version is already promoted: the registry is kept with the platform.
func trainOnce(b *testing.B, d *testdb.Database) {
	ctx := context.Background()
	s := predict.NewStore(d.DB)
	v, err := s.LatestPromoted(ctx, predict.NoShow)
	if err == nil {
		b.Logf("no-show model: version %d, trained %s, kept from an earlier run", v.Version, v.TrainedAt.Format(time.RFC3339))
		return
	}
	if !errors.Is(err, predict.ErrNoModel) {
		b.Fatal(err)
	}
	begin := time.Now()
	res, err := s.Train(ctx, predict.NoShow, predict.TrainOptions{Now: d.Seed.End})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Register(ctx, res, d.Seed.End); err != nil {
		b.Fatal(err)
	}
	b.Logf("no-show model trained on %d rows in %s", res.Rows.Train+res.Rows.Valid+res.Rows.Test, time.Since(begin).Round(time.Second))
}

// logRollup says how far the activity rollup goes: activity queries, in the plugin and direct
// alike, read it for the days it covers.
func logRollup(b *testing.B, d *testdb.Database) {
	var until *time.Time
	err := d.DB.Pool.QueryRow(context.Background(), "select covered_until from bdc_analytics.rollup_watermark where rollup = $1", analytics.RollupName).Scan(&until)
	switch {
	case err != nil:
		b.Logf("activity rollup: %v", err)
	case until == nil:
		b.Log("activity rollup: none (activity queries read raw rows)")
	default:
		b.Logf("activity rollup: covers days before %s", until.Format(time.DateOnly))
	}
}

// timed runs fn once and returns its wall time in milliseconds.
func timed(ctx context.Context, b *testing.B, fn func(context.Context) error) float64 {
	begin := time.Now()
	if err := fn(ctx); err != nil {
		b.Fatal(err)
	}
	return float64(time.Since(begin).Microseconds()) / 1000
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// withSettings is a copy of a with b set over it.
func withSettings(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
