package schedule

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/bdc-analytics/bdc/pkg/insights"
)

// handleInsights serves GET /api/v1/insights: the saved insights, newest first, filtered by
// from and to (bounds of their detection instant: RFC 3339 or Unix seconds, as in Prometheus'
// API), category (trend, anomaly, risk), priority (high, medium, low) and limit.
func (s *Scheduler) handleInsights(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opts := insights.ListOptions{Category: q.Get("category"), Priority: q.Get("priority")}
	var err error
	if opts.From, err = apiTime(q.Get("from")); err != nil {
		fail(w, http.StatusBadRequest, "bad_data", fmt.Errorf("from: %w", err))
		return
	}
	if opts.To, err = apiTime(q.Get("to")); err != nil {
		fail(w, http.StatusBadRequest, "bad_data", fmt.Errorf("to: %w", err))
		return
	}
	if l := q.Get("limit"); l != "" {
		if opts.Limit, err = strconv.Atoi(l); err != nil || opts.Limit < 1 {
			fail(w, http.StatusBadRequest, "bad_data", fmt.Errorf("limit must be between 1 and %d, got %q", insights.MaxLimit, l))
			return
		}
	}
	list, err := insights.NewStore(s.meta).List(r.Context(), opts)
	switch {
	case errors.Is(err, insights.ErrBadOptions):
		fail(w, http.StatusBadRequest, "bad_data", err)
		return
	case err != nil:
		fail(w, http.StatusServiceUnavailable, "unavailable", err)
		return
	}
	if list == nil {
		list = []insights.Insight{}
	}
	ok(w, http.StatusOK, list)
}

// apiTime parses an instant of the API: RFC 3339 or Unix seconds (with a fraction); "" is the
// zero time (no bound).
func apiTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
		return time.Time{}, fmt.Errorf("want an RFC 3339 instant (2026-05-31T06:00:00Z) or Unix seconds, got %q", v)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}
