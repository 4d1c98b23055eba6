package ml

import (
	"context"
	"math"
	"testing"
)

// condExpectation is the value of feature set known (a bit mask) in the path-dependent game
// TreeSHAP solves: known features follow x, unknown ones average the children by cover.
func condExpectation(t *Tree, x []float64, known uint, i int32) float64 {
	n := &t.nodes[i]
	if n.Feature < 0 {
		return n.Value
	}
	if known&(1<<n.Feature) != 0 {
		if x[n.Feature] <= n.Threshold {
			return condExpectation(t, x, known, n.Left)
		}
		return condExpectation(t, x, known, n.Right)
	}
	l, r := &t.nodes[n.Left], &t.nodes[n.Right]
	return (l.Weight*condExpectation(t, x, known, n.Left) + r.Weight*condExpectation(t, x, known, n.Right)) / (l.Weight + r.Weight)
}

// bruteForceSHAP computes Shapley values from their definition, over every subset.
func bruteForceSHAP(t *Tree, x []float64) []float64 {
	p := t.nFeatures
	fact := func(k int) float64 { return math.Gamma(float64(k + 1)) }
	phi := make([]float64, p)
	for i := range p {
		for s := uint(0); s < 1<<p; s++ {
			if s&(1<<i) != 0 {
				continue
			}
			size := 0
			for j := range p {
				if s&(1<<j) != 0 {
					size++
				}
			}
			w := fact(size) * fact(p-size-1) / fact(p)
			phi[i] += w * (condExpectation(t, x, s|1<<i, 0) - condExpectation(t, x, s, 0))
		}
	}
	return phi
}

func TestTreeSHAPEqualsShapleyDefinition(t *testing.T) {
	ctx := context.Background()
	for _, task := range []Task{Classification, Regression} {
		d := synth(400, 5, task, 81)
		tree, err := FitTree(ctx, d, TreeParams{Task: task, MaxDepth: 6, MinSamplesLeaf: 3})
		if err != nil {
			t.Fatal(err)
		}
		gbm, err := FitGBM(ctx, d, GBMParams{Task: task, MaxIter: 3, MaxLeafNodes: 12, MinSamplesLeaf: 5, L2: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		trees := append([]*Tree{tree}, gbm.trees...)
		for k, tr := range trees {
			for i := range 25 {
				x := d.Row(i)
				bias, phi := tr.SHAPValues(x)
				want := bruteForceSHAP(tr, x)
				for j := range phi {
					if math.Abs(phi[j]-want[j]) > 1e-9 {
						t.Fatalf("%s tree %d row %d: φ%d = %v, Shapley definition %v", task, k, i, j, phi[j], want[j])
					}
				}
				if e := condExpectation(tr, x, 0, 0); math.Abs(bias-e) > 1e-12 {
					t.Fatalf("%s tree %d: bias %v, expected value %v", task, k, bias, e)
				}
			}
		}
	}
}

func TestSHAPValuesAddUpToRawPrediction(t *testing.T) {
	models, cls, reg := trainedModels(t)
	for name, m := range models {
		d := reg
		if m.Task() == Classification {
			d = cls
		}
		for i := range 30 {
			x := d.Row(i)
			bias, phi := m.(SHAPExplainer).SHAPValues(x)
			sum := bias
			for _, v := range phi {
				sum += v
			}
			if raw := m.RawPredict(x); math.Abs(sum-raw) > 1e-9*math.Max(1, math.Abs(raw)) {
				t.Fatalf("%s row %d: bias %v + SHAP values = %v, raw prediction %v", name, i, bias, sum, raw)
			}
		}
	}
}
