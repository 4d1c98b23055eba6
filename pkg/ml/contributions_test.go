package ml

import (
	"context"
	"math"
	"testing"
)

func TestContributionsAddUpToRawPrediction(t *testing.T) {
	models, cls, reg := trainedModels(t)
	for name, m := range models {
		d := reg
		if m.Task() == Classification {
			d = cls
		}
		for i := range d.Rows() {
			x := d.Row(i)
			bias, contrib := m.Contributions(x)
			sum := bias
			for _, c := range contrib {
				sum += c
			}
			raw := m.RawPredict(x)
			if math.Abs(sum-raw) > 1e-9*math.Max(1, math.Abs(raw)) {
				t.Fatalf("%s row %d: bias %v + contributions = %v, raw prediction %v", name, i, bias, sum, raw)
			}
		}
	}
}

// A tree's contributions go to the features on the row's path, each the change of node
// value at its split, and a logistic regression's to coefficient × standardized deviation.
func TestContributionsByHand(t *testing.T) {
	d := &Dataset{Names: []string{"a", "b", "c"}}
	for i := range 8 {
		a, b := float64(i%2), float64(i/2%2)
		d.X = append(d.X, a, b, float64(i))
		d.Y = append(d.Y, 10*a+b)
	}
	m, err := FitTree(context.Background(), d, TreeParams{Task: Regression, MaxDepth: 2})
	if err != nil {
		t.Fatal(err)
	}
	bias, c := m.Contributions([]float64{1, 1, 0})
	// Mean 5.5; a = 1 lifts the mean to 10.5 (+5); b = 1 then to 11 (+0.5); c is unused.
	if bias != 5.5 || c[0] != 5 || c[1] != 0.5 || c[2] != 0 {
		t.Errorf("tree contributions: bias %v, %v; want 5.5, [5 0.5 0]", bias, c)
	}
	f, err := MainFactors(m, d.Names, []float64{1, 1, 0}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(f) != 2 || f[0].Feature != "a" || f[1].Feature != "b" {
		t.Errorf("main factors %+v, want a then b", f)
	}

	cls := synth(500, 3, Classification, 61)
	lg, err := FitLogistic(context.Background(), cls, LogisticParams{})
	if err != nil {
		t.Fatal(err)
	}
	x := cls.Row(3)
	_, c = lg.Contributions(x)
	coef := lg.StandardizedCoefficients()
	for j := range c {
		want := coef[j] * (x[j] - lg.scale.Mean[j]) / lg.scale.Scale[j]
		if c[j] != want {
			t.Errorf("logistic contribution %d = %v, want %v", j, c[j], want)
		}
	}
}
