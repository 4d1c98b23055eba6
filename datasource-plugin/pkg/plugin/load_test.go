package plugin

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/bdc-analytics/bdc/datasource-plugin/pkg/grafanahost"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

var (
	loadClients = flag.Int("load.clients", 8, "concurrent gRPC clients of TestConcurrentClients")
	loadCalls   = flag.Int("load.calls", 16, "QueryData calls each client of TestConcurrentClients makes")
)

// loadRanges are the panel ranges the load test's queries come in: the golden range and the same
// range starting four weeks later, so that each query kind has two cache keys.
var loadRanges = []backend.TimeRange{history, {From: history.From.AddDate(0, 0, 28), To: history.To}}

// TestConcurrentClients is the short form of the plugin's load test (bench's BenchmarkPluginLoad
// is the long one): one launched plugin binary, several gRPC clients at once, as the panels of
// dashboards open in several browsers, each sending its share of a fixed schedule of QueryData
// calls over every golden query kind at two ranges, through a datasource whose cache is on. The
// schedule makes the first call of each query a cache miss while other clients compute other
// queries, and the later ones hits, some of them racing a miss of the same key. It proves that no
// call fails and that every answer is exactly the answer of the same query sent alone to a
// datasource without a cache: concurrency and the cache change nothing of what a panel shows. It
// logs the latency percentiles and the throughput; times are not asserted.
func TestConcurrentClients(t *testing.T) {
	d := testdb.Get(t)
	h := launchPlugin(t)
	alone, err := grafanahost.PluginContext(d.URL, "load-alone", map[string]any{"cacheTTL": 0})
	if err != nil {
		t.Fatal(err)
	}
	shared, err := grafanahost.PluginContext(d.URL, "load", map[string]any{"cacheTTL": 300})
	if err != nil {
		t.Fatal(err)
	}
	var queries []backend.DataQuery
	var names []string
	for _, name := range slices.Sorted(maps.Keys(goldenQueries)) {
		for i, r := range loadRanges {
			q := goldenQueries[name]
			q.TimeRange = r
			queries = append(queries, q)
			names = append(names, fmt.Sprintf("%s@range%d", name, i))
		}
	}
	want := make([]string, len(queries))
	for i, q := range queries {
		want[i] = framesJSON(t, answer(t, h, alone, q))
	}

	// Call k of the schedule (client k mod N, its call k div N) sends query k mod len(queries):
	// at any moment the clients ask for N consecutive queries, so the first pass over the
	// queries misses the cache and every later one hits it.
	clients, calls := *loadClients, *loadCalls
	latencies := make([]time.Duration, clients*calls)
	var wg sync.WaitGroup
	begin := time.Now()
	for c := range clients {
		wg.Go(func() {
			for i := range calls {
				k := i*clients + c
				q := queries[k%len(queries)]
				start := time.Now()
				resp, err := h.QueryData(t.Context(), shared, q)
				latencies[k] = time.Since(start)
				if err != nil {
					t.Errorf("client %d, call %d (%s): %v", c, i, names[k%len(queries)], err)
					continue
				}
				dr := resp.Responses[q.RefID]
				if dr.Error != nil {
					t.Errorf("client %d, call %d (%s): %v", c, i, names[k%len(queries)], dr.Error)
					continue
				}
				got, err := json.Marshal(dr.Frames) // not framesJSON: t.Fatal only on the test's goroutine
				if err != nil {
					t.Errorf("client %d, call %d (%s): %v", c, i, names[k%len(queries)], err)
				} else if string(got) != want[k%len(queries)] {
					t.Errorf("client %d, call %d (%s): the frames differ from the query's alone\nalone: %.1000s\nunder load: %.1000s",
						c, i, names[k%len(queries)], want[k%len(queries)], got)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	slices.Sort(latencies)
	t.Logf("%d clients × %d QueryData calls over %d distinct queries (each a cache miss at first, then hits): p50 %s, p99 %s, max %s; %.0f calls/s over %s",
		clients, calls, len(queries), percentile(latencies, 0.50), percentile(latencies, 0.99),
		latencies[len(latencies)-1], float64(len(latencies))/elapsed.Seconds(), elapsed.Round(time.Millisecond))
}

// percentile is the nearest-rank percentile p (0 to 1) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
