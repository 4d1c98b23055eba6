package ml

import (
	"bytes"
	"context"
	"runtime"
	"testing"
)

// fitBytes trains a model with fit and returns its saved form.
func fitBytes(t *testing.T, fit func() (Model, error)) []byte {
	t.Helper()
	m, err := fit()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSameSeedSameModel(t *testing.T) {
	ctx := context.Background()
	d := synth(1000, 6, Classification, 51)
	for name, fit := range map[string]func(seed uint64) (Model, error){
		"tree": func(seed uint64) (Model, error) {
			return FitTree(ctx, d, TreeParams{Task: Classification, MaxFeatures: 2, Seed: seed})
		},
		"forest": func(seed uint64) (Model, error) {
			return FitForest(ctx, d, ForestParams{Task: Classification, Trees: 10, Seed: seed})
		},
		"gbm": func(seed uint64) (Model, error) {
			return FitGBM(ctx, d, GBMParams{Task: Classification, MaxIter: 20, EarlyStopping: true, Seed: seed})
		},
	} {
		a := fitBytes(t, func() (Model, error) { return fit(7) })
		b := fitBytes(t, func() (Model, error) { return fit(7) })
		c := fitBytes(t, func() (Model, error) { return fit(8) })
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two trainings with seed 7 differ", name)
		}
		if bytes.Equal(a, c) {
			t.Errorf("%s: seeds 7 and 8 give the same model", name)
		}
	}
}

// The forest grows trees on as many goroutines as GOMAXPROCS, and boosting builds histograms
// in parallel (this data is large enough to cross the threshold): neither may change the model.
func TestModelsIndependentOfCores(t *testing.T) {
	ctx := context.Background()
	d := synth(5000, 8, Regression, 52)
	dc := synth(12000, 8, Classification, 53) // several chunks of the loss sums
	fits := map[string]func() (Model, error){
		"forest": func() (Model, error) {
			return FitForest(ctx, d, ForestParams{Task: Regression, Trees: 8, MaxFeatures: 3, MinSamplesLeaf: 5, Seed: 9})
		},
		"gbm": func() (Model, error) {
			return FitGBM(ctx, d, GBMParams{Task: Regression, MaxIter: 15})
		},
		"gbm classifier": func() (Model, error) {
			return FitGBM(ctx, dc, GBMParams{Task: Classification, MaxIter: 40, EarlyStopping: true, Patience: 3, Seed: 4})
		},
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	one := map[string][]byte{}
	for name, fit := range fits {
		one[name] = fitBytes(t, fit)
	}
	imp1 := importanceOf(t, d)
	runtime.GOMAXPROCS(2)
	for name, fit := range fits {
		if !bytes.Equal(one[name], fitBytes(t, fit)) {
			t.Errorf("%s: GOMAXPROCS 1 and 2 give different models", name)
		}
	}
	imp2 := importanceOf(t, d)
	for j := range imp1 {
		if !sameBits(imp1[j].Mean, imp2[j].Mean) || !sameBits(imp1[j].Std, imp2[j].Std) {
			t.Errorf("permutation importance of %s: %+v with GOMAXPROCS 1, %+v with 2", imp1[j].Feature, imp1[j], imp2[j])
		}
	}
	// Workers, the explicit knob, does not change the model either.
	a := fitBytes(t, func() (Model, error) {
		return FitForest(ctx, d, ForestParams{Task: Regression, Trees: 6, Seed: 2, Workers: 1})
	})
	b := fitBytes(t, func() (Model, error) {
		return FitForest(ctx, d, ForestParams{Task: Regression, Trees: 6, Seed: 2, Workers: 3})
	})
	if !bytes.Equal(a, b) {
		t.Error("forest: Workers 1 and 3 give different models")
	}
	gbm := func(workers int) (Model, error) {
		return FitGBM(ctx, dc, GBMParams{Task: Classification, MaxIter: 40, EarlyStopping: true, Patience: 3, Workers: workers})
	}
	if !bytes.Equal(fitBytes(t, func() (Model, error) { return gbm(1) }), fitBytes(t, func() (Model, error) { return gbm(3) })) {
		t.Error("gbm: Workers 1 and 3 give different models")
	}
}

func importanceOf(t *testing.T, d *Dataset) []Importance {
	t.Helper()
	m, err := FitLinear(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := PermutationImportance(context.Background(), m, d, ImportanceParams{Repeats: 2, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	return imp
}
