package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/jackc/pgx/v5"

	benchresults "github.com/bdc-analytics/bdc/bench/cmd/benchreport/results"
	"github.com/bdc-analytics/bdc/datasource-plugin/pkg/grafanahost"
	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

// faultSeed is the throwaway cluster's platform: small, since the queries are held in flight by a
// lock rather than by their own length.
var faultSeed = demo.Config{Users: 200, Days: 60, Seed: 3, End: testdb.Scale.End}

// faultQuery is a query over the whole of faultSeed's history at a daily interval.
func faultQuery(refID, queryType, js string) backend.DataQuery {
	return backend.DataQuery{RefID: refID, QueryType: queryType, JSON: json.RawMessage(js),
		TimeRange:     backend.TimeRange{From: faultSeed.End.AddDate(0, 0, -faultSeed.Days), To: faultSeed.End},
		Interval:      24 * time.Hour,
		MaxDataPoints: 100}
}

// TestPostgresStoppedDuringQueries stops a throwaway PostgreSQL (never the shared server) while
// the built plugin, launched as Grafana launches it, has queries in flight, and starts it again
// without relaunching the plugin. It proves what a Grafana user sees: each query of the request
// gets its own error (not a failed gRPC call, not a dead plugin), marked downstream, naming the
// server's host and port and quoting none of the rows; CheckHealth says the server does not
// answer, naming it; and once PostgreSQL is back the same queries answer by themselves with the
// frames they had before the outage, so neither the pool nor the result cache kept the failure.
func TestPostgresStoppedDuringQueries(t *testing.T) {
	ctx := t.Context()
	cluster, db := testdb.Cluster(t, faultSeed)
	addr := fmt.Sprintf("127.0.0.1:%d", cluster.Port())
	h := launchPlugin(t)

	// Two instances, as two datasources in Grafana: the reference answers come from one without a
	// cache; the one under test caches, so that a cached failure would show after the restart.
	reference, err := grafanahost.PluginContext(cluster.URL("postgres"), "faults-reference", map[string]any{"cacheTTL": 0})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := grafanahost.PluginContext(cluster.URL("postgres"), "faults", map[string]any{"cacheTTL": 300})
	if err != nil {
		t.Fatal(err)
	}
	paths := faultQuery("paths", "paths", `{"stepLimit": 5, "edgeLimit": 50}`)
	heatmap := faultQuery("heatmap", "activity_heatmap", `{"byActivityType": true}`)
	retention := faultQuery("retention", "retention", `{"period": "week", "totalIntervals": 6}`)
	all := []backend.DataQuery{paths, heatmap, retention}

	before := map[string]string{}
	var cells []string
	for _, q := range all {
		frames := answer(t, h, reference, q)
		before[q.RefID] = framesJSON(t, frames)
		cells = append(cells, stringCells(frames)...)
	}
	if len(cells) == 0 {
		t.Fatal("the reference answers hold no string cells to look for in the errors")
	}
	// The instance under test has a pool with live connections before the outage, as a
	// dashboard in use has; this query's key differs from the ones under test, so it fills
	// the pool without putting their answers in the cache.
	warm := faultQuery("warm", "kpi", `{"kpi": "bdc_users"}`)
	answer(t, h, pc, warm)
	if status, msg := checkHealth(t, h, pc); status != pluginv2.CheckHealthResponse_OK && status != pluginv2.CheckHealthResponse_UNKNOWN {
		t.Fatalf("CheckHealth before the outage: %v %q", status, msg)
	}

	// The queries are only reliably in flight when PostgreSQL stops if something holds them
	// there: a transaction of the test's own locks every table of schema bdc, so each query
	// waits on its lock inside its read-only transaction until the server goes away.
	locker, err := pgx.Connect(ctx, cluster.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = locker.Close(context.Background()) }()
	lock, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec(ctx, `do $$ begin
		execute (select 'lock table ' || string_agg(format('%I.%I', schemaname, tablename), ', ') || ' in access exclusive mode'
		         from pg_tables where schemaname = 'bdc');
		end $$`); err != nil {
		t.Fatal(err)
	}
	type result struct {
		resp *backend.QueryDataResponse
		err  error
	}
	// Two requests at once, as two panels refreshing: one with paths alone, one with the heatmap
	// and retention (the plugin runs a request's query types one after the other, so one of
	// these two is blocked on the lock and the other reaches PostgreSQL after it has stopped).
	results := make(chan result, 2)
	for _, qs := range [][]backend.DataQuery{{paths}, {heatmap, retention}} {
		go func() {
			resp, err := h.QueryData(ctx, pc, qs...)
			results <- result{resp, err}
		}()
	}
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		var waiting int
		err := db.Pool.QueryRow(waitCtx, `select count(*) from pg_stat_activity
			where application_name = $1 and wait_event_type = 'Lock'`, Application).Scan(&waiting)
		if err != nil {
			t.Fatalf("waiting for the plugin's queries to block on the lock: %v", err)
		}
		if waiting >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cluster.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// What the panels show: a downstream error per RefID naming the server, no rows in it.
	errs := map[string]string{}
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Fatalf("QueryData with PostgreSQL stopped mid-query failed as a call, not per query: %v", r.err)
		}
		for ref, dr := range r.resp.Responses {
			errs[ref] = checkOutageError(t, ref, dr, addr, cells)
			t.Logf("%s, PostgreSQL stopped during the query: status %d, source %s: %s", ref, dr.Status, dr.ErrorSource, errs[ref])
		}
	}
	if len(errs) != len(all) {
		t.Errorf("%d answers for %d queries: %v", len(errs), len(all), errs)
	}

	// While PostgreSQL is down, asking again reaches for the server again: the answer is a new
	// error (the connection refused, where the first was the session cut), not the first one
	// served from the cache.
	resp, err := h.QueryData(ctx, pc, paths)
	if err != nil {
		t.Fatalf("QueryData with PostgreSQL stopped failed as a call, not per query: %v", err)
	}
	again := checkOutageError(t, "paths", resp.Responses["paths"], addr, cells)
	t.Logf("paths, asked again with PostgreSQL stopped: %s", again)
	if again == errs["paths"] {
		t.Errorf("the second query during the outage got the first one's error again (%q): served from the cache?", again)
	}
	status, msg := checkHealth(t, h, pc)
	t.Logf("CheckHealth with PostgreSQL stopped: %v %q", status, msg)
	if status != pluginv2.CheckHealthResponse_ERROR || !strings.Contains(msg, addr) {
		t.Errorf("CheckHealth with PostgreSQL stopped: %v %q, want an error naming %s", status, msg, addr)
	}

	// PostgreSQL back: the same plugin process (it answered every call above over gRPC, so it is
	// alive; it is not relaunched) answers the same queries with the frames of before.
	if err := cluster.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	if status, msg := checkHealth(t, h, pc); status == pluginv2.CheckHealthResponse_ERROR || !strings.Contains(msg, addr) {
		t.Errorf("CheckHealth after the restart: %v %q", status, msg)
	}
	for _, q := range all {
		if got := framesJSON(t, answer(t, h, pc, q)); got != before[q.RefID] {
			t.Errorf("%s after the restart: frames differ from those before the outage\nbefore: %.2000s\nafter:  %.2000s", q.RefID, before[q.RefID], got)
		}
	}
	testtools.RecordCheck(t, benchresults.Check{Area: "Reliability",
		Case:    "plugin: PostgreSQL stopped while QueryData calls are in flight, then started",
		Sees:    fmt.Sprintf("each panel its own downstream error (status 502), e.g. %q; CheckHealth: %q", errs["paths"], msg),
		Outcome: "no failed gRPC call, no rows in the errors, the error not cached; after the restart the same plugin process answers every query with the frames of before",
		Resumed: time.Since(restarted).Seconds()})
}

