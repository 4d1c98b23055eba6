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
