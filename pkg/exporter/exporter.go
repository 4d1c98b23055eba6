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
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/predict"
	"github.com/bdc-analytics/bdc/pkg/store"
)

// Name is the program name used in metrics and on the landing page.
const Name = "bdc_exporter"

// DefaultProbeInterval is how often the database is pinged for bdc_exporter_database_up.
const DefaultProbeInterval = 15 * time.Second

// Options configure an exporter; the zero value serves the built-in KPIs on DESIGN.md §3's
// schedules.
type Options struct {
	// Schedules of the KPI groups; missing groups take DefaultSchedules.
	Schedules Schedules
	// TimeZone of calendar days ("today"); empty means the platform's, Europe/Paris.
	TimeZone string
	// Concurrency bounds the queries running at once (default 4).
	Concurrency int
	// ConfigFile is the custom metrics file (--config.file); empty for none.
	ConfigFile string
	// ProbeInterval is how often the database is pinged (default DefaultProbeInterval).
	ProbeInterval time.Duration
	// Models configure the model and forecast metrics.
	Models ModelOptions
	// Now is the clock KPIs are evaluated at; nil means time.Now. Tests fix it to compare the
	// scrape with a reference computed at the same instant.
	Now func() time.Time
}

// Exporter owns the registry and the background work that fills it.
type Exporter struct {
	db            *store.DB
	logger        *slog.Logger
	opts          Options
	registry      *prometheus.Registry // everything but the engine
	engineReg     *prometheus.Registry // the engine, encoded once per refresh (metricsHandler)
	engine        *Engine
	probeInterval time.Duration
	up            atomic.Bool // the last ping succeeded
	reached       atomic.Bool // a ping has succeeded once

	reloadMu sync.Mutex
	running  bool
	custom   []string // names of the custom metrics in force
}

// New builds an exporter reading from db. It reads and validates the custom metrics file, if
// any, so a bad file stops the exporter before it serves anything.
func New(db *store.DB, logger *slog.Logger, opts Options) (*Exporter, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.TimeZone == "" {
		opts.TimeZone = kpi.DefaultTimeZone
	}
	schedules := Schedules{}
	for g, s := range DefaultSchedules {
		schedules[g] = s
	}
	for g, s := range opts.Schedules {
		schedules[g] = s
	}
	opts.Schedules = schedules
	e := &Exporter{db: db, logger: logger, opts: opts, registry: prometheus.NewRegistry(), engineReg: prometheus.NewRegistry(), probeInterval: DefaultProbeInterval,
		engine: NewEngine(db, opts.Concurrency, logger)}
	if opts.Now != nil {
		e.engine.now = opts.Now
	}
	if opts.ProbeInterval > 0 {
		e.probeInterval = opts.ProbeInterval
	}
	opts.Models = opts.Models.withDefaults()
	if err := opts.Models.Validate(); err != nil {
		return nil, err
	}
	if opts.ConfigFile != "" {
		if _, err := LoadCustomConfig(opts.ConfigFile); err != nil {
			return nil, err
		}
	}
	e.engineReg.MustRegister(e.engine)
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
	return e, nil
}

// Registry is where collectors of the exporter register (gathered at every scrape).
func (e *Exporter) Registry() *prometheus.Registry { return e.registry }

// Run refreshes the metrics and probes the database until ctx ends.
func (e *Exporter) Run(ctx context.Context) {
	// The built-in and custom metrics start together, so readiness waits for all of them.
	sources := KPISources(e.opts.Schedules, e.opts.TimeZone)
	if !e.opts.Models.Disabled {
		var gate chan struct{}
		if e.opts.Models.TrainAtStart {
			gate = make(chan struct{})
			go e.train(ctx, gate)
		}
		sources = append(sources, ModelSources(e.predictStore(), e.opts.Models, gate)...)
	}
	custom, err := e.customSources()
	if err != nil {
		e.logger.Error("couldn't load custom metrics", "err", err)
	}
	e.reloadMu.Lock()
	e.engine.Start(ctx, append(sources, custom...))
	for _, s := range custom {
		e.custom = append(e.custom, s.Name())
	}
	e.running = true
	e.reloadMu.Unlock()
	defer e.engine.Wait()
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

// predictStore is the models' access to the database, in the platform's time zone.
func (e *Exporter) predictStore() *predict.Store {
	return &predict.Store{DB: e.db, TimeZone: e.opts.TimeZone}
}

// train runs the reporter's train job once (demo mode), then opens gate: the model sources
// refresh after it, whatever its outcome (a model it could not train is simply not published).
func (e *Exporter) train(ctx context.Context, gate chan struct{}) {
	defer close(gate)
	begin := time.Now()
	e.logger.Info("training the models and forecasting before publishing their metrics")
	rep, err := e.predictStore().RunJob(ctx, predict.JobOptions{Now: e.engine.now(), Logger: e.logger})
	if err != nil {
		if ctx.Err() == nil {
			e.logger.Error("the train job failed in part; publishing what it made", "err", store.LogSafe(err))
		}
		return
	}
	e.logger.Info("models and forecasts ready", "trained", len(rep.Registrations), "forecasts", len(rep.Forecasts),
		"duration", time.Since(begin).Round(time.Millisecond))
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

// Reload reads the custom metrics file again and swaps the custom metrics: unchanged ones keep
// their values and schedules, a bad file changes nothing.
func (e *Exporter) Reload() error {
	if e.opts.ConfigFile == "" {
		return nil
	}
	sources, err := e.customSources()
	if err != nil {
		return err
	}
	names := make([]string, len(sources))
	for i, s := range sources {
		names[i] = s.Name()
	}
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	if !e.running {
		return errors.New("the exporter is starting: try again")
	}
	e.engine.Replace(e.custom, sources)
	e.custom = names
	e.logger.Info("custom metrics loaded", "file", e.opts.ConfigFile, "metrics", len(sources))
	return nil
}

// customSources reads the custom metrics file, if any.
func (e *Exporter) customSources() ([]Source, error) {
	if e.opts.ConfigFile == "" {
		return nil, nil
	}
	cfg, err := LoadCustomConfig(e.opts.ConfigFile)
	if err != nil {
		return nil, err
	}
	return CustomSources(cfg), nil
}

// Ready reports whether the database was reached and every query refreshed once.
func (e *Exporter) Ready() bool { return e.reached.Load() && e.engine.Ready() }

// Handler serves the exporter's endpoints; metricsPath is usually /metrics.
func (e *Exporter) Handler(metricsPath string) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle(metricsPath, promhttp.InstrumentMetricHandler(e.registry, newMetricsHandler(e.engine, e.engineReg, e.registry, e.logger)))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case !e.reached.Load():
			http.Error(w, "Not ready: PostgreSQL has not been reached yet", http.StatusServiceUnavailable)
		case !e.engine.Ready():
			http.Error(w, "Not ready: the first refresh of the metrics is not done", http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, "Ready")
		}
	})
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			http.Error(w, "use POST to reload", http.StatusMethodNotAllowed)
			return
		}
		if err := e.Reload(); err != nil {
			http.Error(w, "reload failed, keeping the current metrics: "+err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "Reloaded")
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
