// Package exporter holds bdc-exporter's server: its metrics registry, the database probe, and the
// HTTP endpoints (/metrics, landing page, health and readiness). Scrapes read state kept in
// memory; they never wait on the database.
package exporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/bdc-analytics/bdc/pkg/store"
)

// Name is the program name used in metrics and on the landing page.
const Name = "bdc_exporter"

// DefaultProbeInterval is how often the database is pinged for bdc_exporter_database_up.
const DefaultProbeInterval = 15 * time.Second

// Exporter owns the registry and the background work that fills it.
type Exporter struct {
	db            *store.DB
	logger        *slog.Logger
	registry      *prometheus.Registry
	probeInterval time.Duration
	up            atomic.Bool // the last ping succeeded
	reached       atomic.Bool // a ping has succeeded once
}

// New builds an exporter reading from db.
func New(db *store.DB, logger *slog.Logger) *Exporter {
	e := &Exporter{db: db, logger: logger, registry: prometheus.NewRegistry(), probeInterval: DefaultProbeInterval}
	e.registry.MustRegister(
		versioncollector.NewCollector(Name),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bdc_exporter_database_up",
			Help: "Whether the last ping of PostgreSQL succeeded (1) or not (0).",
		}, func() float64 {
			if e.up.Load() {
				return 1
			}
			return 0
		}),
	)
	return e
}

// Registry is where collectors of the exporter register.
func (e *Exporter) Registry() *prometheus.Registry { return e.registry }

// Run probes the database until ctx ends.
func (e *Exporter) Run(ctx context.Context) {
	t := time.NewTicker(e.probeInterval)
	defer t.Stop()
	for {
		e.probe(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (e *Exporter) probe(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := e.db.Ping(ctx)
	was := e.up.Swap(err == nil)
	switch {
	case err == nil && !was:
		e.reached.Store(true)
		e.logger.Info("database reachable", "addr", e.db.Addr())
	case err != nil && (was || !e.reached.Load()) && ctx.Err() == nil:
		e.logger.Warn("database unreachable", "err", err)
	}
}

// Handler serves the exporter's endpoints; metricsPath is usually /metrics.
func (e *Exporter) Handler(metricsPath string) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle(metricsPath, promhttp.InstrumentMetricHandler(e.registry,
		promhttp.HandlerFor(e.registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(e.logger.Handler(), slog.LevelError)})))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !e.reached.Load() {
			http.Error(w, "Not ready: PostgreSQL has not been reached yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	if metricsPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "BDC Analytics exporter",
			Description: "KPIs, real-time figures, model scores and forecasts of a career-assessment platform",
			Version:     version.Info(),
			Links: []web.LandingLinks{
				{Address: metricsPath, Text: "Metrics"},
				{Address: "/-/healthy", Text: "Health"},
				{Address: "/-/ready", Text: "Readiness"},
			},
		})
		if err != nil {
			return nil, fmt.Errorf("couldn't build landing page: %w", err)
		}
		mux.Handle("/", landing)
	}
	return mux, nil
}

// Serve listens with the exporter-toolkit's web configuration (TLS, basic auth) until ctx ends,
// then shuts the server down gracefully.
func Serve(ctx context.Context, handler http.Handler, flags *web.FlagConfig, logger *slog.Logger) error {
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- web.ListenAndServe(srv, flags, logger) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil {
			return err
		}
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
