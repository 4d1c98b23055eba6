package exporter

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bdc-analytics/bdc/pkg/store"
)

// Source is one query the engine refreshes in the background: a KPI or a custom metric.
type Source interface {
	// Name is the value of the query label of the self-metrics.
	Name() string
	// Key identifies the source's definition: a reload keeps the last good values of a source
	// whose key did not change.
	Key() string
	// Schedule says how often the source is refreshed and how long one refresh may take.
	Schedule() Schedule
	// Refresh computes the source's metrics at the instant at, in a read-only transaction. It
	// returns the metrics and the number of series dropped by a series limit.
	Refresh(ctx context.Context, tx pgx.Tx, at time.Time) (metrics []prometheus.Metric, dropped int, err error)
}

// Schedule is a refresh interval and the timeout of one refresh.
type Schedule struct {
	Interval time.Duration
	Timeout  time.Duration
}

// state is what the engine knows of a source; Collect reads it without locks on the database.
type state struct {
	source      Source
	metrics     atomic.Pointer[[]prometheus.Metric]
	success     atomic.Bool
	attempted   atomic.Bool
	duration    atomic.Int64 // nanoseconds of the last refresh
	lastSuccess atomic.Int64 // unix nanoseconds
	errors      atomic.Uint64
	dropped     atomic.Uint64
}

// Engine refreshes sources on their schedules into per-source snapshots that scrapes read.
// Scrapes never wait on the database; a failed refresh keeps the last good values.
type Engine struct {
	db     *store.DB
	logger *slog.Logger
	slots  chan struct{} // bounds the queries running at once
	now    func() time.Time

	// version changes whenever what Collect sends may have: a refresh ended, sources changed.
	version atomic.Uint64

	mu      sync.Mutex
	states  map[string]*state // by source name
	cancels map[string]context.CancelFunc
	ctx     context.Context
	wg      sync.WaitGroup
}

// Self-metrics of the engine, one series per query.
var (
	descSuccess = prometheus.NewDesc("bdc_exporter_query_success",
		"Whether the last refresh of the query succeeded (1) or not (0).", []string{"query"}, nil)
	descDuration = prometheus.NewDesc("bdc_exporter_query_duration_seconds",
		"Duration of the last refresh of the query.", []string{"query"}, nil)
	descLastSuccess = prometheus.NewDesc("bdc_exporter_query_last_success_timestamp_seconds",
		"When the query last refreshed successfully (0: never).", []string{"query"}, nil)
	descErrors = prometheus.NewDesc("bdc_exporter_query_errors_total",
		"Failed refreshes of the query.", []string{"query"}, nil)
	descDropped = prometheus.NewDesc("bdc_exporter_series_dropped_total",
		"Series dropped because the query returned more than its max_series.", []string{"query"}, nil)
)

// NewEngine returns an engine running at most concurrency queries at once.
func NewEngine(db *store.DB, concurrency int, logger *slog.Logger) *Engine {
	return &Engine{
		db: db, logger: logger, slots: make(chan struct{}, max(1, concurrency)), now: time.Now,
		states: map[string]*state{}, cancels: map[string]context.CancelFunc{},
	}
}

// Start begins refreshing the sources; it returns at once. Stop with the context.
func (e *Engine) Start(ctx context.Context, sources []Source) {
	e.mu.Lock()
	e.ctx = ctx
	e.mu.Unlock()
	e.Replace(nil, sources)
}

