package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/bench/cmd/benchreport/results"
	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/store"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// The analytics benchmark (issue #4): every kind of pkg/analytics on the persistent benchmark
// platform, cold and warm, side by side in the same run with pandas (bench/peers/analytics.py,
// reading the raw rows from the same database) and with the naive SQL a user would write against
// the raw tables, each peer's result checked equal to ours cell by cell (counts exactly,
// fractional values to 1e-9).
//
// The queries are the panels of the user behaviour dashboard (dashboards/bdc-behaviour.json)
// over the last year or quarter of the platform's history.

// cells is a result flattened to named values ("n//2025-06-02/3"), the form in which ours, pandas'
// and the naive SQL's results are compared.
type cells map[string]float64

// analyticsCase is one query of the benchmark.
type analyticsCase struct {
	name string
	// span names the range, "year" or "quarter", for the table.
	span     string
	from, to time.Time
	// ours runs the query with the engine and flattens its result.
	ours func(ctx context.Context, e *analytics.Engine) (cells, error)
	// naive is the SQL a user would write against the raw tables ($1 from, $2 to), returning
	// (cell name, value) rows; "" when SQL cannot compute the kind (k-means).
	naive string
	// pandas is the peer's kind and parameters (from, to and tz are added).
	pandas       string
	pandasParams map[string]any
	// note explains what the comparison covers when it is not the whole result.
	note string
}

// analyticsRanges are the benchmark's ranges: the last year and the last quarter of history.
func analyticsRanges() (year, quarter analytics.Query) {
	end := platformEnd
	return analytics.Query{From: end.AddDate(-1, 0, 0), To: end}, analytics.Query{From: end.AddDate(0, -3, 0), To: end}
}

func mustEvent(s string) analytics.Event {
	e, err := analytics.ParseEvent(s)
	if err != nil {
		panic(err)
	}
	return e
}

