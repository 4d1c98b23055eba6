package main

// These tests build the plugin binary and drive it exactly as Grafana does: hashicorp go-plugin,
// gRPC, protocol version 2, magic cookie grafana_plugin_type=datasource. Grafana itself cannot
// run here; this client stands in for it and nothing else.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"

	"github.com/bdc-analytics/bdc/datasource-plugin/pkg/grafanahost"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bdc-plugin-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "gpx_bdc_analytics_linux_amd64")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the plugin: %v\n%s", err, out)
		os.Exit(1)
	}
	code := func() int { defer os.RemoveAll(dir); testdb.Main(m); return 0 }()
	os.Exit(code)
}

// launch starts the built plugin as Grafana does (grafanahost) until the test ends.
func launch(t *testing.T) *grafanahost.Host {
	t.Helper()
	h, err := grafanahost.Launch(binary, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func pluginContext(t *testing.T, d *testdb.Database, port string) *pluginv2.PluginContext {
	t.Helper()
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	host := u.Host
	if port != "" {
		host = u.Hostname() + ":" + port
	}
	js, _ := json.Marshal(map[string]any{"host": host, "database": strings.TrimPrefix(u.Path, "/"), "user": "postgres", "sslmode": "disable"})
	return backend.ToProto().PluginContext(backend.PluginContext{
		PluginID: "bdc-analytics-datasource",
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
			ID: 1, UID: "bdc" + port, Name: "BDC", JSONData: js, DecryptedSecureJSONData: map[string]string{"password": ""}, Updated: time.Unix(1, 0),
		},
	})
}

var history = backend.TimeRange{From: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 5, 25, 0, 0, 0, 0, time.UTC)}

func query(refID, queryType, js string) backend.DataQuery {
	return backend.DataQuery{RefID: refID, QueryType: queryType, JSON: json.RawMessage(js), TimeRange: history, Interval: 24 * time.Hour, MaxDataPoints: 50}
}

