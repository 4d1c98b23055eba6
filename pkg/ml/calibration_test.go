package ml

import (
	"context"
	"math/rand/v2"
	"testing"
)

func TestIsotonicIsMonotone(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 500)
	y := make([]float64, 500)
	for i := range x {
		x[i] = float64(rng.IntN(50)) / 50 // ties
		y[i] = x[i] + rng.NormFloat64()
	}
	iso, err := FitIsotonic(x, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	prev := iso.Calibrate(-1)
	for v := -1.0; v <= 2; v += 0.001 {
		got := iso.Calibrate(v)
		if got < prev {
			t.Fatalf("Calibrate(%v) = %v below Calibrate(%v) = %v", v, got, v-0.001, prev)
		}
		prev = got
	}
}

// Calibration on held-out rows lowers the expected calibration error of an overconfident
// model on fresh rows.
func TestCalibrationLowersECE(t *testing.T) {
	ctx := context.Background()
	train := synth(2000, 6, Classification, 31)
	calib := synth(3000, 6, Classification, 32)
	test := synth(3000, 6, Classification, 33)
	// Boosting run far past its best round with a high learning rate is overconfident.
	base, err := FitGBM(ctx, train, GBMParams{Task: Classification, MaxIter: 150, LearningRate: 0.5, MinSamplesLeaf: 5})
	if err != nil {
		t.Fatal(err)
	}
	before := must(ExpectedCalibrationError(test.Y, must(PredictProba(base, test)), 10))
	for _, method := range []CalibrationMethod{CalibrationIsotonic, CalibrationPlatt} {
		m, err := FitCalibrated(ctx, base, calib, method)
		if err != nil {
			t.Fatal(err)
		}
		p := must(PredictProba(m, test))
		after := must(ExpectedCalibrationError(test.Y, p, 10))
		t.Logf("%s: ECE %.4f before, %.4f after", method, before, after)
		if after >= before/2 {
			t.Errorf("%s: ECE %.4f after calibration, %.4f before: want at least halved", method, after, before)
		}
		// A monotone map keeps the ranking (up to ties that isotonic steps create).
		aucBase := must(ROCAUC(test.Y, must(PredictProba(base, test))))
		if auc := must(ROCAUC(test.Y, p)); auc < aucBase-0.01 {
			t.Errorf("%s: ROC AUC %.4f after calibration, %.4f before", method, auc, aucBase)
		}
	}
}

// Platt scaling takes the base model's log-odds: on an already calibrated model it is close to
// the identity, which a logistic of the probability itself cannot be; and a model saved before
// (its calibrator fitted on probabilities, no "input" field) still decodes with that meaning.
func TestPlattOnLogOdds(t *testing.T) {
	ctx := context.Background()
	train := synth(3000, 6, Classification, 41)
	calib := synth(4000, 6, Classification, 42)
	test := synth(4000, 6, Classification, 43)
	base, err := FitGBM(ctx, train, GBMParams{Task: Classification, MaxIter: 60, LearningRate: 0.1, MinSamplesLeaf: 20})
	if err != nil {
		t.Fatal(err)
	}
	m, err := FitCalibrated(ctx, base, calib, CalibrationPlatt)
	if err != nil {
		t.Fatal(err)
	}
	pl := m.cal.(Platt)
	t.Logf("Platt on log-odds: %+v", pl)
	// The identity on log-odds is A = -1, B = 0 (p = 1/(1+exp(A·s+B))).
	if pl.A > -0.7 || pl.A < -1.3 || pl.B < -0.3 || pl.B > 0.3 {
		t.Errorf("Platt on the log-odds of a fairly calibrated model: %+v, want near A=-1, B=0", pl)
	}
	base0 := must(PredictProba(base, test))
	ece := must(ExpectedCalibrationError(test.Y, must(PredictProba(m, test)), 10))
	if ece0 := must(ExpectedCalibrationError(test.Y, base0, 10)); ece > ece0+0.01 {
		t.Errorf("Platt scaling raised the ECE from %.4f to %.4f", ece0, ece)
	}

	legacy := &Calibrated{base: m.base, method: CalibrationPlatt, cal: pl}
	data, err := Marshal(legacy)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	x := test.Row(0)
	if got, want := back.(*Calibrated).PredictProba(x), pl.Calibrate(base.PredictProba(x)); got != want {
		t.Errorf("a legacy Platt model decodes to %v, want %v (calibrator on the probability)", got, want)
	}
	data, err = Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err = Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := back.(*Calibrated).PredictProba(x), m.PredictProba(x); got != want {
		t.Errorf("round trip: %v, want %v", got, want)
	}
}