func analyticsCases() []analyticsCase {
	year, quarter := analyticsRanges()
	day := func(t time.Time) string { return t.In(demo.Location).Format(time.DateOnly) }
	programme := []string{"signup", "appointment_booked", "appointment_completed", "evaluation_completed", "programme_completed"}
	booking := []string{"activity:login", "feature:calendar", "activity:booking"}
	events := func(names []string) []analytics.Event {
		out := make([]analytics.Event, len(names))
		for i, n := range names {
			out[i] = mustEvent(n)
		}
		return out
	}
	peerSteps := func(names []string) []map[string]string {
		out := make([]map[string]string, len(names))
		for i, n := range names {
			e := mustEvent(n)
			out[i] = map[string]string{"kind": string(e.Kind), "activityType": e.ActivityType, "feature": e.Feature}
		}
		return out
	}
	return []analyticsCase{
		{
			name: "retention", span: "year", from: year.From, to: year.To,
			ours: func(ctx context.Context, e *analytics.Engine) (cells, error) {
				r, err := e.Retention(ctx, analytics.RetentionQuery{Query: year, Period: "week", TotalIntervals: 8})
				if err != nil {
					return nil, err
				}
				return retentionCells(r, day), nil
			},
			naive:        naiveRetentionWeekly,
			pandas:       "retention",
			pandasParams: map[string]any{"period": "week", "totalIntervals": 8, "returning": "activity"},
		},
		{
			name: "retention_by_channel", span: "year", from: year.From, to: year.To,
			ours: func(ctx context.Context, e *analytics.Engine) (cells, error) {
				r, err := e.Retention(ctx, analytics.RetentionQuery{Query: year, Period: "month", TotalIntervals: 6,
					ReturningEntity: mustEvent("appointment_completed"), Breakdown: analytics.BreakdownAcquisitionChannel})
				if err != nil {
					return nil, err
				}
				return retentionCells(r, day), nil
			},
			naive:  naiveRetentionMonthlyByChannel,
			pandas: "retention",
			pandasParams: map[string]any{"period": "month", "totalIntervals": 6, "returning": "appointment_completed",
				"breakdown": "acquisition_channel"},
		},
		{
			name: "funnel_programme", span: "year", from: year.From, to: year.To,
			ours: func(ctx context.Context, e *analytics.Engine) (cells, error) {
				r, err := e.Funnel(ctx, analytics.FunnelQuery{Query: year, Series: events(programme), FunnelWindowInterval: 120})
				if err != nil {
					return nil, err
				}
				return funnelCells(r), nil
			},
			naive:        naiveFunnelProgramme(),
			pandas:       "funnel",
			pandasParams: map[string]any{"series": peerSteps(programme), "windowSeconds": 120 * 86400},
		},
		{
			name: "funnel_booking_by_channel", span: "quarter", from: quarter.From, to: quarter.To,
			ours: func(ctx context.Context, e *analytics.Engine) (cells, error) {
				r, err := e.Funnel(ctx, analytics.FunnelQuery{Query: quarter, Series: events(booking), FunnelWindowInterval: 1,
					Breakdown: analytics.BreakdownAcquisitionChannel})
				if err != nil {
					return nil, err
				}
				return funnelCells(r), nil
			},
			naive:  naiveFunnelBooking(),
			pandas: "funnel",
			pandasParams: map[string]any{"series": peerSteps(booking), "windowSeconds": 86400,
				"breakdown": "acquisition_channel"},
		},
		{
			name: "paths", span: "quarter", from: quarter.From, to: quarter.To,
			ours: func(ctx context.Context, e *analytics.Engine) (cells, error) {
				r, err := e.Paths(ctx, analytics.PathsQuery{Query: quarter, StartPoint: mustEvent("activity:login"), StepLimit: 4, EdgeLimit: 40})
				if err != nil {
					return nil, err
				}
				return pathCells(r), nil
			},
			naive:  naivePaths,
			pandas: "paths",
			pandasParams: map[string]any{"startActivityType": "login", "stepLimit": 4, "edgeLimit": 40,
				"journeyLimit": analytics.DefaultJourneyLimit},
		},
		{
			name: "lifecycle", span: "year", from: year.From, to: year.To,
			ours: func(ctx context.Context, e *analytics.Engine) (cells, error) {
				r, err := e.Lifecycle(ctx, analytics.LifecycleQuery{Query: year, Interval: "week"})
				if err != nil {
					return nil, err
				}
				c := cells{}
				for _, p := range r.Periods {
					d := day(p.Start)
					c["new/"+d], c["returning/"+d], c["resurrecting/"+d], c["dormant/"+d] =
						float64(p.New), float64(p.Returning), float64(p.Resurrecting), float64(p.Dormant)
				}
				return c, nil
			},
			naive:        naiveLifecycle,
			pandas:       "lifecycle",
			pandasParams: map[string]any{"period": "week"},
		},
		{
			name: "stickiness", span: "year", from: year.From, to: year.To,
			ours: func(ctx context.Context, e *analytics.Engine) (cells, error) {
				r, err := e.Stickiness(ctx, analytics.StickinessQuery{Query: year, Period: "month"})
				if err != nil {
					return nil, err
				}
				c := cells{}
				for _, d := range r.Days {
					k := day(d.Day)
					c["dau/"+k], c["wau/"+k], c["mau/"+k] = float64(d.DAU), float64(d.WAU), float64(d.MAU)
				}
				for _, p := range r.Periods {
					for n, u := range p.Users {
						c[fmt.Sprintf("s/%s/%d", day(p.Start), n+1)] = float64(u)
					}
				}
				return c, nil
			},
			naive:        naiveStickiness,
			pandas:       "stickiness",
			pandasParams: map[string]any{"period": "month"},
		},
		{
			name: "engagement", span: "quarter", from: quarter.From, to: quarter.To,
			ours: func(ctx context.Context, e *analytics.Engine) (cells, error) {
				r, err := e.Engagement(ctx, analytics.EngagementQuery{Query: quarter, Limit: 10})
				if err != nil {
					return nil, err
				}
				return engagementCells(r), nil
			},
			naive:        naiveEngagement,
			pandas:       "engagement",
			pandasParams: map[string]any{"limit": 10},
		},
		{
			name: "segments_rfm", span: "year", from: year.From, to: year.To,
			ours: func(ctx context.Context, e *analytics.Engine) (cells, error) {
				r, err := e.Segments(ctx, analytics.SegmentsQuery{Query: year, Method: analytics.SegmentRFM})
				if err != nil {
					return nil, err
				}
				c := cells{"users": float64(r.Users)}
				for _, s := range r.Segments {
					c["seg/"+s.Name] = float64(s.Users)
					for j, f := range r.Features {
						c["seg/"+s.Name+"/"+f] = s.Profile[j]
					}
				}
				for _, cell := range r.RFM.Cells {
					c[fmt.Sprintf("cell/%d/%d", cell.R, cell.F)] = float64(cell.Users)
				}
				return c, nil
			},
			naive:  naiveRFM,
			pandas: "segments_rfm",
		},
		{
			name: "segments_kmeans", span: "quarter", from: quarter.From, to: quarter.To,
			ours: func(ctx context.Context, e *analytics.Engine) (cells, error) {
				r, err := e.Segments(ctx, analytics.SegmentsQuery{Query: quarter, Method: analytics.SegmentKMeans, KMin: 2, KMax: 6, Seed: 1})
				if err != nil {
					return nil, err
				}
				// The behaviour features behind the clusters: each profile is a cluster's means.
				c := cells{"users": float64(r.Users)}
				for j, f := range r.Features {
					sum := 0.0
					for _, s := range r.Segments {
						sum += s.Profile[j] * float64(s.Users)
					}
					c["sum/"+f] = sum
				}
				return c, nil
			},
			pandas:       "segments_kmeans",
			pandasParams: map[string]any{"kMin": 2, "kMax": 6, "nInit": analytics.DefaultNInit, "seed": 1},
			note:         "features compared; clusters not (scikit-learn draws other k-means++ seeds)",
		},
		{
			name: "feature_usage", span: "quarter", from: quarter.From, to: quarter.To,
			ours: func(ctx context.Context, e *analytics.Engine) (cells, error) {
				r, err := e.FeatureUsage(ctx, analytics.FeatureUsageQuery{Query: quarter, Period: "week"})
				if err != nil {
					return nil, err
				}
				c := cells{"active": float64(r.ActiveUsers)}
				for _, f := range r.Features {
					k := "f/" + f.Feature + "/"
					c[k+"adopters"], c[k+"uses"], c[k+"adoption"] = float64(f.Adopters), float64(f.Uses), f.Adoption
					c[k+"abase"], c[k+"akept"], c[k+"aratio"] = float64(f.AdopterRetention.Base), float64(f.AdopterRetention.Retained), f.AdopterRetention.Ratio
					c[k+"nbase"], c[k+"nkept"], c[k+"nratio"] = float64(f.NonAdopterRetention.Base), float64(f.NonAdopterRetention.Retained), f.NonAdopterRetention.Ratio
				}
				return c, nil
			},
			naive:        naiveFeatureUsage,
			pandas:       "feature_usage",
			pandasParams: map[string]any{"period": "week"},
		},
		{
			name: "activity_heatmap", span: "quarter", from: quarter.From, to: quarter.To,
			ours: func(ctx context.Context, e *analytics.Engine) (cells, error) {
				r, err := e.Heatmap(ctx, analytics.HeatmapQuery{Query: quarter})
				if err != nil {
					return nil, err
				}
				c := cells{}
				for _, cell := range r.Series[0].Cells {
					c[fmt.Sprintf("e/%d/%d", cell.Weekday, cell.Hour)] = float64(cell.Events)
					c[fmt.Sprintf("u/%d/%d", cell.Weekday, cell.Hour)] = float64(cell.Users)
				}
				return c, nil
			},
			naive:  naiveHeatmap,
			pandas: "heatmap",
		},
	}
}

func retentionCells(r *analytics.RetentionResult, day func(time.Time) string) cells {
	c := cells{}
	for _, co := range r.Cohorts {
		key := co.Breakdown + "/" + day(co.Start)
		c["size/"+key] = float64(co.Size)
		for _, iv := range co.Intervals {
			c[fmt.Sprintf("n/%s/%d", key, iv.Index)] = float64(iv.Count)
			c[fmt.Sprintf("r/%s/%d", key, iv.Index)] = iv.Ratio
		}
	}
	return c
}

