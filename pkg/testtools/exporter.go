package testtools

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/store"
)

// FreeAddr returns a loopback address with a port free at the time of the call.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// ServeExporter runs an exporter on db with opts until the test ends, and returns its address
// once /-/ready answers.
func ServeExporter(tb testing.TB, db *store.DB, opts exporter.Options) string {
	tb.Helper()
	return ServeExporterWith(tb, db, slog.New(slog.DiscardHandler), opts)
}

// ServeExporterWith is ServeExporter logging to logger.
func ServeExporterWith(tb testing.TB, db *store.DB, logger *slog.Logger, opts exporter.Options) string {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	exp, err := exporter.New(db, logger, opts)
	if err != nil {
		tb.Fatal(err)
	}
	handler, err := exp.Handler("/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	addr := FreeAddr(tb)
	done := make(chan struct{})
	go exp.Run(ctx)
	go func() {
		defer close(done)
		_ = exporter.Serve(ctx, handler, &web.FlagConfig{WebListenAddresses: &[]string{addr}, WebSystemdSocket: new(bool), WebConfigFile: new(string)}, logger)
	}()
	tb.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r, err := http.Get("http://" + addr + "/-/ready")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the exporter at %s was not ready within 2 minutes", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// MetricFamilies scrapes url and returns the names of the metric families served.
func MetricFamilies(tb testing.TB, url string) map[string]bool {
	tb.Helper()
	r, err := http.Get(url) //nolint:gosec // a test scraping its own loopback exporter
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(r.Body)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]bool{}
	for name := range mfs {
		out[name] = true
	}
	return out
}

// Scrape returns the body of a GET of url (a test's own loopback server).
func Scrape(tb testing.TB, url string) string {
	tb.Helper()
	r, err := http.Get(url) //nolint:gosec // the test's own loopback server
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Body.Close()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return string(body)
}
