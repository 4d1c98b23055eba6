package ml

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Calibrator maps a classifier's score to a calibrated probability of label 1.
type Calibrator interface {
	// Calibrate returns the calibrated probability for a score.
	Calibrate(score float64) float64
}

// isotonicTieEps is how close two scores must be to count as one, numpy's float64
// "resolution", as in scikit-learn's IsotonicRegression.
const isotonicTieEps = 1e-15

// Isotonic is a non-decreasing, piecewise-linear map fitted by isotonic regression (the pool
// adjacent violators algorithm). It is scikit-learn's IsotonicRegression with
// out_of_bounds="clip": scores are clipped to the fitted range and interpolated linearly
// between fitted points.
type Isotonic struct {
	x, y []float64
}

var _ Calibrator = (*Isotonic)(nil)

// FitIsotonic fits the non-decreasing function of score closest to y in weighted squared
// error. w may be nil (every weight 1); rows of weight 0 are ignored. Scores within 1e-15 of
// each other are pooled first, their y averaged by weight.
func FitIsotonic(score, y, w []float64) (*Isotonic, error) {
	if err := checkPairs("fit isotonic", y, score); err != nil {
		return nil, err
	}
	if w != nil && len(w) != len(y) {
		return nil, fmt.Errorf("fit isotonic: %d weights for %d rows", len(w), len(y))
	}
	type pt struct{ x, y, w float64 }
	pts := make([]pt, 0, len(y))
	for i := range y {
		wi := 1.0
		if w != nil {
			wi = w[i]
			if math.IsNaN(wi) || math.IsInf(wi, 0) || wi < 0 {
				return nil, fmt.Errorf("fit isotonic: weight %d is %v", i, wi)
			}
		}
		if wi > 0 {
			pts = append(pts, pt{score[i], y[i], wi})
		}
	}
	if len(pts) == 0 {
		return nil, errors.New("fit isotonic: every weight is 0")
	}
	slices.SortStableFunc(pts, func(a, b pt) int {
		if c := cmpFloat(a.x, b.x); c != 0 {
			return c
		}
		return cmpFloat(a.y, b.y)
	})
	// Pool tied scores: a block starts at its first score.
	var xs, ys, ws []float64
	for k := 0; k < len(pts); {
		x0, sw, swy := pts[k].x, 0.0, 0.0
		for ; k < len(pts) && pts[k].x < x0+isotonicTieEps; k++ {
			sw += pts[k].w
			swy += pts[k].w * pts[k].y
		}
		xs, ys, ws = append(xs, x0), append(ys, swy/sw), append(ws, sw)
	}
	fit := pava(ys, ws)
	// Keep the first and last points and those where the fit changes on either side: the
	// points in between lie on the interpolation and add nothing.
	m := &Isotonic{}
	for k := range fit {
		if k == 0 || k == len(fit)-1 || fit[k] != fit[k-1] || fit[k] != fit[k+1] {
			m.x = append(m.x, xs[k])
			m.y = append(m.y, fit[k])
		}
	}
	return m, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pava returns the weighted isotonic (non-decreasing) regression of y: adjacent blocks whose
// means are out of order are pooled into their weighted mean until none are.
func pava(y, w []float64) []float64 {
	type block struct {
		sum, w float64 // weighted sum and weight
		n      int
	}
	var st []block
	for i := range y {
		b := block{sum: w[i] * y[i], w: w[i], n: 1}
		for len(st) > 0 && st[len(st)-1].sum/st[len(st)-1].w >= b.sum/b.w {
			top := st[len(st)-1]
			st = st[:len(st)-1]
			b = block{sum: top.sum + b.sum, w: top.w + b.w, n: top.n + b.n}
		}
		st = append(st, b)
	}
	out := make([]float64, 0, len(y))
	for _, b := range st {
		v := b.sum / b.w
		for range b.n {
			out = append(out, v)
		}
	}
	return out
}

// Calibrate returns the fitted value at score, interpolated linearly between fitted points
// and clipped to the fitted range.
func (m *Isotonic) Calibrate(score float64) float64 {
	n := len(m.x)
	if n == 1 {
		return m.y[0]
	}
	v := min(max(score, m.x[0]), m.x[n-1])
	// As scipy's interp1d: the segment ends at the first point at or above v.
	hi := min(max(sort.SearchFloat64s(m.x, v), 1), n-1)
	lo := hi - 1
	slope := (m.y[hi] - m.y[lo]) / (m.x[hi] - m.x[lo])
	return slope*(v-m.x[lo]) + m.y[lo]
}

// Points returns the fitted points: ascending scores and their non-decreasing values.
func (m *Isotonic) Points() (scores, values []float64) {
	return slices.Clone(m.x), slices.Clone(m.y)
}

type isotonicJSON struct {
	X []float64 `json:"x"`
	Y []float64 `json:"y"`
}

// MarshalJSON encodes the fitted points.
func (m *Isotonic) MarshalJSON() ([]byte, error) {
	return json.Marshal(isotonicJSON{m.x, m.y})
}

// UnmarshalJSON decodes points saved by MarshalJSON.
func (m *Isotonic) UnmarshalJSON(b []byte) error {
	var j isotonicJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode isotonic: %w", err)
	}
	if len(j.X) == 0 || len(j.X) != len(j.Y) {
		return fmt.Errorf("decode isotonic: %d scores for %d values", len(j.X), len(j.Y))
	}
	for k := 1; k < len(j.X); k++ {
		if !(j.X[k] > j.X[k-1]) || j.Y[k] < j.Y[k-1] {
			return fmt.Errorf("decode isotonic: point %d is out of order", k)
		}
	}
	*m = Isotonic{x: j.X, y: j.Y}
	return nil
}
