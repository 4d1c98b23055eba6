// Package plugin is the backend of the Grafana datasource bdc-analytics-datasource: one
// instance per configured datasource, holding a pgx pool, routing each query type to the
// suite's packages (pkg/kpi, pkg/analytics, ...), turning results into data frames, serving the
// editors' lists as resources and streaming real-time figures through Grafana Live. It computes
// nothing itself: the analytics live in the shared packages.
package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/bdc-analytics/bdc/datasource-plugin/pkg/settings"
	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/store"
)

// ID is the plugin's id in plugin.json.
const ID = "bdc-analytics-datasource"

// Application is the application_name the plugin's connections show in pg_stat_activity.
const Application = "bdc-analytics-datasource"

// Compile-time checks that Datasource serves everything Grafana calls.
var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ backend.StreamHandler         = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// Datasource is one configured instance of the plugin.
type Datasource struct {
	settings  settings.Settings
	db        *store.DB
	analytics *analytics.Engine
	mux       *datasource.QueryTypeMux
	resources http.Handler
	cache     *cache
	live      *hub
	logger    log.Logger
}

// NewDatasource is the instance factory given to datasource.Manage: it validates the settings
// and opens the pool (without waiting for the server, so a datasource saved while PostgreSQL is
// down still loads and CheckHealth says what is wrong).
func NewDatasource(ctx context.Context, s backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	cfg, err := settings.Load(s)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, store.Config{URL: cfg.URL(), Application: Application, MaxConns: 8})
	if err != nil {
		return nil, fmt.Errorf("couldn't open a pool to %s: %w", cfg.Addr(), errors.Unwrap(err))
	}
	ds := &Datasource{
		settings:  cfg,
		db:        db,
		analytics: &analytics.Engine{DB: db, Timeout: cfg.QueryTimeout},
		cache:     newCache(cfg.CacheTTL, 512),
		logger:    log.DefaultLogger.With("datasource", s.UID),
	}
	ds.live = newHub(db, ds.logger)
	ds.mux = datasource.NewQueryTypeMux()
	for kind, h := range ds.handlers() {
		ds.mux.HandleFunc(kind, ds.run(kind, h))
	}
	ds.mux.HandleFunc("", ds.unknownType)
	ds.resources = ds.resourceMux()
	return ds, nil
}

// Dispose closes the pool and stops the live pollers when Grafana drops the instance (settings
// changed or datasource deleted).
func (ds *Datasource) Dispose() {
	ds.live.close()
	ds.db.Close()
}

// handler answers one query of a kind with its frames.
type handler func(ctx context.Context, q backend.DataQuery, env *envelope) (data.Frames, error)

// QueryData answers every query of the request; each gets its own response, so one bad query
// does not spoil the others.
func (ds *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	return ds.mux.QueryData(ctx, req)
}

// run adapts a handler to the mux: it decodes each query, serves it from the cache when it can,
// and maps errors to per-query responses with their source.
func (ds *Datasource) run(kind string, h handler) backend.QueryDataHandlerFunc {
	return func(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
		resp := backend.NewQueryDataResponse()
		for _, q := range req.Queries {
			resp.Responses[q.RefID] = ds.one(ctx, kind, q, h)
		}
		return resp, nil
	}
}

func (ds *Datasource) one(ctx context.Context, kind string, q backend.DataQuery, h handler) backend.DataResponse {
	env, err := decodeEnvelope(q)
	if err != nil {
		return errorResponse(err)
	}
	key := cacheKey(kind, q, env)
	if frames, ok := ds.cache.get(key); ok {
		return backend.DataResponse{Frames: frames}
	}
	frames, err := h(ctx, q, env)
	if err != nil {
		dr := errorResponse(err)
		if (dr.Status == backend.StatusBadGateway || dr.Status == backend.StatusTimeout) && !strings.Contains(dr.Error.Error(), ds.settings.Addr()) {
			// A session cut mid-query ("terminating connection due to administrator command")
			// does not say which server failed, and the panel's error is all the user sees.
			dr.Error = fmt.Errorf("PostgreSQL at %s: %w", ds.settings.Addr(), dr.Error)
		}
		return dr
	}
	for _, f := range frames {
		if f.Rows() > ds.settings.MaxRows {
			return errorResponse(badQuery("the result has %d rows, more than this datasource's limit of %d: narrow the time range or the filters", f.Rows(), ds.settings.MaxRows))
		}
	}
	ds.cache.put(key, frames)
	return backend.DataResponse{Frames: frames}
}

func (ds *Datasource) unknownType(_ context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	kinds := make([]string, 0, len(ds.handlers()))
	for k := range ds.handlers() {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	resp := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		resp.Responses[q.RefID] = backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourcePlugin,
			fmt.Sprintf("unknown query type %q: want one of %s", q.QueryType, strings.Join(kinds, ", ")))
	}
	return resp, nil
}

// errQuery marks a query the user must fix (plugin error source, 400).
type errQuery struct{ msg string }

func (e *errQuery) Error() string { return e.msg }

func badQuery(format string, args ...any) error { return &errQuery{fmt.Sprintf(format, args...)} }

// errorResponse maps an error to a response: invalid queries are the plugin's (400), failures
// of PostgreSQL are downstream (timeouts 504, the rest 502), and so is a model or a history
// that is not there yet (404).
func errorResponse(err error) backend.DataResponse {
	var eq *errQuery
	var nr *errNotReady
	switch {
	case errors.As(err, &eq), errors.Is(err, analytics.ErrInvalidQuery):
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourcePlugin, err.Error())
	case errors.As(err, &nr): // no model trained yet, no history: the data is missing, not the query wrong
		return backend.ErrDataResponseWithSource(backend.StatusNotFound, backend.ErrorSourceDownstream, err.Error())
	case errors.Is(err, store.ErrQueryTimeout), errors.Is(err, context.DeadlineExceeded):
		return backend.ErrDataResponseWithSource(backend.StatusTimeout, backend.ErrorSourceDownstream, err.Error())
	default:
		return backend.ErrDataResponseWithSource(backend.StatusBadGateway, backend.ErrorSourceDownstream, err.Error())
	}
}

// envelope is what every query carries besides its kind's own fields.
type envelope struct {
	raw      json.RawMessage
	from, to time.Time
	interval time.Duration
	maxData  int64
}

func decodeEnvelope(q backend.DataQuery) (*envelope, error) {
	if len(q.JSON) > 0 && !json.Valid(q.JSON) {
		return nil, badQuery("the query is not valid JSON")
	}
	return &envelope{raw: q.JSON, from: q.TimeRange.From, to: q.TimeRange.To, interval: q.Interval, maxData: q.MaxDataPoints}, nil
}

// decode reads the query's JSON into v, refusing unknown fields' wrong types with the field's
// name.
func (e *envelope) decode(v any) error {
	if len(e.raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(e.raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return badQuery("field %s: want %s, got %s", te.Field, te.Type, te.Value)
		}
		return badQuery("couldn't read the query: %v", err)
	}
	return nil
}