// checkOutageError checks one query's answer while PostgreSQL is down and returns its message.
func checkOutageError(t *testing.T, ref string, dr backend.DataResponse, addr string, cells []string) string {
	t.Helper()
	if dr.Error == nil {
		t.Errorf("%s: answered with %d frames while PostgreSQL was stopped", ref, len(dr.Frames))
		return ""
	}
	msg := dr.Error.Error()
	if dr.ErrorSource != backend.ErrorSourceDownstream || (dr.Status != backend.StatusBadGateway && dr.Status != backend.StatusTimeout) {
		t.Errorf("%s: source %q, status %d, want a downstream 502 or 504: %s", ref, dr.ErrorSource, dr.Status, msg)
	}
	if !strings.Contains(msg, addr) {
		t.Errorf("%s: the error does not name the server %s: %s", ref, addr, msg)
	}
	if len(dr.Frames) > 0 {
		t.Errorf("%s: an error with %d frames", ref, len(dr.Frames))
	}
	for _, c := range cells {
		if strings.Contains(msg, c) {
			t.Errorf("%s: the error quotes row data %q: %s", ref, c, msg)
		}
	}
	return msg
}

// answer sends one query through the plugin and returns its frames, failing on any error.
func answer(t *testing.T, h *grafanahost.Host, pc *pluginv2.PluginContext, q backend.DataQuery) data.Frames {
	t.Helper()
	resp, err := h.QueryData(t.Context(), pc, q)
	if err != nil {
		t.Fatal(err)
	}
	dr := resp.Responses[q.RefID]
	if dr.Error != nil {
		t.Fatalf("%s: %v", q.RefID, dr.Error)
	}
	if len(dr.Frames) == 0 {
		t.Fatalf("%s: no frames", q.RefID)
	}
	return dr.Frames
}

// checkHealth calls CheckHealth through the plugin's diagnostics service.
func checkHealth(t *testing.T, h *grafanahost.Host, pc *pluginv2.PluginContext) (pluginv2.CheckHealthResponse_HealthStatus, string) {
	t.Helper()
	resp, err := h.Diagnostics.CheckHealth(t.Context(), &pluginv2.CheckHealthRequest{PluginContext: pc})
	if err != nil {
		t.Fatalf("CheckHealth failed as a call: %v", err)
	}
	return resp.Status, resp.Message
}

// framesJSON is the frames' JSON (schema, metadata and every value): equal JSON, equal frames.
func framesJSON(t *testing.T, frames data.Frames) string {
	t.Helper()
	b, err := json.Marshal(frames)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// stringCells are the distinct string values of the frames' rows (event names, journeys), of four
// characters or more so that they cannot occur in an error's wording by chance: what an error
// leaking a row would quote.
func stringCells(frames data.Frames) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range frames {
		for _, field := range f.Fields {
			for i := range field.Len() {
				var s string
				switch v := field.At(i).(type) {
				case string:
					s = v
				case *string:
					if v != nil {
						s = *v
					}
				}
				if len(s) >= 4 && !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
			}
		}
	}
	return out
}