func funnelCells(r *analytics.FunnelResult) cells {
	c := cells{}
	for _, s := range r.Series {
		for _, st := range s.Steps {
			key := fmt.Sprintf("%s/%d", s.Breakdown, st.Order+1)
			c["n/"+key] = float64(st.Count)
			if st.MedianConversionTime != nil {
				c["med/"+key], c["avg/"+key] = *st.MedianConversionTime, *st.AverageConversionTime
			}
		}
	}
	return c
}

func pathCells(r *analytics.PathsResult) cells {
	c := cells{"paths": float64(r.Paths), "users": float64(r.Users)}
	label := func(id string) string { _, l, _ := strings.Cut(id, "_"); return l }
	for _, e := range r.Edges {
		key := fmt.Sprintf("%d/%s/%s", e.Step, label(e.Source), label(e.Target))
		c["e/"+key], c["es/"+key] = float64(e.Weight), e.AverageTime
	}
	for _, n := range r.Nodes {
		key := fmt.Sprintf("%d/%s", n.Step, n.Label)
		c["node/"+key], c["ends/"+key] = float64(n.Weight), float64(n.Ends)
	}
	for _, j := range r.Journeys {
		key := strings.Join(j.Steps, ">")
		c["j/"+key], c["js/"+key] = float64(j.Paths), j.AverageDuration
	}
	return c
}

func engagementCells(r *analytics.EngagementResult) cells {
	s := r.Series[0]
	c := cells{"users": float64(s.Users), "mean": s.Mean, "nf": float64(r.FeaturesInUse)}
	for k, b := range s.Buckets {
		c[fmt.Sprintf("b/%d", k)] = float64(b.Users)
	}
	for name, list := range map[string][]analytics.EngagementScore{"top": r.Top, "bot": r.Bottom} {
		for i, sc := range list {
			c[fmt.Sprintf("%s/%d", name, i)], c[fmt.Sprintf("%ss/%d", name, i)] = float64(sc.UserID), sc.Score
		}
	}
	return c
}

// compareCells lists the cells where theirs differs from ours: counts must be equal, other values
// within 1e-9 (relative above 1). A cell missing on one side is 0 there (peers leave out empty
// cells); n is the number of cells compared.
func compareCells(ours, theirs cells) (diffs []string, n int) {
	keys := map[string]bool{}
	for k := range ours {
		keys[k] = true
	}
	for k := range theirs {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		a, b := ours[k], theirs[k]
		if math.Abs(a-b) > 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b))) || math.IsNaN(a) != math.IsNaN(b) {
			diffs = append(diffs, fmt.Sprintf("%s: ours %v, theirs %v", k, a, b))
		}
	}
	return diffs, len(sorted)
}

// analyticsRow is one line of the benchmark's table.
type analyticsRow struct {
	name, span              string
	cold, warm, naive       time.Duration
	naiveErr                string
	pandasLoad, pandasCalc  float64
	pandasRows              int
	naiveEqual, pandasEqual string
}

// benchRuns is the number of warm runs of ours (BDC_BENCH_RUNS, default 5); peerRuns those of
// each peer (BDC_BENCH_PEER_RUNS, default 1: the naive SQL and pandas take seconds to minutes).
func benchRuns(b *testing.B, env string, def int) int {
	if v := os.Getenv(env); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("%s: want a positive number of runs, got %q", env, v)
		}
		return n
	}
	return def
}

// naiveTimeout bounds one naive SQL statement: BDC_BENCH_NAIVE_TIMEOUT, 10 minutes by default.
func naiveTimeout(b *testing.B) time.Duration {
	if v := os.Getenv("BDC_BENCH_NAIVE_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("BDC_BENCH_NAIVE_TIMEOUT: %v", err)
		}
		return d
	}
	return 10 * time.Minute
}

// BenchmarkAnalytics runs every analytics kind at the persistent platform's scale (Platform:
// 100,000 users, about 21 million activity events), after rebuilding the daily rollup when
// asked (BDC_BENCH_ROLLUP=rebuild) or missing, and reports per kind:
//
//   - cold: the first run on a new connection pool after DISCARD ALL, so with empty catalog,
//     plan and relation caches in the backend (PostgreSQL's shared buffers and the OS page cache
//     are shared by the whole server and cannot be dropped without restarting it or root's
//     drop_caches: "cold" here is a cold connection, not a cold disk);
//   - warm: the median of BDC_BENCH_RUNS runs on a pool that has run the query;
//   - naive: the naive SQL over the raw tables, with the same work_mem and jit settings;
//   - pandas: the peer's load (COPY into read_csv) and compute times;
//
// and fails when a peer's result differs from ours.
func BenchmarkAnalytics(b *testing.B) {
	d := Platform(b)
	ctx := context.WithoutCancel(b.Context())
	var users, events int64
	if err := d.DB.Pool.QueryRow(ctx, "select (select count(*) from bdc.beneficiaries), (select count(*) from bdc.user_activities)").Scan(&users, &events); err != nil {
		b.Fatal(err)
	}
	rollupNote := buildRollup(b, d)
	python := pandasPython(b)
	needPython(b)
	runs, peerRuns := benchRuns(b, "BDC_BENCH_RUNS", 5), benchRuns(b, "BDC_BENCH_PEER_RUNS", 1)
	warm := &analytics.Engine{DB: d.DB}

	var rows []analyticsRow
	for _, c := range analyticsCases() {
		b.Run(c.name, func(b *testing.B) {
			row := analyticsRow{name: c.name, span: c.span}
			ours := benchEngine(b, d, warm, c, runs, &row)
			if c.naive != "" {
				benchNaive(b, d, c, ours, peerRuns, &row)
			}
			benchPandasPeer(b, python, d, c, ours, peerRuns, &row)
			rows = append(rows, row)
			recordAnalytics(b, row, fmt.Sprintf("beneficiaries=%d events=%d", users, events))
		})
	}
	// The parent of sub-benchmarks prints no result line, and with it no log: the table goes to
	// the standard output, for the README.
	fmt.Printf("\nBenchmarkAnalytics: %s, %d beneficiaries, %d activity events; %s; load average %s (1, 5, 15 min)\n\n%s\n",
		d.Name, users, events, rollupNote, results.LoadAverage(), analyticsTable(rows))
}

