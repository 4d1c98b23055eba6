package plugin

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/kpi"
)

// Limits of a KPI series: at most this many instants per panel, whatever its max data points.
const (
	maxKPISteps     = 500
	defaultKPISteps = 300
)

// kpiQuery is a KPI drawn over the panel's range: the KPI evaluated at evenly spaced instants.
type kpiQuery struct {
	KPI string `json:"kpi"`
	analytics.Query
}

func (ds *Datasource) queryKPI(ctx context.Context, _ backend.DataQuery, env *envelope) (data.Frames, error) {
	var q kpiQuery
	if err := env.decode(&q); err != nil {
		return nil, err
	}
	def, ok := kpi.ByName(q.KPI)
	if !ok {
		return nil, badQuery("unknown kpi %q: the resource kpis lists them", q.KPI)
	}
	q.From, q.To = env.from, env.to
	if err := q.Validate(); err != nil {
		return nil, err
	}
	steps := instants(env)
	params := kpi.Params{TimeZone: q.TimeZone, Region: q.Filters.Region, AcquisitionChannel: q.Filters.AcquisitionChannel,
		TrainerID: q.Filters.TrainerID, AppointmentChannel: q.Filters.AppointmentChannel}
	var notices []data.Notice
	if !def.Filterable() && !q.Filters.IsZero() {
		notices = append(notices, data.Notice{Severity: data.NoticeSeverityWarning,
			Text: def.Name + " counts the whole platform: the filters do not apply to it"})
	}
	if len(q.Filters.Gender) > 0 || len(q.Filters.AgeBand) > 0 {
		notices = append(notices, data.Notice{Severity: data.NoticeSeverityWarning,
			Text: "KPIs apply the region, acquisition channel, trainer and appointment channel filters only"})
	}

	// One read-only transaction, one round trip: the KPI at every instant, batched.
	var samples [][]kpi.Sample
	err := ds.db.ReadOnly(ctx, ds.settings.QueryTimeout, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		samples, err = def.RunAt(ctx, tx, params, steps)
		return err
	})
	if err != nil {
		return nil, err
	}
	frame := kpiFrame(def, steps, samples)
	frame.Meta = &data.FrameMeta{
		Type: data.FrameTypeTimeSeriesWide, PreferredVisualization: data.VisTypeGraph, Notices: notices,
		ExecutedQueryString: fmt.Sprintf("-- %s at %d instants from %s to %s (parameters: instant, time zone, filters)\n%s",
			def.Name, len(steps), steps[0].Format(time.RFC3339), steps[len(steps)-1].Format(time.RFC3339), def.Query()),
	}
	return data.Frames{frame}, nil
}

// instants are the evaluation instants of a KPI series: the end of each step of the range, at
// most maxKPISteps, at least a minute apart.
func instants(env *envelope) []time.Time {
	n := int64(defaultKPISteps)
	if env.maxData > 0 {
		n = min(env.maxData, maxKPISteps)
	}
	span := env.to.Sub(env.from)
	step := max(env.interval, span/time.Duration(n), time.Minute)
	var out []time.Time
	for t := env.to; !t.Before(env.from) && len(out) < maxKPISteps; t = t.Add(-step) {
		out = append(out, t)
	}
	if len(out) == 0 {
		out = append(out, env.to)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// kpiFrame builds a wide frame: time, then one field per label set (per bucket bound for a
// histogram), null where a label set has no value at an instant.
func kpiFrame(def kpi.Definition, steps []time.Time, samples [][]kpi.Sample) *data.Frame {
	type series struct {
		labels data.Labels
		values []*float64
	}
	byKey := map[string]*series{}
	var keys []string
	add := func(key string, labels data.Labels, i int, v float64) {
		s := byKey[key]
		if s == nil {
			s = &series{labels: labels, values: make([]*float64, len(steps))}
			byKey[key] = s
			keys = append(keys, key)
		}
		s.values[i] = &v
	}
	for i, ss := range samples {
		for _, s := range ss {
			labels := data.Labels{}
			for j, name := range def.Labels {
				labels[name] = s.Labels[j]
			}
			if def.Kind != kpi.Histogram {
				add(labels.String(), labels, i, s.Value)
				continue
			}
			for b, bound := range def.Buckets {
				l := labels.Copy()
				l["le"] = strconv.FormatFloat(bound, 'g', -1, 64)
				add(l.String(), l, i, float64(s.Buckets[b]))
			}
			l := labels.Copy()
			l["le"] = "+Inf"
			add(l.String(), l, i, float64(s.Count))
		}
	}
	frame := data.NewFrame(def.Name, data.NewField("time", nil, steps))
	for _, k := range keys {
		s := byKey[k]
		f := data.NewField(def.Name, s.labels, s.values)
		f.Config = &data.FieldConfig{Unit: grafanaUnit(def.Unit), Description: def.Help,
			DisplayNameFromDS: displayName(def, s.labels)}
		frame.Fields = append(frame.Fields, f)
	}
	return frame
}

// displayName is the legend of a KPI field: its label values, or the KPI's name alone.
func displayName(def kpi.Definition, labels data.Labels) string {
	if len(labels) == 0 {
		return strings.TrimPrefix(def.Name, "bdc_")
	}
	parts := make([]string, 0, len(labels))
	for _, name := range append(append([]string{}, def.Labels...), "le") {
		if v, ok := labels[name]; ok {
			parts = append(parts, name+"="+v)
		}
	}
	return strings.Join(parts, ", ")
}

// grafanaUnit maps a KPI's unit to Grafana's unit ids.
func grafanaUnit(unit string) string {
	switch unit {
	case "ratio":
		return "percentunit"
	case "seconds":
		return "s"
	case "percent":
		return "percent"
	case "currency":
		return "currencyEUR"
	default:
		return "short"
	}
}
