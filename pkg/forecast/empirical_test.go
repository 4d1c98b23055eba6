package forecast

import (
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// heavyTailed is a level with small Gaussian noise and, on one day in twenty,
// a large drop: the shape of a daily count with public holidays.
func heavyTailed(n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 3))
	y := make([]float64, n)
	for t := range y {
		y[t] = 100 + 0.02*float64(t) + 3*r.NormFloat64()
		if r.Float64() < 0.05 {
			y[t] -= 40 + 10*r.Float64()
		}
	}
	return y
}

// The empirical bounds of simple exponential smoothing, checked against the
// obvious computation: the level after each prefix is the forecast at every
// step ahead, and the bounds are the forecast plus type-7 quantiles of the
// errors at that step.
func TestEmpiricalIntervalsOfSES(t *testing.T) {
	y := heavyTailed(300, 1)
	m, err := Fit(y, Options{Method: MethodETS, Spec: ANN, Intervals: IntervalsEmpirical})
	if err != nil {
		t.Fatal(err)
	}
	e := m.(*ETS)
	const h = 5
	levels := []float64{0.8, 0.95}
	f := e.Forecast(h, levels)
	alpha := e.Params.Alpha
	// level[t0] is the forecast made after t0 values.
	level := make([]float64, len(y)+1)
	level[0] = e.Params.Level
	for t, v := range y {
		level[t+1] = level[t] + alpha*(v-level[t])
	}
	quantile := func(xs []float64, q float64) float64 {
		s := append([]float64(nil), xs...)
		sort.Float64s(s)
		pos := q * float64(len(s)-1)
		lo := int(pos)
		if lo == len(s)-1 {
			return s[lo]
		}
		return s[lo] + (pos-float64(lo))*(s[lo+1]-s[lo])
	}
	for step := 1; step <= h; step++ {
		var errs []float64
		for t0 := 1; t0+step-1 < len(y); t0++ {
			errs = append(errs, y[t0+step-1]-level[t0])
		}
		if got, want := f.Mean[step-1], level[len(y)]; math.Abs(got-want) > 1e-9 {
			t.Fatalf("step %d: mean %v, want %v", step, got, want)
		}
		for i, level := range levels {
			lo := f.Mean[step-1] + quantile(errs, (1-level)/2)
			hi := f.Mean[step-1] + quantile(errs, (1+level)/2)
			iv := f.Intervals[i]
			if math.Abs(iv.Lower[step-1]-lo) > 1e-9 || math.Abs(iv.Upper[step-1]-hi) > 1e-9 {
				t.Errorf("step %d, %v%%: [%v, %v], want [%v, %v]", step, 100*level, iv.Lower[step-1], iv.Upper[step-1], lo, hi)
			}
		}
	}
}

// On heavy-tailed errors, Gaussian intervals are too wide for most days and
// too narrow for the rare ones; the empirical ones cover close to their level
// at both, on fresh data from the same process.
func TestEmpiricalIntervalsCoverHeavyTails(t *testing.T) {
	cover := func(kind IntervalKind) (c80, c95 float64) {
		var n float64
		for seed := range uint64(40) {
			y := heavyTailed(420, seed+10)
			m, err := Fit(y[:400], Options{Method: MethodETS, Spec: ANN, Intervals: kind})
			if err != nil {
				t.Fatal(err)
			}
			f := m.Forecast(20, []float64{0.8, 0.95})
			for i, v := range y[400:] {
				n++
				if v >= f.Intervals[0].Lower[i] && v <= f.Intervals[0].Upper[i] {
					c80++
				}
				if v >= f.Intervals[1].Lower[i] && v <= f.Intervals[1].Upper[i] {
					c95++
				}
			}
		}
		return c80 / n, c95 / n
	}
	g80, g95 := cover(IntervalsModel)
	e80, e95 := cover(IntervalsEmpirical)
	t.Logf("coverage of 800 forecasts: Gaussian %.3f / %.3f, empirical %.3f / %.3f (nominal 0.80 / 0.95)", g80, g95, e80, e95)
	if math.Abs(e80-0.8) > 0.04 || math.Abs(e95-0.95) > 0.03 {
		t.Errorf("empirical coverage %.3f / %.3f, want within 0.04 / 0.03 of 0.80 / 0.95", e80, e95)
	}
	if math.Abs(e80-0.8) >= math.Abs(g80-0.8) {
		t.Errorf("empirical 80%% coverage %.3f is no closer to nominal than the Gaussian %.3f", e80, g80)
	}
}

func TestEmpiricalIntervalsNeedETS(t *testing.T) {
	for _, m := range []Method{MethodSeasonalNaive, MethodTheta} {
		_, err := Fit(heavyTailed(50, 1), Options{Method: m, Intervals: IntervalsEmpirical})
		if !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s with empirical intervals: %v, want ErrInvalidOption", m, err)
		}
	}
	if _, err := Fit(heavyTailed(50, 1), Options{Intervals: IntervalKind(7)}); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("unknown interval kind: %v, want ErrInvalidOption", err)
	}
	for _, k := range []IntervalKind{IntervalsModel, IntervalsEmpirical} {
		if got, err := ParseIntervalKind(k.String()); err != nil || got != k {
			t.Errorf("ParseIntervalKind(%q) = %v, %v", k.String(), got, err)
		}
	}
}