// recordAnalytics adds the row to `make bench`'s results (bench/results.md): the warm latency
// against pandas' and the naive SQL's, and the cold latency.
func recordAnalytics(b *testing.B, r analyticsRow, scale string) {
	base := Result{Area: "User-behaviour analytics", Case: r.name + " (" + r.span + ")", Scale: scale, Unit: "ms",
		OursName: "pkg/analytics", LowerIsBetter: true}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	pandas := base
	pandas.Metric, pandas.Ours, pandas.Peer, pandas.PeerName = "warm latency (pandas: load + compute)", ms(r.warm), (r.pandasLoad+r.pandasCalc)*1000, "pandas (load + compute)"
	record(b, pandas)
	if r.naive > 0 {
		naive := base
		naive.Metric, naive.Ours, naive.Peer, naive.PeerName = "warm latency (naive SQL)", ms(r.warm), ms(r.naive), "naive SQL"
		record(b, naive)
	}
	cold := base
	cold.Metric, cold.Ours = "cold latency", ms(r.cold)
	record(b, cold)
}

// buildRollup times RefreshRollups: a full build (into an emptied rollup, as on the first
// refresh after seeding) when BDC_BENCH_ROLLUP=rebuild or when there is none, then vacuumed as
// autovacuum would; otherwise the incremental refresh that finds nothing new.
func buildRollup(b *testing.B, d *testdb.Database) string {
	ctx := context.WithoutCancel(b.Context())
	var have bool
	if err := d.DB.Pool.QueryRow(ctx, "select exists (select 1 from bdc_analytics.rollup_watermark where rollup = $1)", analytics.RollupName).Scan(&have); err != nil {
		b.Fatal(err)
	}
	kind := "incremental (nothing new)"
	if !have || os.Getenv("BDC_BENCH_ROLLUP") == "rebuild" {
		kind = "full build"
		for _, sql := range []string{"truncate bdc_analytics.user_activity_daily", "delete from bdc_analytics.rollup_watermark"} {
			if _, err := d.DB.Pool.Exec(ctx, sql); err != nil {
				b.Fatal(err)
			}
		}
	}
	start := time.Now()
	stats, err := analytics.RefreshRollups(ctx, d.DB)
	if err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	if _, err := d.DB.Pool.Exec(ctx, "vacuum (analyze) bdc_analytics.user_activity_daily, bdc_analytics.user_activity_hourly, bdc_analytics.user_activity_weekly, bdc_analytics.user_activity_monthly, bdc_analytics.user_session_daily, bdc_analytics.user_activity_instants"); err != nil {
		b.Fatal(err)
	}
	return fmt.Sprintf("rollup refresh, %s: %s, %d rows written (load average %s)", kind, took.Round(time.Millisecond), stats.Rows, results.LoadAverage())
}

// benchEngine times the engine cold (a new pool) and warm, and returns its result.
func benchEngine(b *testing.B, d *testdb.Database, warm *analytics.Engine, c analyticsCase, runs int, row *analyticsRow) cells {
	ctx := context.WithoutCancel(b.Context())
	db, err := store.Connect(ctx, store.Config{URL: d.URL, Application: "bdc-bench-cold", MaxConns: 1})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, "discard all"); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	ours, err := c.ours(ctx, &analytics.Engine{DB: db})
	row.cold = time.Since(start)
	db.Close()
	if err != nil {
		b.Fatalf("%s: %v", c.name, err)
	}
	times := make([]time.Duration, runs)
	for i := range runs {
		start := time.Now()
		if _, err := c.ours(ctx, warm); err != nil {
			b.Fatalf("%s: %v", c.name, err)
		}
		times[i] = time.Since(start)
	}
	row.warm = medianDuration(times)
	b.ReportMetric(float64(row.cold.Milliseconds()), "cold-ms")
	b.ReportMetric(float64(row.warm.Microseconds())/1000, "warm-ms")
	return ours
}

// benchNaive runs the naive SQL, with the engine's session settings, and compares its cells.
func benchNaive(b *testing.B, d *testdb.Database, c analyticsCase, ours cells, runs int, row *analyticsRow) {
	ctx := context.WithoutCancel(b.Context())
	var theirs cells
	times := make([]time.Duration, 0, runs)
	for range runs {
		start := time.Now()
		err := d.DB.ReadOnly(ctx, naiveTimeout(b), func(ctx context.Context, tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "select set_config('jit', 'off', true), set_config('work_mem', $1, true)", analytics.DefaultWorkMem); err != nil {
				return err
			}
			rs, err := tx.Query(ctx, c.naive, c.from, c.to)
			if err != nil {
				return err
			}
			theirs = cells{}
			for rs.Next() {
				var k string
				var v *float64
				if err := rs.Scan(&k, &v); err != nil {
					return err
				}
				if v != nil {
					theirs[k] = *v
				}
			}
			return rs.Err()
		})
		if err != nil {
			row.naiveErr = err.Error()
			if errors.Is(err, store.ErrQueryTimeout) {
				row.naiveErr = "> " + naiveTimeout(b).String() + " (cancelled)"
			}
			b.Logf("%s: naive SQL: %v", c.name, err)
			return
		}
		times = append(times, time.Since(start))
	}
	row.naive = medianDuration(times)
	row.naiveEqual = equality(b, c.name+": naive SQL", ours, theirs)
	b.ReportMetric(float64(row.naive.Milliseconds()), "naive-ms")
}

