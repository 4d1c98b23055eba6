package exporter

import (
	"bytes"
	"compress/gzip"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// metricsHandler serves /metrics in the text format with little work per scrape: the engine's
// metrics, which change only when a refresh ends, are gathered and encoded once per change and
// kept; the rest (Go runtime, process, database probe, the handler's own counters) is gathered at
// every scrape; gzip, when the client asks for it, runs at its fastest level. Other formats
// (protocol buffers) go through promhttp over both registries.
type metricsHandler struct {
	engine   *Engine
	static   *prometheus.Registry // the engine only
	dynamic  prometheus.Gatherer  // everything else
	fallback http.Handler
	logger   *slog.Logger

	mu      sync.Mutex
	version uint64
	text    []byte // the engine's metrics, encoded at version
	valid   bool
}

var (
	textFormat  = expfmt.NewFormat(expfmt.TypeTextPlain)
	protoFormat = expfmt.NewFormat(expfmt.TypeProtoDelim)
)

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

func newMetricsHandler(engine *Engine, static *prometheus.Registry, dynamic prometheus.Gatherer, logger *slog.Logger) *metricsHandler {
	opts := promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}
	return &metricsHandler{engine: engine, static: static, dynamic: dynamic, logger: logger,
		fallback: promhttp.HandlerFor(prometheus.Gatherers{static, dynamic}, opts)}
}

func (h *metricsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !wantsText(r.Header) {
		h.fallback.ServeHTTP(w, r)
		return
	}
	static, ok := h.engineText()
	if !ok {
		h.fallback.ServeHTTP(w, r) // promhttp reports what is wrong
		return
	}
	var dynamic bytes.Buffer
	mfs, err := h.dynamic.Gather()
	if err != nil {
		h.fallback.ServeHTTP(w, r)
		return
	}
	enc := expfmt.NewEncoder(&dynamic, textFormat)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			http.Error(w, "couldn't encode the metrics: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", string(textFormat))
	if !acceptsGzip(r) {
		_, _ = w.Write(static)
		_, _ = w.Write(dynamic.Bytes())
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	gz := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(gz)
	gz.Reset(w)
	_, _ = gz.Write(static)
	_, _ = gz.Write(dynamic.Bytes())
	if err := gz.Close(); err != nil {
		h.logger.Debug("couldn't finish a scrape's response", "err", err)
	}
}

// engineText returns the engine's metrics encoded, encoding them again only when the engine's
// version moved. The version is read before gathering: a refresh that ends meanwhile moves it
// again, and the next scrape encodes anew.
func (h *metricsHandler) engineText() ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v := h.engine.Version()
	if h.valid && v == h.version {
		return h.text, true
	}
	mfs, err := h.static.Gather()
	if err != nil {
		h.valid = false
		return nil, false
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, textFormat)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			h.valid = false
			return nil, false
		}
	}
	h.text, h.version, h.valid = buf.Bytes(), v, true
	return h.text, true
}

// wantsText reports whether a request negotiates the text format among those promhttp offers
// without OpenMetrics: Prometheus, which prefers OpenMetrics, then text, gets text.
func wantsText(h http.Header) bool {
	return expfmt.NegotiateAccept(h, protoFormat, textFormat).FormatType() == expfmt.TypeTextPlain
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0" {
			return true
		}
	}
	return false
}
