package plugin

import (
	"context"
	"encoding/json"
	"flag"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"

	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

var update = flag.Bool("update", false, "rewrite the golden frames under testdata/")

func TestMain(m *testing.M) { testdb.Main(m) }

// instanceSettings points a datasource at a test database.
func instanceSettings(t testing.TB, d *testdb.Database, extra map[string]any) backend.DataSourceInstanceSettings {
	t.Helper()
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	j := map[string]any{"host": u.Host, "database": strings.TrimPrefix(u.Path, "/"), "user": u.User.Username(), "sslmode": "disable"}
	for k, v := range extra {
		j[k] = v
	}
	raw, _ := json.Marshal(j)
	return backend.DataSourceInstanceSettings{UID: "bdc-test", Name: "BDC", JSONData: raw, DecryptedSecureJSONData: map[string]string{}, Updated: time.Now()}
}

func newTestDatasource(t testing.TB, extra map[string]any) (*Datasource, *testdb.Database) {
	t.Helper()
	d := testdb.Get(t)
	inst, err := NewDatasource(context.Background(), instanceSettings(t, d, extra))
	if err != nil {
		t.Fatal(err)
	}
	ds := inst.(*Datasource)
	t.Cleanup(ds.Dispose)
	return ds, d
}

// history is a range inside the test seed's history (it ends on 2026-06-01).
var history = backend.TimeRange{From: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 5, 25, 0, 0, 0, 0, time.UTC)}

func dataQuery(refID, queryType, js string) backend.DataQuery {
	return backend.DataQuery{RefID: refID, QueryType: queryType, JSON: json.RawMessage(js), TimeRange: history,
		Interval: 24 * time.Hour, MaxDataPoints: 60}
}

// goldenQueries is one or more queries of every type, each checked against testdata/<name>.jsonc.
var goldenQueries = map[string]backend.DataQuery{
	"kpi_users_active":        dataQuery("A", "kpi", `{"kpi": "bdc_users_active"}`),
	"kpi_noshow_filtered":     dataQuery("A", "kpi", `{"kpi": "bdc_appointment_noshow_ratio", "filters": {"region": ["ile-de-france"]}}`),
	"kpi_evaluation_score":    dataQuery("A", "kpi", `{"kpi": "bdc_evaluation_score"}`),
	"retention_weekly":        dataQuery("A", "retention", `{"period": "week", "totalIntervals": 6}`),
	"retention_by_channel":    dataQuery("A", "retention", `{"period": "month", "totalIntervals": 4, "breakdown": "acquisition_channel", "returningEntity": "appointment_completed"}`),
	"funnel_journey":          dataQuery("A", "funnel", `{"series": ["signup", "appointment_booked", "appointment_completed", "evaluation_completed"], "funnelWindowInterval": 60}`),
	"paths_sessions":          dataQuery("A", "paths", `{"stepLimit": 4, "edgeLimit": 30}`),
	"paths_from_login":        dataQuery("A", "paths", `{"groupBy": "user", "startPoint": "activity:login", "stepLimit": 3}`),
	"lifecycle_weekly":        dataQuery("A", "lifecycle", `{"interval": "week"}`),
	"stickiness_monthly":      dataQuery("A", "stickiness", `{"period": "month"}`),
	"engagement":              dataQuery("A", "engagement", `{"limit": 5}`),
	"segments_rfm":            dataQuery("A", "segments", `{"method": "rfm"}`),
	"segments_kmeans":         dataQuery("A", "segments", `{"method": "kmeans", "k": 3, "seed": 7}`),
	"feature_usage":           dataQuery("A", "feature_usage", `{"period": "week"}`),
	"activity_heatmap":        dataQuery("A", "activity_heatmap", `{"timezone": "America/New_York"}`),
	"funnel_strict_by_region": dataQuery("A", "funnel", `{"series": ["activity:login", "feature:calendar", "activity:booking"], "funnelOrderType": "strict", "breakdown": "region", "filters": {"acquisitionChannel": ["cpf", "employer"]}}`),
}

func TestGoldenFrames(t *testing.T) {
	ds, _ := newTestDatasource(t, map[string]any{"cacheTTL": 0})
	for name, q := range goldenQueries {
		t.Run(name, func(t *testing.T) {
			resp, err := ds.QueryData(t.Context(), &backend.QueryDataRequest{Queries: []backend.DataQuery{q}})
			if err != nil {
				t.Fatal(err)
			}
			dr := resp.Responses[q.RefID]
			if dr.Error != nil {
				t.Fatalf("%s: %v", name, dr.Error)
			}
			experimental.CheckGoldenJSONResponse(t, "testdata", name, &dr, *update)
		})
	}
}

func TestLiveChannelPollsOnceWhateverTheViewers(t *testing.T) {
	LivePollInterval = 100 * time.Millisecond
	ds, _ := newTestDatasource(t, nil)
	def, ok := liveKPI("live/users_online")
	if !ok {
		t.Fatal("live/users_online unknown")
	}
	var streams []<-chan *data.Frame
	var leaves []func()
	for range 5 {
		ch, leave := ds.live.join(def)
		streams = append(streams, ch)
		leaves = append(leaves, leave)
	}
	var wg sync.WaitGroup
	for i, ch := range streams {
		wg.Go(func() {
			for range 2 {
				if f := <-ch; f == nil || f.Rows() != 1 {
					t.Errorf("viewer %d got %v", i, f)
				}
			}
		})
	}
	wg.Wait()
	polls := ds.live.pollCount()
	// Five viewers received two frames each from the one poller: two or three polls, where a
	// poller per viewer would have made ten.
	if polls >= 5 {
		t.Errorf("%d polls for 5 viewers × 2 frames: each viewer polls on its own", polls)
	}
	for _, leave := range leaves {
		leave()
	}
	ds.live.mu.Lock()
	left := len(ds.live.channels)
	ds.live.mu.Unlock()
	if left != 0 {
		t.Errorf("%d pollers still running after every viewer left", left)
	}
}

func TestCacheServesRepeatedQueries(t *testing.T) {
	ds, _ := newTestDatasource(t, map[string]any{"cacheTTL": 300})
	q := dataQuery("A", "retention", `{"period": "week", "totalIntervals": 3}`)
	same := dataQuery("B", "retention", `{ "totalIntervals": 3, "period": "week" }`) // same query, other spelling
	other := dataQuery("C", "retention", `{"period": "week", "totalIntervals": 4}`)
	for _, qs := range [][]backend.DataQuery{{q}, {same}, {other}} {
		if _, err := ds.QueryData(t.Context(), &backend.QueryDataRequest{Queries: qs}); err != nil {
			t.Fatal(err)
		}
	}
	if hits := ds.cache.hits.Load(); hits != 1 {
		t.Errorf("cache hits = %d, want 1 (the respelled query)", hits)
	}
}