// benchPandasPeer runs bench/peers/analytics.py and compares its cells.
func benchPandasPeer(b *testing.B, python string, d *testdb.Database, c analyticsCase, ours cells, runs int, row *analyticsRow) {
	params := map[string]any{"from": c.from.Format(time.RFC3339), "to": c.to.Format(time.RFC3339), "tz": analytics.DefaultTimeZone}
	for k, v := range c.pandasParams {
		params[k] = v
	}
	js, err := json.Marshal(params)
	if err != nil {
		b.Fatal(err)
	}
	var loads, calcs []float64
	var out struct {
		Load    float64 `json:"load_seconds"`
		Compute float64 `json:"compute_seconds"`
		Rows    int     `json:"rows"`
		Result  cells   `json:"result"`
	}
	for range runs {
		cmd := exec.Command(python, filepath.Join("peers", "analytics.py"), "--dsn", d.URL, "--kind", c.pandas, "--params", string(js))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.Output()
		if err != nil {
			b.Fatalf("%s: pandas: %v\n%s", c.name, err, stderr.String())
		}
		if err := json.Unmarshal(stdout, &out); err != nil {
			b.Fatalf("%s: pandas printed %.200q: %v", c.name, stdout, err)
		}
		loads, calcs = append(loads, out.Load), append(calcs, out.Compute)
	}
	slices.Sort(loads)
	slices.Sort(calcs)
	row.pandasLoad, row.pandasCalc, row.pandasRows = loads[len(loads)/2], calcs[len(calcs)/2], out.Rows
	row.pandasEqual = equality(b, c.name+": pandas", ours, out.Result)
	if c.note != "" {
		row.pandasEqual += " (" + c.note + ")"
	}
	b.ReportMetric(row.pandasLoad*1000, "pandas-load-ms")
	b.ReportMetric(row.pandasCalc*1000, "pandas-compute-ms")
	b.ReportMetric(float64(row.pandasRows), "pandas-rows")
}

// equality compares and fails the benchmark on a difference; it returns the table's cell.
func equality(b *testing.B, what string, ours, theirs cells) string {
	diffs, n := compareCells(ours, theirs)
	if len(diffs) > 0 {
		b.Errorf("%s differs from ours in %d of %d cells, first: %s", what, len(diffs), n, strings.Join(diffs[:min(5, len(diffs))], "; "))
		return fmt.Sprintf("no (%d of %d cells differ)", len(diffs), n)
	}
	return fmt.Sprintf("yes (%d cells)", n)
}

func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// thousands writes n with comma separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// analyticsTable renders the rows as the README's Markdown table.
func analyticsTable(rows []analyticsRow) string {
	ms := func(d time.Duration) string {
		if d >= 10*time.Second {
			return fmt.Sprintf("%.1f s", d.Seconds())
		}
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	var s strings.Builder
	s.WriteString("| kind | range | ours cold | ours warm | naive SQL | pandas (load + compute) | pandas / ours warm | naive equal | pandas equal |\n")
	s.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		naive := "—"
		switch {
		case r.naiveErr != "":
			naive = r.naiveErr
		case r.naive > 0:
			naive = ms(r.naive)
		}
		pandas := r.pandasLoad + r.pandasCalc
		secs := func(s float64) string { return ms(time.Duration(s * float64(time.Second))) }
		eq := r.naiveEqual
		if eq == "" {
			eq = "—"
		}
		fmt.Fprintf(&s, "| %s | %s | %s | %s | %s | %s + %s (%s rows) | %.1f× | %s | %s |\n", r.name, r.span, ms(r.cold), ms(r.warm), naive,
			secs(r.pandasLoad), secs(r.pandasCalc), thousands(r.pandasRows), pandas/r.warm.Seconds(), eq, r.pandasEqual)
	}
	return s.String()
}

// The naive SQL: what a user would write against the raw tables for each query (no rollup, no
// window trick: self-joins, correlated subqueries, a calendar joined to the days), returning the
// cells of the result as (name, value) rows; only the final selects that name the cells are
// there for the comparison. $1 is the range's start and $2 its end.

// naivePeriodStart is the first instant of the unit (week or month) of $1 in Paris.
func naivePeriodStart(unit string) string {
	return "(date_trunc('" + unit + "', $1::timestamptz at time zone 'Europe/Paris') at time zone 'Europe/Paris')"
}

var naiveRetentionWeekly = `
with cohorts as (
  select u.id as user_id, date_trunc('week', u.created_at at time zone 'Europe/Paris') as cohort
  from bdc.users u join bdc.beneficiaries b on b.user_id = u.id
  where u.created_at >= ` + naivePeriodStart("week") + ` and u.created_at < $2
),
weeks as (
  select distinct a.user_id, date_trunc('week', a.occurred_at at time zone 'Europe/Paris') as week
  from bdc.user_activities a
  where a.occurred_at >= ` + naivePeriodStart("week") + ` and a.occurred_at < $2
),
sizes as (select cohort, count(*) as size from cohorts group by cohort),
back as (
  select c.cohort, (w.week::date - c.cohort::date) / 7 as k, count(*) as n
  from cohorts c join weeks w on w.user_id = c.user_id and w.week > c.cohort and w.week < c.cohort + interval '8 weeks'
  group by 1, 2
)
select 'size//' || to_char(cohort, 'YYYY-MM-DD'), size::float8 from sizes
union all select 'n//' || to_char(cohort, 'YYYY-MM-DD') || '/0', size::float8 from sizes
union all select 'r//' || to_char(cohort, 'YYYY-MM-DD') || '/0', 1 from sizes
union all select 'n//' || to_char(cohort, 'YYYY-MM-DD') || '/' || k, n::float8 from back
union all select 'r//' || to_char(cohort, 'YYYY-MM-DD') || '/' || k, n::float8 / size from back join sizes using (cohort)`

