package exporter_test

import (
	"compress/gzip"
	"errors"
	"io"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// TestScrapeFormats: the text scrape, served from the engine's cached encoding, plain and
// gzipped, holds the same families and values as promhttp's protocol-buffer scrape of the same
// registries; and the cache follows refreshes (a query's last success moves between scrapes).
func TestScrapeFormats(t *testing.T) {
	d := testdb.Get(t)
	at := d.Seed.End.Add(-30 * time.Hour)
	slow := exporter.Schedule{Interval: time.Hour, Timeout: time.Minute}
	second := exporter.Schedule{Interval: time.Second, Timeout: 10 * time.Second}
	base, _ := startWith(t, d.DB, "", exporter.Options{Now: func() time.Time { return at },
		Schedules: exporter.Schedules{kpi.RealTime: second, kpi.Business: slow, kpi.Operational: slow, kpi.Experience: slow},
		Models:    exporter.ModelOptions{Disabled: true}})
	waitReady(t, base)

	fetch := func(accept, encoding string) map[string]*dto.MetricFamily {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/metrics", nil)
		req.Header.Set("Accept", accept)
		req.Header.Set("Accept-Encoding", encoding)
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			body = zr
		} else if encoding == "gzip" {
			t.Errorf("Accept-Encoding: gzip answered without gzip")
		}
		out := map[string]*dto.MetricFamily{}
		dec := expfmt.NewDecoder(body, expfmt.ResponseFormat(resp.Header))
		for {
			mf := &dto.MetricFamily{}
			if err := dec.Decode(mf); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("decoding a %s scrape: %v", resp.Header.Get("Content-Type"), err)
			}
			out[mf.GetName()] = mf
		}
		return out
	}
	const protobuf = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
	// Between two refreshes, the three scrapes see the same snapshot. The queries of a group
	// refresh one after the other, so "no refresh in between" is that no query's last success
	// moved, not only one query's.
	var text, gz, pb map[string]*dto.MetricFamily
	for range 20 {
		before := lastSuccesses(t, base)
		text, gz, pb = fetch("text/plain", ""), fetch("text/plain", "gzip"), fetch(protobuf, "")
		if lastSuccesses(t, base) == before {
			break
		}
	}
	for name, want := range pb {
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_") {
			continue // change from one scrape to the next
		}
		for label, got := range map[string]map[string]*dto.MetricFamily{"text": text, "gzip": gz} {
			if !sameFamily(got[name], want) {
				t.Errorf("%s scrape of %s differs from the protocol-buffer scrape:\n%v\n%v", label, name, got[name], want)
			}
		}
	}
	if len(text) != len(pb) || text["bdc_users_active"] == nil || text["go_goroutines"] == nil {
		t.Errorf("text scrape: %d families, protocol buffers %d", len(text), len(pb))
	}
	first := lastRealtime(t, base)
	eventually(t, "the cached scrape never showed a new refresh", func() bool { return lastRealtime(t, base) > first })
}

// lastSuccesses is the sum of every query's last success in a text scrape: it moves whenever
// any query refreshes.
func lastSuccesses(t *testing.T, base string) float64 {
	t.Helper()
	_, families := scrape(t, base)
	var sum float64
	if mf := families["bdc_exporter_query_last_success_timestamp_seconds"]; mf != nil {
		for _, m := range mf.Metric {
			sum += m.GetGauge().GetValue()
		}
	}
	return sum
}

// lastRealtime is bdc_users_online's last success in a text scrape.
func lastRealtime(t *testing.T, base string) float64 {
	t.Helper()
	_, families := scrape(t, base)
	v, _ := value(families, "bdc_exporter_query_last_success_timestamp_seconds", "query", "bdc_users_online")
	return v
}

// sameFamily compares two families' metrics regardless of order and of how the format spells
// types (a text scrape carries no timestamps or created times).
func sameFamily(a, b *dto.MetricFamily) bool {
	if a == nil || b == nil || a.GetType() != b.GetType() || len(a.Metric) != len(b.Metric) {
		return false
	}
	key := func(m *dto.Metric) string {
		var parts []string
		for _, l := range m.Label {
			parts = append(parts, l.GetName()+"="+l.GetValue())
		}
		return strings.Join(parts, ",")
	}
	want := map[string]*dto.Metric{}
	for _, m := range b.Metric {
		want[key(m)] = m
	}
	for _, m := range a.Metric {
		w := want[key(m)]
		if w == nil {
			return false
		}
		switch {
		case m.Gauge != nil:
			if w.Gauge == nil || !sameFloat(m.Gauge.GetValue(), w.Gauge.GetValue()) {
				return false
			}
		case m.Counter != nil:
			if w.Counter == nil || m.Counter.GetValue() != w.Counter.GetValue() {
				return false
			}
		case m.Histogram != nil:
			if w.Histogram == nil || m.Histogram.GetSampleCount() != w.Histogram.GetSampleCount() ||
				m.Histogram.GetSampleSum() != w.Histogram.GetSampleSum() || !reflect.DeepEqual(cumulativeCounts(m), cumulativeCounts(w)) {
				return false
			}
		}
	}
	return true
}

// cumulativeCounts are a histogram's finite buckets (the text format spells +Inf out, protocol
// buffers leave it implicit).
func cumulativeCounts(m *dto.Metric) []uint64 {
	var out []uint64
	for _, b := range m.Histogram.Bucket {
		if !math.IsInf(b.GetUpperBound(), 1) {
			out = append(out, b.GetCumulativeCount())
		}
	}
	return out
}

func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
