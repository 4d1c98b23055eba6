package predict

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/ml"
)

// Drift thresholds of the population stability index, as commonly read: below PSIStable the
// population has not moved, above PSIShifted it has moved enough to question the model.
const (
	PSIStable  = 0.1
	PSIShifted = 0.25
)

// psiBins is the number of quantile bins a continuous distribution is cut into.
const psiBins = 10

// psiFloor replaces empty bins' shares in the PSI, whose logarithm would be infinite.
const psiFloor = 1e-4

// Baseline holds the training-window distributions that drift is measured against: the score's
// and each feature's (encoded as the model reads it), as the shares of quantile bins.
type Baseline struct {
	// Rows is the number of training rows the distributions come from.
	Rows int `json:"rows"`
	// Score is the distribution of the model's scores on the training rows.
	Score Distribution `json:"score"`
	// Features holds one distribution per schema feature, in schema order.
	Features []Distribution `json:"features"`
}

// Distribution is a binned distribution: bin 0 holds values ≤ Edges[0], bin k values in
// (Edges[k-1], Edges[k]], the last bin values > the last edge.
type Distribution struct {
	Name   string    `json:"name"`
	Edges  []float64 `json:"edges"`
	Shares []float64 `json:"shares"`
}

// newDistribution bins values at their deciles; a feature with few distinct values gets one bin
// per value.
func newDistribution(name string, values []float64) Distribution {
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	var edges []float64
	if len(sorted) > 0 {
		top := sorted[len(sorted)-1]
		for k := 1; k < psiBins; k++ {
			e := sorted[min(len(sorted)-1, k*len(sorted)/psiBins)]
			if e < top && (len(edges) == 0 || e > edges[len(edges)-1]) {
				edges = append(edges, e)
			}
		}
	}
	d := Distribution{Name: name, Edges: edges}
	d.Shares = d.shares(values)
	return d
}

// shares returns the share of values in each bin.
func (d Distribution) shares(values []float64) []float64 {
	out := make([]float64, len(d.Edges)+1)
	for _, v := range values {
		out[sort.SearchFloat64s(d.Edges, v)]++
	}
	for k := range out {
		if len(values) > 0 {
			out[k] /= float64(len(values))
		}
	}
	return out
}

// PSI returns the population stability index of values against the distribution:
// Σ (aₖ − eₖ)·ln(aₖ/eₖ) over its bins, with aₖ the share of values in bin k, eₖ the baseline share,
// both floored at 1e-4.
func (d Distribution) PSI(values []float64) float64 {
	actual := d.shares(values)
	psi := 0.0
	for k, e := range d.Shares {
		a := max(actual[k], psiFloor)
		e = max(e, psiFloor)
		psi += (a - e) * math.Log(a/e)
	}
	return psi
}

// newBaseline computes the distributions of the training rows d and their scores.
func newBaseline(d *ml.Dataset, scores []float64) Baseline {
	b := Baseline{Rows: d.Rows(), Score: newDistribution("score", scores)}
	col := make([]float64, d.Rows())
	for j, name := range d.Names {
		for i := range col {
			col[i] = d.X[i*d.Cols()+j]
		}
		b.Features = append(b.Features, newDistribution(name, col))
	}
	return b
}

// DriftReport is the drift of a model version's population: recent rows against its training
// rows.
type DriftReport struct {
	Model      string    `json:"model"`
	Version    int       `json:"version"`
	MeasuredAt time.Time `json:"measured_at"`
	// RecentFrom and RecentTo bound the as-of instants of the recent rows.
	RecentFrom time.Time `json:"recent_from"`
	RecentTo   time.Time `json:"recent_to"`
	// Rows is the number of recent rows.
	Rows int `json:"rows"`
	// Score is the PSI of the model's scores.
	Score float64 `json:"score_psi"`
	// Features holds each feature's PSI, in schema order.
	Features []FeatureDrift `json:"features"`
}

// FeatureDrift is one feature's population stability index.
type FeatureDrift struct {
	Feature string  `json:"feature"`
	PSI     float64 `json:"psi"`
}

// MaxFeature returns the feature that drifted most.
func (r *DriftReport) MaxFeature() FeatureDrift {
	var best FeatureDrift
	for _, f := range r.Features {
		if f.PSI > best.PSI {
			best = f
		}
	}
	return best
}

// DefaultDriftWindow is the recent window drift is measured on by default.
const DefaultDriftWindow = 28 * 24 * time.Hour