var naiveRetentionMonthlyByChannel = `
with cohorts as (
  select u.id as user_id, b.id as beneficiary_id, b.acquisition_channel as channel,
    date_trunc('month', u.created_at at time zone 'Europe/Paris') as cohort
  from bdc.users u join bdc.beneficiaries b on b.user_id = u.id
  where u.created_at >= ` + naivePeriodStart("month") + ` and u.created_at < $2
),
months as (
  select distinct a.beneficiary_id, date_trunc('month', a.scheduled_at at time zone 'Europe/Paris') as month
  from bdc.appointments a
  where a.status = 'completed' and a.scheduled_at >= ` + naivePeriodStart("month") + ` and a.scheduled_at < $2
),
sizes as (select channel, cohort, count(*) as size from cohorts group by 1, 2),
back as (
  select c.channel, c.cohort, ((extract(year from m.month) - extract(year from c.cohort)) * 12 +
    extract(month from m.month) - extract(month from c.cohort))::int as k, count(*) as n
  from cohorts c join months m on m.beneficiary_id = c.beneficiary_id and m.month > c.cohort and m.month < c.cohort + interval '6 months'
  group by 1, 2, 3
)
select 'size/' || channel || '/' || to_char(cohort, 'YYYY-MM-DD'), size::float8 from sizes
union all select 'n/' || channel || '/' || to_char(cohort, 'YYYY-MM-DD') || '/0', size::float8 from sizes
union all select 'r/' || channel || '/' || to_char(cohort, 'YYYY-MM-DD') || '/0', 1 from sizes
union all select 'n/' || channel || '/' || to_char(cohort, 'YYYY-MM-DD') || '/' || k, n::float8 from back
union all select 'r/' || channel || '/' || to_char(cohort, 'YYYY-MM-DD') || '/' || k, n::float8 / size from back join sizes using (channel, cohort)`

// naiveFunnel writes an ordered funnel the way it is usually written in SQL: each attempt (a
// first-step event) looks up, step after step, the user's earliest next event after the previous
// step and within the window (a correlated subquery on the raw table), and each user keeps the
// attempt that gets furthest (then the earliest). attempts selects (user_id, beneficiary_id,
// bd, t1); next[k] is the subquery of step k+2 given a.t<k+1>.
func naiveFunnel(attempts string, next []string) string {
	var b strings.Builder
	b.WriteString("with a1 as (\n  " + attempts + "\n)")
	reached := []string{}
	for i, sub := range next {
		k := i + 2
		fmt.Fprintf(&b, ",\na%d as (\n  select a.*, (%s) as t%d from a%d a\n)", k, sub, k, k-1)
		reached = append(reached, fmt.Sprintf("(t%d is not null)::int", k))
	}
	n := len(next) + 1
	fmt.Fprintf(&b, ",\nbest as (\n  select distinct on (user_id) * from a%d\n  order by user_id, %s desc, t1\n)\n", n, strings.Join(reached, " + "))
	b.WriteString("select 'n/' || bd || '/1', count(*)::float8 from best group by bd")
	for k := 2; k <= n; k++ {
		secs := fmt.Sprintf("extract(epoch from t%d - t%d)::float8", k, k-1)
		fmt.Fprintf(&b, "\nunion all select 'n/' || bd || '/%d', count(t%d)::float8 from best group by bd", k, k)
		fmt.Fprintf(&b, "\nunion all select 'med/' || bd || '/%d', percentile_cont(0.5) within group (order by %s) from best where t%d is not null group by bd", k, secs, k)
		fmt.Fprintf(&b, "\nunion all select 'avg/' || bd || '/%d', avg(%s) from best where t%d is not null group by bd", k, secs, k)
	}
	return b.String()
}

func naiveFunnelProgramme() string {
	within := func(col string, prev int) string {
		return fmt.Sprintf("%s > a.t%d and %s <= a.t1 + interval '120 days' and %s < $2", col, prev, col, col)
	}
	return naiveFunnel(`select u.id as user_id, b.id as beneficiary_id, ''::text as bd, u.created_at as t1
  from bdc.users u join bdc.beneficiaries b on b.user_id = u.id
  where u.created_at >= $1 and u.created_at < $2`, []string{
		"select min(x.booked_at) from bdc.appointments x where x.beneficiary_id = a.beneficiary_id and " + within("x.booked_at", 1),
		"select min(x.scheduled_at) from bdc.appointments x where x.beneficiary_id = a.beneficiary_id and x.status = 'completed' and " + within("x.scheduled_at", 2),
		"select min(x.completed_at) from bdc.evaluations x where x.beneficiary_id = a.beneficiary_id and " + within("x.completed_at", 3),
		"select min(x.completed_at) from bdc.beneficiaries x where x.id = a.beneficiary_id and " + within("x.completed_at", 4),
	})
}

func naiveFunnelBooking() string {
	within := func(prev int) string {
		return fmt.Sprintf("x.occurred_at > a.t%d and x.occurred_at <= a.t1 + interval '1 day' and x.occurred_at < $2", prev)
	}
	return naiveFunnel(`select distinct x.user_id, b.id as beneficiary_id, b.acquisition_channel as bd, x.occurred_at as t1
  from bdc.user_activities x join bdc.beneficiaries b on b.user_id = x.user_id
  where x.activity_type = 'login' and x.occurred_at >= $1 and x.occurred_at < $2`, []string{
		"select min(x.occurred_at) from bdc.user_activities x where x.user_id = a.user_id and x.feature = 'calendar' and " + within(1),
		"select min(x.occurred_at) from bdc.user_activities x where x.user_id = a.user_id and x.activity_type = 'booking' and " + within(2),
	})
}

