package ml

import (
	"context"
	"testing"
)

func TestPermutationImportance(t *testing.T) {
	ctx := context.Background()
	d := synth(1500, 6, Classification, 71)
	// A stump uses one feature: every other one must score exactly 0.
	stump, err := FitTree(ctx, d, TreeParams{Task: Classification, MaxDepth: 1})
	if err != nil {
		t.Fatal(err)
	}
	used, _, _ := stump.RootSplit()
	imp, err := PermutationImportance(ctx, stump, d, ImportanceParams{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for j, im := range imp {
		if im.Feature != d.Names[j] {
			t.Errorf("importance %d is for %q", j, im.Feature)
		}
		if j != used && (im.Mean != 0 || im.Std != 0) {
			t.Errorf("unused feature %s has importance %+v", im.Feature, im)
		}
		if j == used && im.Mean <= 0 {
			t.Errorf("the stump's feature %s has importance %+v", im.Feature, im)
		}
	}
	// On fresh rows, boosting relies most on f0 (the strongest term of the generator) and
	// hardly on the noise feature f5.
	fresh := synth(1500, 6, Classification, 72)
	m, err := FitGBM(ctx, d, GBMParams{Task: Classification, MaxIter: 30})
	if err != nil {
		t.Fatal(err)
	}
	imp, err = PermutationImportance(ctx, m, fresh, ImportanceParams{Repeats: 3, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	for j := 1; j < len(imp); j++ {
		if imp[j].Mean >= imp[0].Mean {
			t.Errorf("%s importance %v not below f0's %v", imp[j].Feature, imp[j].Mean, imp[0].Mean)
		}
	}
	if imp[5].Mean > 0.01 {
		t.Errorf("noise feature importance %v", imp[5].Mean)
	}
	// A loss, negated, works as the metric.
	_, err = PermutationImportance(ctx, m, d, ImportanceParams{Metric: func(y, p []float64) (float64, error) {
		l, err := LogLoss(y, p)
		return -l, err
	}})
	if err != nil {
		t.Fatal(err)
	}
}