// MeasureDrift computes the drift of version v: the rows its model would have predicted with
// as-of instants in [now-window, now) (0 means DefaultDriftWindow), scored, against the
// distributions of its training rows. It does not save the report (see SaveDrift).
func (s *Store) MeasureDrift(ctx context.Context, v *Version, now time.Time, window time.Duration) (*DriftReport, error) {
	def, err := Lookup(v.Model)
	if err != nil {
		return nil, err
	}
	if window <= 0 {
		window = DefaultDriftWindow
	}
	from := now.Add(-window)
	var f *Frame
	err = s.readOnly(ctx, func(ctx context.Context, tx pgx.Tx) error {
		f, err = def.population(ctx, tx, s.timeZone(), from, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't extract recent %s rows: %w", v.Model, err)
	}
	if f.Len() == 0 {
		return nil, fmt.Errorf("couldn't measure drift of %s: %w in [%s, %s)", v.Model, ErrNoRows,
			from.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	d, err := v.Schema.Encode(f)
	if err != nil {
		return nil, fmt.Errorf("couldn't encode recent %s rows: %w", v.Model, err)
	}
	scores, err := ml.Scores(v.Fitted, d)
	if err != nil {
		return nil, fmt.Errorf("couldn't score recent %s rows: %w", v.Model, err)
	}
	r := &DriftReport{
		Model: v.Model, Version: v.Version, MeasuredAt: now, RecentFrom: from, RecentTo: now,
		Rows: f.Len(), Score: v.Baseline.Score.PSI(scores),
	}
	if len(v.Baseline.Features) != d.Cols() {
		return nil, fmt.Errorf("couldn't measure drift of %s: %w: %d baseline features for %d columns",
			v.Model, ErrSchemaMismatch, len(v.Baseline.Features), d.Cols())
	}
	col := make([]float64, d.Rows())
	for j, base := range v.Baseline.Features {
		for i := range col {
			col[i] = d.X[i*d.Cols()+j]
		}
		r.Features = append(r.Features, FeatureDrift{Feature: base.Name, PSI: base.PSI(col)})
	}
	return r, nil
}

// SaveDrift records a drift report: one row for the score and one per feature. It replaces a
// report of the same model measured at the same instant (a retried job firing).
func (s *Store) SaveDrift(ctx context.Context, r *DriftReport) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `delete from bdc_analytics.model_drift where model = $1 and measured_at = $2`,
			r.Model, r.MeasuredAt); err != nil {
			return err
		}
		rows := [][]any{{r.Model, r.Version, r.MeasuredAt, "score", "", r.Score, r.RecentFrom, r.RecentTo, r.Rows}}
		for _, f := range r.Features {
			rows = append(rows, []any{r.Model, r.Version, r.MeasuredAt, "feature", f.Feature, f.PSI, r.RecentFrom, r.RecentTo, r.Rows})
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"bdc_analytics", "model_drift"},
			[]string{"model", "version", "measured_at", "kind", "feature", "psi", "recent_from", "recent_to", "recent_rows"},
			pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return fmt.Errorf("couldn't save drift of %s: %w", r.Model, err)
	}
	return nil
}

// LatestDrift returns the latest drift report of model. It returns an error wrapping ErrNoRows
// when drift was never measured.
func (s *Store) LatestDrift(ctx context.Context, model string) (*DriftReport, error) {
	var r *DriftReport
	err := s.readOnly(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `select version, measured_at, kind, feature, psi, recent_from, recent_to, recent_rows
			from bdc_analytics.model_drift
			where model = $1 and measured_at = (select max(measured_at) from bdc_analytics.model_drift where model = $1)
			order by kind desc, feature`, model)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var kind, feature string
			var psi float64
			var version, n int
			var at, from, to time.Time
			if err := rows.Scan(&version, &at, &kind, &feature, &psi, &from, &to, &n); err != nil {
				return err
			}
			if r == nil {
				r = &DriftReport{Model: model, Version: version, MeasuredAt: at, RecentFrom: from, RecentTo: to, Rows: n}
			}
			if kind == "score" {
				r.Score = psi
			} else {
				r.Features = append(r.Features, FeatureDrift{Feature: feature, PSI: psi})
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't read drift of %s: %w", model, err)
	}
	if r == nil {
		return nil, fmt.Errorf("drift of %s: %w", model, ErrNoRows)
	}
	return r, nil
}