var naivePaths = `
with ev as (
  select a.user_id, a.session_id, a.occurred_at as ts, a.activity_type as label,
    row_number() over (partition by a.user_id, a.session_id order by a.occurred_at, a.activity_type collate "C", a.id) as rn
  from bdc.user_activities a join bdc.beneficiaries b on b.user_id = a.user_id
  where a.occurred_at >= $1 and a.occurred_at < $2 and a.session_id is not null
),
starts as (
  select user_id, session_id, min(rn) as first_login from ev where label = 'login' group by 1, 2
),
from_login as (
  select e.*, lag(e.label) over (partition by e.user_id, e.session_id order by e.rn) as prev
  from ev e join starts s on s.user_id = e.user_id and s.session_id = e.session_id and e.rn >= s.first_login
),
steps as (
  select user_id, session_id, ts, label, row_number() over (partition by user_id, session_id order by rn) as step
  from from_login where prev is distinct from label
),
pt as (
  select *, max(step) over (partition by user_id, session_id) as last_step from steps where step <= 4
),
edges as (
  select s1.step, s1.label as src, s2.label as dst, count(*) as n, avg(extract(epoch from s2.ts - s1.ts)) as secs
  from pt s1 join pt s2 on s2.user_id = s1.user_id and s2.session_id = s1.session_id and s2.step = s1.step + 1
  group by 1, 2, 3
  order by count(*) desc, s1.step, s1.label collate "C", s2.label collate "C"
  limit 40
),
nodes as (
  select step, label, count(*) as n, count(*) filter (where step = last_step) as ends from pt group by 1, 2
),
journeys as (
  select string_agg(label, '>' order by step) as path, extract(epoch from max(ts) - min(ts)) as secs
  from pt group by user_id, session_id
)
select 'e/' || step || '/' || src || '/' || dst, n::float8 from edges
union all select 'es/' || step || '/' || src || '/' || dst, secs::float8 from edges
union all select 'node/' || step || '/' || label, n::float8 from nodes n
  where exists (select 1 from edges e where (e.step = n.step and e.src = n.label) or (e.step + 1 = n.step and e.dst = n.label))
union all select 'ends/' || step || '/' || label, ends::float8 from nodes n
  where exists (select 1 from edges e where (e.step = n.step and e.src = n.label) or (e.step + 1 = n.step and e.dst = n.label))
union all (select 'j/' || path, count(*)::float8 from journeys group by path order by count(*) desc, path collate "C" limit 10)
union all (select 'js/' || path, avg(secs)::float8 from journeys group by path order by count(*) desc, path collate "C" limit 10)
union all select 'paths', count(*)::float8 from journeys
union all select 'users', count(distinct user_id)::float8 from pt`

var naiveLifecycle = `
with weeks as (
  select distinct a.user_id, date_trunc('week', a.occurred_at at time zone 'Europe/Paris') as week
  from bdc.user_activities a join bdc.beneficiaries b on b.user_id = a.user_id
  where a.occurred_at < $2
),
firsts as (
  select user_id, min(week) as first_week from weeks group by user_id
),
bounds as (
  select date_trunc('week', $1::timestamptz at time zone 'Europe/Paris') as first,
    date_trunc('week', ($2::timestamptz - interval '1 microsecond') at time zone 'Europe/Paris') as last
),
statuses as (
  select w.week,
    case when w.week = f.first_week then 'new' when p.user_id is not null then 'returning' else 'resurrecting' end as status
  from weeks w
  join firsts f on f.user_id = w.user_id
  left join weeks p on p.user_id = w.user_id and p.week = w.week - interval '1 week'
  cross join bounds
  where w.week >= bounds.first
),
dormant as (
  select w.week + interval '1 week' as week, count(*) as n
  from weeks w
  cross join bounds
  left join weeks n on n.user_id = w.user_id and n.week = w.week + interval '1 week'
  where w.week >= bounds.first - interval '1 week' and w.week < bounds.last and n.user_id is null
  group by 1
)
select status || '/' || to_char(week, 'YYYY-MM-DD'), count(*)::float8 from statuses group by status, week
union all
select 'dormant/' || to_char(week, 'YYYY-MM-DD'), -n::float8 from dormant`

var naiveStickiness = `
with bounds as (
  select ($1::timestamptz at time zone 'Europe/Paris')::date as first,
    (($2::timestamptz - interval '1 microsecond') at time zone 'Europe/Paris')::date as last
),
days as (
  select distinct a.user_id, (a.occurred_at at time zone 'Europe/Paris')::date as day
  from bdc.user_activities a join bdc.beneficiaries b on b.user_id = a.user_id, bounds
  where a.occurred_at >= ((bounds.first - 29)::timestamp at time zone 'Europe/Paris') and a.occurred_at < $2
),
calendar as (
  select d::date as day from bounds, generate_series(bounds.first, bounds.last, interval '1 day') as d
),
active as (
  select c.day,
    count(distinct u.user_id) filter (where u.day = c.day) as dau,
    count(distinct u.user_id) filter (where u.day > c.day - 7) as wau,
    count(distinct u.user_id) as mau
  from calendar c join days u on u.day > c.day - 30 and u.day <= c.day
  group by c.day
),
per_month as (
  select user_id, date_trunc('month', day) as month, count(*) as n
  from days, bounds where day >= date_trunc('month', bounds.first) group by 1, 2
)
select 'dau/' || to_char(day, 'YYYY-MM-DD'), dau::float8 from active
union all select 'wau/' || to_char(day, 'YYYY-MM-DD'), wau::float8 from active
union all select 'mau/' || to_char(day, 'YYYY-MM-DD'), mau::float8 from active
union all select 's/' || to_char(month, 'YYYY-MM-DD') || '/' || n, count(*)::float8 from per_month group by month, n`

// naiveBehaviour is each beneficiary's activity over the days of the range: days, events, last
// activity and distinct features.
const naiveBehaviour = `
bounds as (
  select ($1::timestamptz at time zone 'Europe/Paris')::date::timestamp at time zone 'Europe/Paris' as lo,
    (($2::timestamptz - interval '1 microsecond') at time zone 'Europe/Paris')::date - ($1::timestamptz at time zone 'Europe/Paris')::date + 1 as range_days
),
beh as (
  select b.user_id, b.id as beneficiary_id,
    count(distinct (a.occurred_at at time zone 'Europe/Paris')::date) as days, count(a.id) as events,
    max(a.occurred_at) as last_at, count(distinct a.feature) as features
  from bounds, bdc.beneficiaries b
  join bdc.users u on u.id = b.user_id
  left join bdc.user_activities a on a.user_id = b.user_id and a.occurred_at >= (select lo from bounds) and a.occurred_at < $2
  where u.created_at < $2
  group by b.user_id, b.id
)`

