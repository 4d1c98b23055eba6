package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
)

// DefaultAnalyticsRange is the range of an analytics source when the spec gives none: the 90 days
// before the export's instant.
const DefaultAnalyticsRange = 90 * 24 * time.Hour

// The analytics results that are sources. Their parameters are the query's, with PostHog's names
// (package analytics); the time range gives the query's from and to. A result is small (a cohort
// table, a few funnel steps), so it is computed in one query and then listed in key order.
var analyticsSources = []*Source{
	{
		Name: "retention", Kind: KindAnalytics,
		Doc: "One row per cohort and interval of a retention table (analytics.RetentionQuery).",
		Columns: []SourceColumn{
			col("breakdown", String, false), col("cohort_start", Timestamp, false),
			rule(col("cohort_size", Int, false), "at least 0", intBetween(0, 1<<62)),
			col("interval", Int, false), col("interval_start", Timestamp, false),
			rule(col("count", Int, false), "at least 0", intBetween(0, 1<<62)),
			rule(col("ratio", Float, false), "between 0 and 1", floatBetween(0, 1)),
		},
		Key:        []string{"breakdown", "cohort_start", "interval"},
		TimeColumn: "cohort_start",
		params:     retentionParams,
		stream:     streamRetention,
	},
	{
		Name: "funnel", Kind: KindAnalytics,
		Doc: "One row per step of a conversion funnel (analytics.FunnelQuery).",
		Columns: []SourceColumn{
			col("breakdown", String, false), col("step", Int, false), col("name", String, false),
			rule(col("count", Int, false), "at least 0", intBetween(0, 1<<62)),
			rule(col("conversion_from_first", Float, false), "between 0 and 1", floatBetween(0, 1)),
			rule(col("conversion_from_previous", Float, false), "between 0 and 1", floatBetween(0, 1)),
			rule(col("median_conversion_seconds", Float, true), "at least 0", floatAtLeast(0)),
			rule(col("average_conversion_seconds", Float, true), "at least 0", floatAtLeast(0)),
		},
		Key:    []string{"breakdown", "step"},
		params: funnelParams,
		stream: streamFunnel,
	},
}

func floatBetween(lo, hi float64) func(any, time.Time) bool {
	return func(v any, _ time.Time) bool { f, ok := v.(float64); return ok && f >= lo && f <= hi }
}

// decodeParams reads the parameters through the query's own JSON decoding, so they are spelled
// as in a Grafana panel. from, to and timezone are the spec's (time_range, timezone), not
// parameters.
func decodeParams(params map[string]any, q any) error {
	for _, k := range []string{"from", "to", "timezone"} {
		if _, ok := params[k]; ok {
			return fmt.Errorf("%s is set by the export's time_range and timezone, not by params", k)
		}
	}
	data, err := json.Marshal(params)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, q)
}

// probeRange is a valid range the parameters are checked with when the spec is compiled; the
// query is validated again with its real range when it runs.
var probeFrom, probeTo = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

func retentionParams(params map[string]any) (any, error) {
	q := &analytics.RetentionQuery{}
	if err := decodeParams(params, q); err != nil {
		return nil, err
	}
	probe := *q
	probe.From, probe.To = probeFrom, probeTo
	return q, probe.Validate()
}

func funnelParams(params map[string]any) (any, error) {
	q := &analytics.FunnelQuery{}
	if err := decodeParams(params, q); err != nil {
		return nil, err
	}
	probe := *q
	probe.From, probe.To = probeFrom, probeTo
	return q, probe.Validate()
}

// analyticsRange is the query range: the spec's, or DefaultAnalyticsRange before the instant.
func analyticsRange(sel *selection) (from, to time.Time) {
	if sel.rng != nil {
		from, to = sel.rng.from, sel.rng.to
	}
	if to.IsZero() {
		to = sel.at
	}
	if from.IsZero() {
		from = to.Add(-DefaultAnalyticsRange)
	}
	return from, to
}

func streamRetention(ctx context.Context, e *env, src *Source, sel *selection, fn func(Row) error) error {
	q := *sel.params.(*analytics.RetentionQuery)
	q.From, q.To = analyticsRange(sel)
	q.TimeZone = sel.loc.String()
	res, err := e.analytics.Retention(ctx, q)
	if err != nil {
		return err
	}
	var rows []Row
	for _, c := range res.Cohorts {
		for _, iv := range c.Intervals {
			rows = append(rows, Row{c.Breakdown, c.Start, c.Size, int64(iv.Index), iv.Start, iv.Count, iv.Ratio})
		}
	}
	return emit(rows, src, sel, fn)
}

func streamFunnel(ctx context.Context, e *env, src *Source, sel *selection, fn func(Row) error) error {
	q := *sel.params.(*analytics.FunnelQuery)
	q.From, q.To = analyticsRange(sel)
	q.TimeZone = sel.loc.String()
	res, err := e.analytics.Funnel(ctx, q)
	if err != nil {
		return err
	}
	var rows []Row
	for _, s := range res.Series {
		for _, st := range s.Steps {
			rows = append(rows, Row{s.Breakdown, int64(st.Order), st.Name, st.Count,
				st.ConversionFromFirst, st.ConversionFromPrevious, floatOrNil(st.MedianConversionTime), floatOrNil(st.AverageConversionTime)})
		}
	}
	return emit(rows, src, sel, fn)
}

func floatOrNil(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// emit sorts full rows by the source's key, applies the predicates and the limit in memory (the
// range went into the query), and hands the selected columns to fn.
func emit(rows []Row, src *Source, sel *selection, fn func(Row) error) error {
	keys := make([]int, len(src.Key))
	for i, k := range src.Key {
		keys[i] = src.column(k)
	}
	slices.SortStableFunc(rows, func(a, b Row) int {
		for _, k := range keys {
			if c := compareNullable(a[k], b[k]); c != 0 {
				return c
			}
		}
		return 0
	})
	out := make(Row, len(sel.read))
	var n int64
	for _, r := range rows {
		if !slices.ContainsFunc(sel.where, func(p resolvedPredicate) bool { return !p.match(r[p.column]) }) {
			if sel.limit > 0 && n >= sel.limit {
				return nil
			}
			for i, c := range sel.read {
				out[i] = r[c]
			}
			if err := fn(out); err != nil {
				return err
			}
			n++
		}
	}
	return nil
}

func compareNullable(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1 // nulls last, as PostgreSQL orders ascending
	case b == nil:
		return -1
	}
	return compare(a, b)
}

// errNoParams is returned by tables given analytics parameters.
var errNoParams = errors.New("only analytics sources (retention, funnel) take params")
