package ml

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// ImportanceParams configure PermutationImportance.
type ImportanceParams struct {
	// Metric scores predictions against labels, higher is better. nil means ROC AUC for a
	// classifier (on probabilities) and R² for a regressor. For a loss, pass its negation.
	Metric func(y, score []float64) (float64, error)
	// Repeats is how many random permutations of each feature are scored; 0 means 5.
	Repeats int
	// Seed seeds the permutations; feature j's repeat r draws from its own stream.
	Seed uint64
}

// Importance is the permutation importance of one feature.
type Importance struct {
	// Feature is the feature's name.
	Feature string `json:"feature"`
	// Mean is the mean drop of the metric when the feature's values are shuffled across rows.
	Mean float64 `json:"mean"`
	// Std is the standard deviation of the drop over the repeats.
	Std float64 `json:"std"`
}

// PermutationImportance measures how much m relies on each feature of d: the metric on d,
// minus the metric once the feature's column is shuffled, averaged over repeats. A feature the
// model ignores scores exactly 0. Results are in column order and do not depend on the
// number of cores.
func PermutationImportance(ctx context.Context, m Model, d *Dataset, params ImportanceParams) ([]Importance, error) {
	if err := checkFeatures(m, d); err != nil {
		return nil, fmt.Errorf("permutation importance: %w", err)
	}
	if d.Y == nil {
		return nil, errors.New("permutation importance: dataset has no labels")
	}
	if params.Repeats < 0 {
		return nil, fmt.Errorf("permutation importance: %d repeats", params.Repeats)
	}
	if params.Repeats == 0 {
		params.Repeats = 5
	}
	metric := params.Metric
	if metric == nil {
		metric = R2
		if m.Task() == Classification {
			metric = ROCAUC
		}
	}
	kind, err := scoreKind(m)
	if err != nil {
		return nil, fmt.Errorf("permutation importance: %w", err)
	}
	n, p := d.Rows(), d.Cols()
	scoreAll := func(x []float64, out []float64) (float64, error) {
		predictInto(m, x, out, kind)
		return metric(d.Y, out)
	}
	base, err := scoreAll(d.X, make([]float64, n))
	if err != nil {
		return nil, fmt.Errorf("permutation importance: baseline: %w", err)
	}
	out := make([]Importance, p)
	errs := make([]error, p)
	workers := min(runtime.GOMAXPROCS(0), p)
	var wg sync.WaitGroup
	for wk := range workers {
		wg.Go(func() {
			x := append([]float64(nil), d.X...)
			pred := make([]float64, n)
			col := make([]float64, n)
			for j := wk; j < p; j += workers {
				if err := ctx.Err(); err != nil {
					errs[j] = err
					return
				}
				drops := make([]float64, params.Repeats)
				for r := range params.Repeats {
					rng := newRand(params.Seed, streamPermutation, j*params.Repeats+r)
					for i := range n {
						col[i] = d.X[i*p+j]
					}
					rng.Shuffle(n, func(a, b int) { col[a], col[b] = col[b], col[a] })
					for i := range n {
						x[i*p+j] = col[i]
					}
					s, err := scoreAll(x, pred)
					if err != nil {
						errs[j] = fmt.Errorf("feature %q: %w", d.Names[j], err)
						return
					}
					drops[r] = base - s
				}
				for i := range n {
					x[i*p+j] = d.X[i*p+j]
				}
				mean, sd := meanStd(drops)
				out[j] = Importance{Feature: d.Names[j], Mean: mean, Std: sd}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("permutation importance: %w", err)
	}
	return out, nil
}

// meanStd returns the mean and population standard deviation of v.
func meanStd(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)))
}
