package exporter

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bdc-analytics/bdc/pkg/kpi"
)

// Schedules of the KPI groups: real-time figures every 30 s, KPIs every 5 minutes.
type Schedules map[kpi.Group]Schedule

// DefaultSchedules are DESIGN.md §3's intervals.
var DefaultSchedules = Schedules{
	kpi.RealTime:    {Interval: 30 * time.Second, Timeout: 20 * time.Second},
	kpi.Business:    {Interval: 5 * time.Minute, Timeout: time.Minute},
	kpi.Operational: {Interval: 5 * time.Minute, Timeout: time.Minute},
	kpi.Experience:  {Interval: 5 * time.Minute, Timeout: time.Minute},
}

// kpiSource publishes one KPI, evaluated now in the platform time zone.
type kpiSource struct {
	def      kpi.Definition
	desc     *prometheus.Desc
	schedule Schedule
	timeZone string
}

// KPISources returns a source per KPI of the catalogue, on the group schedules.
func KPISources(schedules Schedules, timeZone string) []Source {
	var out []Source
	for _, d := range kpi.All() {
		out = append(out, &kpiSource{
			def:      d,
			desc:     prometheus.NewDesc(d.Name, d.Help, d.Labels, nil),
			schedule: schedules[d.Group],
			timeZone: timeZone,
		})
	}
	return out
}

func (s *kpiSource) Name() string       { return s.def.Name }
func (s *kpiSource) Key() string        { return s.def.Name + "\x00" + s.def.SQL }
func (s *kpiSource) Schedule() Schedule { return s.schedule }

func (s *kpiSource) Refresh(ctx context.Context, tx pgx.Tx, at time.Time) ([]prometheus.Metric, int, error) {
	samples, err := s.def.Run(ctx, tx, kpi.Params{At: at, TimeZone: s.timeZone})
	if err != nil {
		return nil, 0, err
	}
	metrics, err := constMetrics(s.desc, s.def.Kind, s.def.Buckets, samples)
	return metrics, 0, err
}

// constMetrics turns samples into const metrics of desc.
func constMetrics(desc *prometheus.Desc, kind kpi.Kind, bounds []float64, samples []kpi.Sample) ([]prometheus.Metric, error) {
	out := make([]prometheus.Metric, 0, len(samples))
	for _, smp := range samples {
		var m prometheus.Metric
		var err error
		switch kind {
		case kpi.Histogram:
			buckets := make(map[float64]uint64, len(bounds))
			for i, b := range bounds {
				buckets[b] = smp.Buckets[i]
			}
			m, err = prometheus.NewConstHistogram(desc, smp.Count, smp.Sum, buckets, smp.Labels...)
		case kpi.Counter:
			m, err = prometheus.NewConstMetric(desc, prometheus.CounterValue, smp.Value, smp.Labels...)
		default:
			m, err = prometheus.NewConstMetric(desc, prometheus.GaugeValue, smp.Value, smp.Labels...)
		}
		if err != nil {
			return nil, fmt.Errorf("couldn't build %s: %w", desc, err)
		}
		out = append(out, m)
	}
	return out, nil
}