// Replace swaps the sources whose names are in old for sources (reload): a source with the same
// name and key keeps its state and schedule; the others start anew.
func (e *Engine) Replace(old []string, sources []Source) {
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.version.Add(1)
	keep := map[string]bool{}
	for _, s := range sources {
		if st, ok := e.states[s.Name()]; ok && st.source.Key() == s.Key() {
			keep[s.Name()] = true
		}
	}
	for _, name := range old {
		if keep[name] {
			continue
		}
		if cancel := e.cancels[name]; cancel != nil {
			cancel()
		}
		delete(e.cancels, name)
		delete(e.states, name)
	}
	for _, s := range sources {
		if keep[s.Name()] {
			continue
		}
		st := &state{source: s}
		empty := []prometheus.Metric{}
		st.metrics.Store(&empty)
		e.states[s.Name()] = st
		ctx, cancel := context.WithCancel(e.ctx)
		e.cancels[s.Name()] = cancel
		e.wg.Go(func() { e.loop(ctx, st) })
	}
}

// Wait returns when every refresh loop has ended (after the Start context is done).
func (e *Engine) Wait() { e.wg.Wait() }

// loop refreshes one source on its schedule, starting after a delay derived from its name so
// that sources of one group do not all hit the database at the same moment.
func (e *Engine) loop(ctx context.Context, st *state) {
	if g, ok := st.source.(gatedSource); ok && g.Gate() != nil {
		select {
		case <-ctx.Done():
			return
		case <-g.Gate():
		}
	}
	sched := st.source.Schedule()
	h := fnv.New32a()
	_, _ = h.Write([]byte(st.source.Name()))
	stagger := time.Duration(h.Sum32()%1000) * min(sched.Interval, 5*time.Second) / 1000
	timer := time.NewTimer(stagger)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		e.refresh(ctx, st)
		timer.Reset(sched.Interval)
	}
}

func (e *Engine) refresh(ctx context.Context, st *state) {
	select {
	case e.slots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-e.slots }()
	sched := st.source.Schedule()
	begin := time.Now()
	var metrics []prometheus.Metric
	var dropped int
	err := e.db.ReadOnly(ctx, sched.Timeout, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		metrics, dropped, err = st.source.Refresh(ctx, tx, e.now())
		return err
	})
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return // shutting down or reloaded: not a failure of the query
	}
	defer e.version.Add(1)
	st.duration.Store(int64(time.Since(begin)))
	st.attempted.Store(true)
	if err != nil {
		st.success.Store(false)
		st.errors.Add(1)
		e.logger.Warn("refresh failed, keeping the last good values", "query", st.source.Name(), "err", store.LogSafe(err))
		return
	}
	st.metrics.Store(&metrics)
	st.dropped.Add(uint64(dropped))
	st.success.Store(true)
	st.lastSuccess.Store(time.Now().UnixNano())
}

// Version changes whenever the metrics Collect sends may have changed (a refresh ended, the
// sources were replaced): a scrape handler re-encodes them only then.
func (e *Engine) Version() uint64 { return e.version.Load() }

// Ready reports whether every source has been refreshed at least once.
func (e *Engine) Ready() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, st := range e.states {
		if !st.attempted.Load() {
			return false
		}
	}
	return true
}

// Describe sends nothing: the engine's metrics depend on the data (an unchecked collector).
func (e *Engine) Describe(chan<- *prometheus.Desc) {}

// Collect sends the last good metrics of every source and the self-metrics, from memory.
func (e *Engine) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	states := make([]*state, 0, len(e.states))
	for _, st := range e.states {
		states = append(states, st)
	}
	e.mu.Unlock()
	for _, st := range states {
		for _, m := range *st.metrics.Load() {
			ch <- m
		}
		name := st.source.Name()
		success := 0.0
		if st.success.Load() {
			success = 1
		}
		ch <- prometheus.MustNewConstMetric(descSuccess, prometheus.GaugeValue, success, name)
		ch <- prometheus.MustNewConstMetric(descDuration, prometheus.GaugeValue, time.Duration(st.duration.Load()).Seconds(), name)
		last := 0.0
		if ns := st.lastSuccess.Load(); ns > 0 {
			last = float64(ns) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(descLastSuccess, prometheus.GaugeValue, last, name)
		ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, float64(st.errors.Load()), name)
		if _, limited := st.source.(*customSource); limited {
			ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(st.dropped.Load()), name)
		}
	}
}
