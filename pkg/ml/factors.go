package ml

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Factor is one feature's part in a prediction.
type Factor struct {
	// Feature is the feature's name.
	Feature string `json:"feature"`
	// Value is the feature's value in the row.
	Value float64 `json:"value"`
	// Contribution is how much the feature moved the raw prediction away from the bias (see
	// Model.Contributions): positive raises the prediction, negative lowers it.
	Contribution float64 `json:"contribution"`
}

// MainFactors returns the k features that moved m's prediction for row x the most, by
// absolute contribution (ties in column order), with names giving the features' names in
// column order. k ≤ 0 returns every feature.
func MainFactors(m Model, names []string, x []float64, k int) ([]Factor, error) {
	p := m.NumFeatures()
	if len(names) != p || len(x) != p {
		return nil, fmt.Errorf("main factors: %d names and %d values for a model of %d features", len(names), len(x), p)
	}
	_, contrib := m.Contributions(x)
	out := make([]Factor, p)
	for j := range p {
		out[j] = Factor{Feature: names[j], Value: x[j], Contribution: contrib[j]}
	}
	slices.SortStableFunc(out, func(a, b Factor) int {
		return cmp.Compare(math.Abs(b.Contribution), math.Abs(a.Contribution))
	})
	if k > 0 && k < p {
		out = out[:k]
	}
	return out, nil
}
