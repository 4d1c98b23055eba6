package exporter

import (
	"net/http"
	"testing"
)

// TestNegotiation: which requests take the cached text path, and which get gzip.
func TestNegotiation(t *testing.T) {
	for _, c := range []struct {
		accept, encoding string
		text, gzip       bool
	}{
		// Prometheus 2.x: OpenMetrics preferred, then text.
		{"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "gzip", true, true},
		{"", "", true, false}, // curl
		{"text/plain", "gzip, deflate", true, true},
		{"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", "gzip;q=0", false, false},
		{"*/*", "identity", true, false},
	} {
		h := http.Header{}
		h.Set("Accept", c.accept)
		h.Set("Accept-Encoding", c.encoding)
		r := &http.Request{Header: h}
		if got := wantsText(h); got != c.text {
			t.Errorf("Accept %q: text %v, want %v", c.accept, got, c.text)
		}
		if got := acceptsGzip(r); got != c.gzip {
			t.Errorf("Accept-Encoding %q: gzip %v, want %v", c.encoding, got, c.gzip)
		}
	}
}
