package ml

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
)

var (
	modelsOnce           sync.Once
	modelsByName         map[string]Model
	modelsCls, modelsReg *Dataset
	modelsErr            error
)

// trainedModels returns one trained model of every kind, on small data, trained once for all
// the tests that only read them, with the classification and regression data.
func trainedModels(t *testing.T) (map[string]Model, *Dataset, *Dataset) {
	t.Helper()
	modelsOnce.Do(func() { modelsByName, modelsCls, modelsReg, modelsErr = trainModels() })
	if modelsErr != nil {
		t.Fatal(modelsErr)
	}
	return modelsByName, modelsCls, modelsReg
}

func trainModels() (map[string]Model, *Dataset, *Dataset, error) {
	ctx := context.Background()
	cls := synth(800, 5, Classification, 41)
	reg := synth(800, 5, Regression, 42)
	models := map[string]Model{}
	var errs []error
	add := func(name string, m Model, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return
		}
		models[name] = m
	}
	tc, err := FitTree(ctx, cls, TreeParams{Task: Classification, MaxDepth: 6})
	add("tree/classification", tc, err)
	tr, err := FitTree(ctx, reg, TreeParams{Task: Regression, MinSamplesLeaf: 5})
	add("tree/regression", tr, err)
	fc, err := FitForest(ctx, cls, ForestParams{Task: Classification, Trees: 20, Seed: 3})
	add("forest/classification", fc, err)
	fr, err := FitForest(ctx, reg, ForestParams{Task: Regression, Trees: 20, Seed: 3, MaxSamples: 0.5})
	add("forest/regression", fr, err)
	gc, err := FitGBM(ctx, cls, GBMParams{Task: Classification, MaxIter: 40, EarlyStopping: true})
	add("gbm/classification", gc, err)
	gr, err := FitGBM(ctx, reg, GBMParams{Task: Regression, MaxIter: 40, L2: 1})
	add("gbm/regression", gr, err)
	lin, err := FitLinear(ctx, reg)
	add("linear", lin, err)
	lg, err := FitLogistic(ctx, cls, LogisticParams{C: 0.5})
	add("logistic", lg, err)
	if err := errors.Join(errs...); err != nil {
		return nil, nil, nil, err
	}
	iso, err := FitCalibrated(ctx, fc, synth(600, 5, Classification, 43), CalibrationIsotonic)
	add("calibrated/isotonic", iso, err)
	pl, err := FitCalibrated(ctx, gc, synth(600, 5, Classification, 44), CalibrationPlatt)
	add("calibrated/platt", pl, err)
	return models, cls, reg, errors.Join(errs...)
}

func sameBits(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func TestSerializationRoundTripIsBitIdentical(t *testing.T) {
	models, cls, reg := trainedModels(t)
	for name, m := range models {
		var buf bytes.Buffer
		if err := Save(&buf, m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		saved := append([]byte(nil), buf.Bytes()...)
		back, err := Load(&buf)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if back.Algorithm() != m.Algorithm() || back.Task() != m.Task() || back.NumFeatures() != m.NumFeatures() {
			t.Errorf("%s: loaded %s/%s/%d", name, back.Algorithm(), back.Task(), back.NumFeatures())
		}
		again, err := Marshal(back)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(saved, again) {
			t.Errorf("%s: saving the loaded model gives different bytes", name)
		}
		d := reg
		if m.Task() == Classification {
			d = cls
		}
		for i := range d.Rows() {
			x := d.Row(i)
			if !sameBits(m.Predict(x), back.Predict(x)) || !sameBits(m.RawPredict(x), back.RawPredict(x)) {
				t.Fatalf("%s row %d: predictions differ after loading", name, i)
			}
			if c, ok := m.(Classifier); ok && !sameBits(c.PredictProba(x), back.(Classifier).PredictProba(x)) {
				t.Fatalf("%s row %d: probabilities differ after loading", name, i)
			}
			b1, c1 := m.Contributions(x)
			b2, c2 := back.Contributions(x)
			if !sameBits(b1, b2) {
				t.Fatalf("%s row %d: bias differs after loading", name, i)
			}
			for j := range c1 {
				if !sameBits(c1[j], c2[j]) {
					t.Fatalf("%s row %d: contribution %d differs after loading", name, i, j)
				}
			}
		}
	}
}

func TestLoadRejectsBadInput(t *testing.T) {
	models, _, _ := trainedModels(t)
	good, err := Marshal(models["tree/classification"])
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{
		"not json":       "{",
		"wrong format":   `{"format":"other","version":1,"kind":"tree","model":{}}`,
		"future version": `{"format":"bdc-ml-model","version":2,"kind":"tree","model":{}}`,
		"unknown kind":   `{"format":"bdc-ml-model","version":1,"kind":"svm","model":{}}`,
		"no nodes":       `{"format":"bdc-ml-model","version":1,"kind":"tree","model":{"params":{"task":"regression"},"features":2,"nodes":[]}}`,
		"child loop":     `{"format":"bdc-ml-model","version":1,"kind":"tree","model":{"params":{"task":"regression"},"features":2,"nodes":[{"f":0,"l":0,"r":0,"v":1,"w":1,"n":1}]}}`,
		"feature range":  `{"format":"bdc-ml-model","version":1,"kind":"tree","model":{"params":{"task":"regression"},"features":2,"nodes":[{"f":5,"l":1,"r":2,"v":1,"w":1,"n":1},{"f":-1,"v":1},{"f":-1,"v":1}]}}`,
		"bad task":       `{"format":"bdc-ml-model","version":1,"kind":"tree","model":{"params":{"task":"ranking"},"features":2,"nodes":[{"f":-1,"v":1}]}}`,
		"linear sizes":   `{"format":"bdc-ml-model","version":1,"kind":"linear","model":{"features":2,"scaler":{"mean":[0],"scale":[1]},"bias":0,"coef":[1,2]}}`,
		"truncated":      string(good[:len(good)/2]),
	} {
		if _, err := Load(strings.NewReader(in)); err == nil {
			t.Errorf("%s: loaded without error", name)
		}
	}
}

// Batch prediction walks ensembles one tree at a time over blocks of rows; it must give the
// per-row methods' results bit for bit.
func TestBatchPredictionMatchesRows(t *testing.T) {
	models, cls, reg := trainedModels(t)
	for name, m := range models {
		d := reg
		if m.Task() == Classification {
			d = cls
		}
		kinds := []predictKind{kindPredict, kindRaw}
		if m.Task() == Classification {
			kinds = append(kinds, kindProba)
		}
		for _, kind := range kinds {
			got := predictAll(m, d, kind)
			f := rowFunc(m, kind)
			for i := range d.Rows() {
				if want := f(d.Row(i)); !sameBits(got[i], want) {
					t.Fatalf("%s kind %d row %d: batch %v, per row %v", name, kind, i, got[i], want)
				}
			}
		}
	}
}
