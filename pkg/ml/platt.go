package ml

import (
	"fmt"
	"math"
)

// Platt is Platt scaling: a calibrated probability 1/(1 + exp(A·score + B)), with A and B
// fitted by maximum likelihood on Platt's smoothed targets, as scikit-learn's sigmoid
// calibration does.
type Platt struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

var _ Calibrator = Platt{}

// FitPlatt fits Platt scaling to scores and labels 0 and 1. w may be nil (every weight 1).
// The targets are (N₊+1)/(N₊+2) for label 1 and 1/(N₋+2) for label 0 rather than 1 and 0, so
// a separable set does not send A to infinity.
func FitPlatt(score, y, w []float64) (Platt, error) {
	if err := checkBinary("fit platt", y, score); err != nil {
		return Platt{}, err
	}
	if w != nil && len(w) != len(y) {
		return Platt{}, fmt.Errorf("fit platt: %d weights for %d rows", len(w), len(y))
	}
	weight := func(i int) float64 {
		if w == nil {
			return 1
		}
		return w[i]
	}
	var prior0, prior1 float64
	for i := range y {
		wi := weight(i)
		if math.IsNaN(wi) || math.IsInf(wi, 0) || wi < 0 {
			return Platt{}, fmt.Errorf("fit platt: weight %d is %v", i, wi)
		}
		if y[i] == 1 {
			prior1 += wi
		} else {
			prior0 += wi
		}
	}
	hi, lo := (prior1+1)/(prior1+2), 1/(prior0+2)
	total := prior0 + prior1
	// With m = A·s + B, P(1) = σ(−m); the loss of target t is softplus(m) − (1−t)·m,
	// the cross-entropy of t and σ(−m). Divided by the total weight to keep its scale.
	eval := func(ab, grad []float64) float64 {
		loss, ga, gb := 0.0, 0.0, 0.0
		for i, s := range score {
			t := lo
			if y[i] == 1 {
				t = hi
			}
			m := ab[0]*s + ab[1]
			wi := weight(i)
			loss += wi * (softplus(m) - (1-t)*m)
			r := wi * (sigmoid(m) - (1 - t))
			ga += r * s
			gb += r
		}
		if grad != nil {
			grad[0], grad[1] = ga/total, gb/total
		}
		return loss / total
	}
	ab, err := minimizeLBFGS(eval, []float64{0, math.Log((prior0 + 1) / (prior1 + 1))}, 1000)
	if err != nil {
		return Platt{}, fmt.Errorf("fit platt: %w", err)
	}
	return Platt{A: ab[0], B: ab[1]}, nil
}

// Calibrate returns 1/(1 + exp(A·score + B)).
func (c Platt) Calibrate(score float64) float64 { return sigmoid(-(c.A*score + c.B)) }