var naiveEngagement = `
with ` + naiveBehaviour + `,
in_use as (
  select count(distinct a.feature) as n
  from bdc.user_activities a join bdc.beneficiaries b on b.user_id = a.user_id, bounds
  where a.occurred_at >= bounds.lo and a.occurred_at < $2
),
scores as (
  select h.user_id, 100 * (0.35 * coalesce(power(0.5, extract(epoch from $2 - h.last_at)::float8 / 86400 / 14), 0)
    + 0.4 * ln(1 + h.days::float8) / ln(1 + bounds.range_days::float8)
    + 0.25 * case when in_use.n = 0 then 0 else h.features::float8 / in_use.n end) as score
  from beh h, bounds, in_use
)
select 'users', count(*)::float8 from scores
union all select 'mean', avg(score) from scores
union all select 'nf', n::float8 from in_use
union all select 'b/' || least(floor(score / 10)::int, 9), count(*)::float8 from scores group by 1
union all (select 'top/' || (row_number() over (order by score desc, user_id) - 1), user_id::float8 from scores order by score desc, user_id limit 10)
union all (select 'tops/' || (row_number() over (order by score desc, user_id) - 1), score from scores order by score desc, user_id limit 10)
union all (select 'bot/' || (row_number() over (order by score, user_id) - 1), user_id::float8 from scores order by score, user_id limit 10)
union all (select 'bots/' || (row_number() over (order by score, user_id) - 1), score from scores order by score, user_id limit 10)`

var naiveRFM = `
with ` + naiveBehaviour + `,
vals as (
  select h.user_id,
    coalesce(extract(epoch from $2 - h.last_at)::float8 / 86400, extract(epoch from $2 - bounds.lo)::float8 / 86400) as recency,
    h.days + (select count(*) from bdc.appointments x where x.beneficiary_id = h.beneficiary_id and x.status = 'completed'
      and x.scheduled_at >= bounds.lo and x.scheduled_at < $2) as frequency,
    coalesce((select sum(p.amount_cents) from bdc.payments p where p.beneficiary_id = h.beneficiary_id
      and p.paid_at >= bounds.lo and p.paid_at < $2), 0)::float8 as monetary
  from beh h, bounds
),
tiles as (
  select *, ntile(5) over (order by recency desc, user_id) as r0, ntile(5) over (order by frequency, user_id) as f0 from vals
),
scored as (
  select *, min(r0) over (partition by recency) as r, min(f0) over (partition by frequency) as f from tiles
),
segments as (
  select *, case
    when r <= 2 and f <= 2 then 'hibernating' when r <= 2 and f <= 4 then 'at_risk' when r <= 2 then 'cant_lose_them'
    when r = 3 and f <= 2 then 'about_to_sleep' when r = 3 and f = 3 then 'need_attention'
    when f >= 4 and r <= 4 then 'loyal' when f >= 4 then 'champions' when f >= 2 then 'potential_loyalists'
    when r = 4 then 'promising' else 'new' end as segment
  from scored
)
select 'users', count(*)::float8 from segments
union all select 'seg/' || segment, count(*)::float8 from segments group by segment
union all select 'seg/' || segment || '/recency_days', avg(recency) from segments group by segment
union all select 'seg/' || segment || '/frequency', avg(frequency)::float8 from segments group by segment
union all select 'seg/' || segment || '/monetary_cents', avg(monetary) from segments group by segment
union all select 'cell/' || r || '/' || f, count(*)::float8 from segments group by r, f`

var naiveFeatureUsage = `
with act as (
  select a.user_id, date_trunc('week', a.occurred_at at time zone 'Europe/Paris') as week, a.feature
  from bdc.user_activities a join bdc.beneficiaries b on b.user_id = a.user_id
  where a.occurred_at >= ` + naivePeriodStart("week") + ` and a.occurred_at < $2
),
last as (select date_trunc('week', ($2::timestamptz - interval '1 microsecond') at time zone 'Europe/Paris') as week),
user_weeks as (
  select distinct u.user_id, u.week from act u
),
returns as (
  select u.user_id, u.week,
    exists (select 1 from user_weeks n where n.user_id = u.user_id and n.week = u.week + interval '1 week') as back
  from user_weeks u, last where u.week < last.week
),
feature_weeks as (
  select distinct user_id, week, feature from act where feature is not null
),
adopters as (
  select f.feature, count(*) as base, count(*) filter (where r.back) as kept
  from feature_weeks f join returns r on r.user_id = f.user_id and r.week = f.week
  group by f.feature
),
totals as (select count(*) as base, count(*) filter (where back) as kept from returns),
usage as (
  select feature, count(distinct user_id) as adopters, count(*) as uses from act where feature is not null group by feature
),
active as (select count(distinct user_id) as n from user_weeks)
select 'active', n::float8 from active
union all select 'f/' || feature || '/adopters', adopters::float8 from usage
union all select 'f/' || feature || '/uses', uses::float8 from usage
union all select 'f/' || feature || '/adoption', adopters::float8 / active.n from usage, active
union all select 'f/' || feature || '/abase', base::float8 from adopters
union all select 'f/' || feature || '/akept', kept::float8 from adopters
union all select 'f/' || feature || '/aratio', case when base = 0 then 0 else kept::float8 / base end from adopters
union all select 'f/' || feature || '/nbase', (t.base - a.base)::float8 from adopters a, totals t
union all select 'f/' || feature || '/nkept', (t.kept - a.kept)::float8 from adopters a, totals t
union all select 'f/' || feature || '/nratio', case when t.base = a.base then 0 else (t.kept - a.kept)::float8 / (t.base - a.base) end from adopters a, totals t`

var naiveHeatmap = `
select kind || '/' || wd || '/' || h, v from (
  select extract(isodow from a.occurred_at at time zone 'Europe/Paris')::int as wd,
    extract(hour from a.occurred_at at time zone 'Europe/Paris')::int as h,
    count(*)::float8 as events, count(distinct a.user_id)::float8 as users
  from bdc.user_activities a join bdc.beneficiaries b on b.user_id = a.user_id
  where a.occurred_at >= $1 and a.occurred_at < $2
  group by 1, 2
) t cross join lateral (values ('e', events), ('u', users)) as v(kind, v)`