// queryData sends queries through the plugin's gRPC data service, failing the test on error.
func queryData(t *testing.T, g *grafanahost.Host, pc *pluginv2.PluginContext, qs ...backend.DataQuery) *backend.QueryDataResponse {
	t.Helper()
	out, err := g.QueryData(t.Context(), pc, qs...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestThroughGRPC(t *testing.T) {
	d := testdb.Get(t)
	g := launch(t)
	pc := pluginContext(t, d, "")

	health, err := g.Diagnostics.CheckHealth(t.Context(), &pluginv2.CheckHealthRequest{PluginContext: pc})
	if err != nil {
		t.Fatal(err)
	}
	if health.Status == pluginv2.CheckHealthResponse_ERROR || !strings.Contains(health.Message, "Connected to PostgreSQL") {
		t.Errorf("CheckHealth: %v %s", health.Status, health.Message)
	}

	good := []backend.DataQuery{
		query("kpi", "kpi", `{"kpi": "bdc_users_active"}`),
		query("retention", "retention", `{"period": "week", "totalIntervals": 4}`),
		query("funnel", "funnel", `{"series": ["signup", "appointment_completed"]}`),
		query("paths", "paths", `{"stepLimit": 3}`),
		query("lifecycle", "lifecycle", `{"interval": "month"}`),
		query("stickiness", "stickiness", `{}`),
		query("engagement", "engagement", `{}`),
		query("segments", "segments", `{"method": "kmeans"}`),
		query("feature_usage", "feature_usage", `{}`),
		query("activity_heatmap", "activity_heatmap", `{}`),
	}
	resp := queryData(t, g, pc, good...)
	for _, q := range good {
		dr := resp.Responses[q.RefID]
		if dr.Error != nil || len(dr.Frames) == 0 || dr.Frames[0].Rows() == 0 {
			t.Errorf("%s: error %v, %d frames", q.RefID, dr.Error, len(dr.Frames))
		}
	}

	stream, err := g.Resource.CallResource(t.Context(), &pluginv2.CallResourceRequest{PluginContext: pc, Path: "regions", Method: "GET", Url: "regions"})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var regions []struct{ Text, Value string }
	if err := json.Unmarshal(msg.Body, &regions); err != nil || msg.Code != 200 || len(regions) == 0 {
		t.Errorf("resources/regions: %d %s (%v)", msg.Code, msg.Body, err)
	}

	sub, err := g.Stream.SubscribeStream(t.Context(), &pluginv2.SubscribeStreamRequest{PluginContext: pc, Path: "live/users_online"})
	if err != nil || sub.Status != pluginv2.SubscribeStreamResponse_OK || len(sub.Data) == 0 {
		t.Fatalf("SubscribeStream: %v %v", sub, err)
	}
	if sub, _ := g.Stream.SubscribeStream(t.Context(), &pluginv2.SubscribeStreamRequest{PluginContext: pc, Path: "live/no_such"}); sub.Status != pluginv2.SubscribeStreamResponse_NOT_FOUND {
		t.Errorf("unknown channel: %v", sub.Status)
	}
	if pub, _ := g.Stream.PublishStream(t.Context(), &pluginv2.PublishStreamRequest{PluginContext: pc, Path: "live/users_online", Data: []byte(`{}`)}); pub.Status != pluginv2.PublishStreamResponse_PERMISSION_DENIED {
		t.Errorf("publish: %v", pub.Status)
	}
	ctx, cancel := context.WithCancel(t.Context())
	run, err := g.Stream.RunStream(ctx, &pluginv2.RunStreamRequest{PluginContext: pc, Path: "live/users_online"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		packet, err := run.Recv()
		if err != nil {
			t.Fatalf("live frame %d: %v", i, err)
		}
		if !strings.Contains(string(packet.Data), "bdc_users_online") {
			t.Errorf("live frame %d: %s", i, packet.Data)
		}
	}
	cancel()
}

// TestBadInputThroughGRPC: every bad query gets its own error with the right source, the good
// query of the same request still answers, and injection strings reach PostgreSQL only as values.
func TestBadInputThroughGRPC(t *testing.T) {
	d := testdb.Get(t)
	g := launch(t)
	pc := pluginContext(t, d, "")
	var before int
	if err := d.DB.Pool.QueryRow(t.Context(), "select count(*) from bdc.users").Scan(&before); err != nil {
		t.Fatal(err)
	}
	injection := `'; DROP TABLE bdc.users; --`
	bad := map[string]backend.DataQuery{
		"unknown type":     query("u", "sql", `{"rawSql": "select 1"}`),
		"not json":         query("j", "kpi", `{"kpi": `),
		"wrong type":       query("w", "retention", `{"totalIntervals": "eight"}`),
		"huge limit":       query("h", "retention", `{"totalIntervals": 100000000}`),
		"unknown kpi":      query("k", "kpi", `{"kpi": "bdc_users; drop table bdc.users"}`),
		"bad event":        query("e", "funnel", `{"series": ["signup", "activity:`+injection+`/"]}`),
		"bad time zone":    query("z", "retention", `{"timezone": "Mars/Olympus"}`),
		"bad age band":     query("a", "retention", `{"filters": {"ageBand": ["old"]}}`),
		"too many filters": query("f", "retention", `{"filters": {"region": [`+strings.Repeat(`"x",`, 2000)+`"x"]}}`),
	}
	injected := map[string]backend.DataQuery{
		"injection in filters": query("i1", "retention", `{"filters": {"region": ["`+strings.ReplaceAll(injection, `'`, `'`)+`"], "acquisitionChannel": ["x' or '1'='1"]}}`),
		"injection in event":   query("i2", "funnel", `{"series": ["signup", "activity:`+injection+`"]}`),
		"injection in kpi":     query("i3", "kpi", `{"kpi": "bdc_beneficiaries", "filters": {"region": ["`+injection+`"]}}`),
	}
	all := []backend.DataQuery{query("ok", "kpi", `{"kpi": "bdc_users"}`)}
	for _, q := range bad {
		all = append(all, q)
	}
	for _, q := range injected {
		all = append(all, q)
	}
	resp := queryData(t, g, pc, all...)
	if dr := resp.Responses["ok"]; dr.Error != nil || len(dr.Frames) == 0 {
		t.Errorf("the good query failed beside the bad ones: %v", dr.Error)
	}
	for name, q := range bad {
		dr := resp.Responses[q.RefID]
		if dr.Error == nil || dr.ErrorSource != backend.ErrorSourcePlugin || dr.Status != backend.StatusBadRequest {
			t.Errorf("%s: error %v, source %q, status %d; want a plugin 400", name, dr.Error, dr.ErrorSource, dr.Status)
		}
	}
	for name, q := range injected {
		// Values that match nothing: an empty or zero result, or a validation error naming the
		// parameter; never a database error.
		dr := resp.Responses[q.RefID]
		if dr.Error != nil && dr.ErrorSource != backend.ErrorSourcePlugin {
			t.Errorf("%s: %v (source %s)", name, dr.Error, dr.ErrorSource)
		}
	}
	var after int
	if err := d.DB.Pool.QueryRow(t.Context(), "select count(*) from bdc.users").Scan(&after); err != nil || after != before {
		t.Fatalf("bdc.users changed: %d -> %d (%v)", before, after, err)
	}
}

func TestDatabaseDownThroughGRPC(t *testing.T) {
	d := testdb.Get(t)
	g := launch(t)
	pc := pluginContext(t, d, "1") // nothing listens on port 1
	health, err := g.Diagnostics.CheckHealth(t.Context(), &pluginv2.CheckHealthRequest{PluginContext: pc})
	if err != nil {
		t.Fatal(err)
	}
	if health.Status != pluginv2.CheckHealthResponse_ERROR || !strings.Contains(health.Message, "127.0.0.1:1") {
		t.Errorf("CheckHealth with the database down: %v %q, want an error naming 127.0.0.1:1", health.Status, health.Message)
	}
	resp := queryData(t, g, pc, query("A", "kpi", `{"kpi": "bdc_users"}`))
	if dr := resp.Responses["A"]; dr.Error == nil || dr.ErrorSource != backend.ErrorSourceDownstream {
		t.Errorf("query with the database down: %v (source %q), want a downstream error", dr.Error, dr.ErrorSource)
	}
}
