package ml

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestDatasetValidation(t *testing.T) {
	ok := func() *Dataset {
		return &Dataset{Names: []string{"a", "b"}, X: []float64{1, 2, 3, 4, 5, 6}, Y: []float64{0, 1, 0}}
	}
	for _, tc := range []struct {
		name   string
		change func(d *Dataset)
		want   string
	}{
		{"no features", func(d *Dataset) { d.Names = nil }, "no features"},
		{"ragged", func(d *Dataset) { d.X = d.X[:5] }, "not a multiple"},
		{"empty", func(d *Dataset) { d.X, d.Y = nil, nil }, "no rows"},
		{"NaN feature", func(d *Dataset) { d.X[3] = math.NaN() }, `row 1 feature "b" is NaN`},
		{"Inf feature", func(d *Dataset) { d.X[0] = math.Inf(1) }, "must be finite"},
		{"short labels", func(d *Dataset) { d.Y = d.Y[:2] }, "2 labels for 3 rows"},
		{"no labels", func(d *Dataset) { d.Y = nil }, "no labels"},
		{"NaN label", func(d *Dataset) { d.Y[2] = math.NaN() }, "row 2 label is NaN"},
		{"negative weight", func(d *Dataset) { d.W = []float64{1, -1, 1} }, "non-negative"},
		{"zero weights", func(d *Dataset) { d.W = []float64{0, 0, 0} }, "sum to zero"},
		{"short weights", func(d *Dataset) { d.W = []float64{1} }, "1 weights for 3 rows"},
		{"label 2", func(d *Dataset) { d.Y[0] = 2 }, "must be 0 or 1"},
		{"one class", func(d *Dataset) { d.Y = []float64{1, 1, 1} }, "single class"},
	} {
		d := ok()
		tc.change(d)
		_, err := FitTree(context.Background(), d, TreeParams{Task: Classification})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	d := ok()
	d.Y = []float64{1, 1, 1}
	if _, err := FitLogistic(context.Background(), d, LogisticParams{}); !errors.Is(err, ErrSingleClass) {
		t.Errorf("single class: %v, want ErrSingleClass", err)
	}
	if _, err := NewDataset([]string{"a"}, [][]float64{{1}, {2, 3}}, nil); err == nil {
		t.Error("NewDataset accepted a ragged row")
	}
}

func TestParameterValidation(t *testing.T) {
	ctx := context.Background()
	d := synth(100, 3, Classification, 1)
	for name, fit := range map[string]func() error{
		"no task":        func() error { _, err := FitTree(ctx, d, TreeParams{}); return err },
		"negative depth": func() error { _, err := FitTree(ctx, d, TreeParams{Task: Regression, MaxDepth: -1}); return err },
		"max features":   func() error { _, err := FitTree(ctx, d, TreeParams{Task: Regression, MaxFeatures: 4}); return err },
		"split of 1":     func() error { _, err := FitTree(ctx, d, TreeParams{Task: Regression, MinSamplesSplit: 1}); return err },
		"max samples":    func() error { _, err := FitForest(ctx, d, ForestParams{Task: Regression, MaxSamples: 1.5}); return err },
		"bins":           func() error { _, err := FitGBM(ctx, d, GBMParams{Task: Regression, MaxBins: 256}); return err },
		"learning rate": func() error {
			_, err := FitGBM(ctx, d, GBMParams{Task: Regression, LearningRate: math.NaN()})
			return err
		},
		"validation share": func() error { _, err := FitGBM(ctx, d, GBMParams{Task: Regression, ValidationFraction: 1}); return err },
		"C":                func() error { _, err := FitLogistic(ctx, d, LogisticParams{C: -1}); return err },
		"calibration":      func() error { _, err := FitCalibrated(ctx, must(FitLinear(ctx, d)), d, CalibrationPlatt); return err },
	} {
		if err := fit(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := FitForest(ctx2, d, ForestParams{Task: Classification}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled forest: %v", err)
	}
	if _, err := FitGBM(ctx2, d, GBMParams{Task: Classification}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled boosting: %v", err)
	}
}

func TestPredictChecksFeatures(t *testing.T) {
	d := synth(100, 3, Regression, 1)
	m := must(FitLinear(context.Background(), d))
	if _, err := Predict(m, synth(10, 4, Regression, 2)); err == nil {
		t.Error("predicted on 4 features with a 3-feature model")
	}
	if _, err := PredictProba(m, d); !errors.Is(err, ErrNotClassifier) {
		t.Errorf("probabilities of a regressor: %v", err)
	}
	bad := synth(10, 3, Regression, 2)
	bad.X[4] = math.NaN()
	if _, err := Predict(m, bad); err == nil {
		t.Error("predicted on NaN")
	}
}

func TestMetricErrors(t *testing.T) {
	for name, err := range map[string]error{
		"empty":        second(ROCAUC(nil, nil)),
		"mismatch":     second(LogLoss([]float64{0, 1}, []float64{0.5})),
		"one class":    second(AveragePrecision([]float64{1, 1}, []float64{0.2, 0.3})),
		"probability":  second(Brier([]float64{0, 1}, []float64{0.5, 1.5})),
		"label":        second(LogLoss([]float64{0, 2}, []float64{0.5, 0.5})),
		"NaN score":    second(ROCAUC([]float64{0, 1}, []float64{math.NaN(), 0})),
		"NaN value":    second(R2([]float64{0, math.NaN()}, []float64{1, 1})),
		"no bins":      second(ExpectedCalibrationError([]float64{0, 1}, []float64{0.5, 0.5}, 0)),
		"isotonic":     second(FitIsotonic([]float64{1, 2}, []float64{1}, nil)),
		"platt labels": second(FitPlatt([]float64{1, 2}, []float64{1, 1}, nil)),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := ROCAUC(nil, nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v, want ErrEmpty", err)
	}
	if _, err := ROCAUC([]float64{1, 1}, []float64{0.1, 0.2}); !errors.Is(err, ErrSingleClass) {
		t.Errorf("one class: %v, want ErrSingleClass", err)
	}
	// R² of a constant target follows scikit-learn: 1 when perfect, else 0.
	if r := must(R2([]float64{2, 2}, []float64{2, 2})); r != 1 {
		t.Errorf("perfect constant R² = %v", r)
	}
	if r := must(R2([]float64{2, 2}, []float64{2, 3})); r != 0 {
		t.Errorf("constant R² = %v", r)
	}
}

func second[T any](_ T, err error) error { return err }

func TestTreeStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := FitTree(ctx, synth(200, 3, Regression, 1), TreeParams{Task: Regression}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled tree: %v", err)
	}
	if _, err := FitLogistic(ctx, synth(200, 3, Classification, 1), LogisticParams{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled logistic regression: %v", err)
	}
}

func TestSubset(t *testing.T) {
	d := synth(10, 2, Regression, 1)
	d.W = []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	s := d.Subset([]int{7, 2})
	if s.Rows() != 2 || s.Row(0)[1] != d.Row(7)[1] || s.Y[1] != d.Y[2] || s.W[0] != 8 {
		t.Errorf("subset %+v", s)
	}
	if err := s.Validate(true); err != nil {
		t.Error(err)
	}
}
