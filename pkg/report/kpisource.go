package report

import (
	"context"
	"fmt"
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
	out := make([][]point, len(instants))
	err := s.db.ReadOnly(ctx, s.timeout, func(ctx context.Context, tx pgx.Tx) error {
		batch := &pgx.Batch{}
		for i, at := range instants {
			p := s.params
			p.At = at
			batch.Queue(def.Query(), def.Args(p)...).Query(func(rows pgx.Rows) error {
				for rows.Next() {
					vals, err := rows.Values()
					if err != nil {
						return err
					}
					smp, err := def.ParseRow(vals)
					if err != nil {
						return err
					}
					out[i] = append(out[i], samplePoint(def, smp))
				}
				return rows.Err()
			})
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't compute %s at %d instants: %w", def.Name, len(instants), err)
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
