package report

import (
	"context"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/store"
)

// point is one sample of a KPI at an instant: its label values and its value (a histogram's
// mean, sum over count).
type point struct {
	labels []string
	value  float64
}

// kpiSource gives KPI values at instants.
type kpiSource interface {
	// name is the source as the document shows it.
	name() string
	// at evaluates def at every instant; the result has one slice of points per instant.
	at(ctx context.Context, def kpi.Definition, instants []time.Time) ([][]point, error)
}

// pgSource computes KPIs from PostgreSQL with pkg/kpi's SQL, every instant of a call in one
// batch of one read-only transaction.
type pgSource struct {
	db      *store.DB
	timeout time.Duration
	params  kpi.Params
}

func (s *pgSource) name() string { return "postgresql" }

func (s *pgSource) at(ctx context.Context, def kpi.Definition, instants []time.Time) ([][]point, error) {
	var samples [][]kpi.Sample
	err := s.db.ReadOnly(ctx, s.timeout, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		samples, err = def.RunAt(ctx, tx, s.params, instants)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([][]point, len(instants))
	for i, ss := range samples {
		for _, smp := range ss {
			out[i] = append(out[i], samplePoint(def, smp))
		}
	}
	return out, nil
}

// samplePoint reads a sample's value: a histogram's is its mean.
func samplePoint(def kpi.Definition, s kpi.Sample) point {
	v := s.Value
	if def.Kind == kpi.Histogram {
		v = math.NaN()
		if s.Count > 0 {
			v = s.Sum / float64(s.Count)
		}
	}
	return point{labels: s.Labels, value: v}
}
