package analytics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bdc-analytics/bdc/pkg/store"
)

// DefaultRefreshInterval is how often the reporter refreshes the rollups: a refresh reads only
// the activity recorded since the previous one, and complete days enter the rollup within this
// interval after midnight.
const DefaultRefreshInterval = 15 * time.Minute

// Refresher keeps the rollups fresh: the reporter runs one for as long as it runs. Refreshes of
// several replicas are serialised by RefreshRollups' advisory lock and are idempotent, so every
// replica may run its own.
type Refresher struct {
	db       *store.DB
	interval time.Duration
	logger   *slog.Logger

	lastSuccess prometheus.Gauge
	duration    prometheus.Gauge
	failures    prometheus.Counter
	covered     prometheus.Gauge
	rows        prometheus.Counter
}

// NewRefresher returns a refresher of the rollups of db every interval (0 means
// DefaultRefreshInterval), with its metrics registered in reg.
func NewRefresher(db *store.DB, interval time.Duration, logger *slog.Logger, reg prometheus.Registerer) *Refresher {
	if interval <= 0 {
		interval = DefaultRefreshInterval
	}
	r := &Refresher{
		db: db, interval: interval, logger: logger,
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bdc_rollup_refresh_last_success_timestamp_seconds",
			Help: "When the daily activity rollup was last refreshed successfully (0: not yet)."}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bdc_rollup_refresh_duration_seconds",
			Help: "Duration of the last refresh of the daily activity rollup."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "bdc_rollup_refresh_failures_total",
			Help: "Failed refreshes of the daily activity rollup."}),
		covered: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bdc_rollup_covered_until_timestamp_seconds",
			Help: "Start (Europe/Paris midnight) of the first day the daily activity rollup does not cover: analytics read raw activity from there on."}),
		rows: prometheus.NewCounter(prometheus.CounterOpts{Name: "bdc_rollup_refresh_rows_total",
			Help: "Rollup rows written by the refreshes (one per user and day recomputed)."}),
	}
	reg.MustRegister(r.lastSuccess, r.duration, r.failures, r.covered, r.rows)
	return r
}

// Run refreshes at once, then every interval, until ctx ends. A failed refresh is logged and
// counted; the next one retries.
func (r *Refresher) Run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		r.Refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Refresh runs one refresh and records its outcome.
func (r *Refresher) Refresh(ctx context.Context) {
	begin := time.Now()
	stats, err := RefreshRollups(ctx, r.db)
	r.duration.Set(time.Since(begin).Seconds())
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down
		}
		r.failures.Inc()
		r.logger.Warn("rollup refresh failed; analytics read raw activity for the days it would have covered", "err", err)
		return
	}
	r.lastSuccess.SetToCurrentTime()
	if loc, err := time.LoadLocation(DefaultTimeZone); err == nil {
		y, m, d := stats.CoveredUntil.Date() // a date: its calendar day, read as UTC midnight
		r.covered.Set(float64(time.Date(y, m, d, 0, 0, 0, 0, loc).Unix()))
	}
	r.rows.Add(float64(stats.Rows))
	// A refresh that only builds the session rollup (the first after migration 010) says so too.
	if stats.NewDays > 0 || stats.TouchedDays > 0 || stats.SessionRows > 0 {
		r.logger.Info("rollup refreshed", "new_days", stats.NewDays, "touched_days", stats.TouchedDays, "rows", stats.Rows,
			"session_rows", stats.SessionRows, "covered_until", stats.CoveredUntil.Format(time.DateOnly),
			"duration", time.Since(begin).Round(time.Millisecond))
	}
}
