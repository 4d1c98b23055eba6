package forecast

import (
	"math"
	"math/rand/v2"
	"slices"
)

// forecastSD gives the forecast standard deviation of steps 1..h of a linear
// ETS model: σ_h² = σ²·(1 + Σ_{j=1}^{h-1} c_j²) with
// c_j = α + β·φ_j + γ·[j mod m = 0] and φ_j = φ + φ² + … + φ^j
// (Hyndman et al. 2008, table 6.1, class 1).
func (e *ETS) forecastSD(h int) []float64 {
	p := e.Params
	sd := make([]float64, h)
	sum, phiSum, phiPow := 0.0, 0.0, 1.0
	for i := range sd {
		sd[i] = math.Sqrt(e.Sigma2 * (1 + sum))
		j := i + 1
		phiPow *= p.Phi
		phiSum += phiPow
		c := p.Alpha + p.Beta*phiSum
		if e.Spec.Seasonal() && j%e.Period == 0 {
			c += p.Gamma
		}
		sum += c * c
	}
	return sd
}

// simulatedForecast builds intervals from sample paths of the model: each
// path draws Gaussian errors with variance Sigma2 and runs the state
// equations forward from the final state. The bounds are the empirical
// quantiles (linear interpolation, as numpy's default) of the simulated
// values at each step. The generator is PCG seeded with the model's seed,
// so the same model gives the same intervals.
func (e *ETS) simulatedForecast(mean []float64, levels []float64) Forecast {
	h, n := len(mean), e.simulations
	rng := rand.New(rand.NewPCG(e.seed, 0x9e3779b97f4a7c15)) //nolint:gosec // seeded for reproducible intervals, not security
	sigma := math.Sqrt(e.Sigma2)
	p := e.Params
	m := len(e.final.season)
	ring := make([]float64, m)
	paths := make([][]float64, h) // paths[step][path]
	for i := range paths {
		paths[i] = make([]float64, n)
	}
	for k := range n {
		copy(ring, e.final.season)
		l, b := e.final.level, e.final.slope
		for i := range h {
			L := l + p.Phi*b
			s := ring[i%m]
			eps := sigma * rng.NormFloat64()
			paths[i][k] = L*s + eps
			l = L + p.Alpha*eps/s
			b = p.Phi*b + p.Beta*eps/s
			ring[i%m] = s + p.Gamma*eps/L
		}
	}
	for _, step := range paths {
		slices.Sort(step)
	}
	f := Forecast{Mean: mean, Intervals: make([]Interval, len(levels))}
	for li, level := range levels {
		iv := Interval{Level: level, Lower: make([]float64, h), Upper: make([]float64, h)}
		for i, step := range paths {
			if level > 0 && level < 1 {
				iv.Lower[i] = quantileSorted(step, (1-level)/2)
				iv.Upper[i] = quantileSorted(step, (1+level)/2)
			} else {
				iv.Lower[i], iv.Upper[i] = math.NaN(), math.NaN()
			}
		}
		f.Intervals[li] = iv
	}
	return f
}

// minEmpiricalErrors is the fewest in-sample errors a step's empirical
// interval is made of; maxEmpiricalOrigins the most in-sample origins they
// come from (the latest), which bounds the work to that many filter runs.
const (
	minEmpiricalErrors  = 30
	maxEmpiricalOrigins = 1000
)

// empiricalBounds replaces the bounds of f with the mean plus quantiles
// (type 7) of the model's in-sample errors at the same number of steps
// ahead: from every origin t0 after the first season, the series up to t0
// is filtered with the fitted parameters and forecast, and y[t0+h-1] minus
// that forecast is an h-step error.
func (e *ETS) empiricalBounds(f Forecast) {
	h, n := len(f.Mean), len(e.series)
	errs := make([][]float64, h)
	ring := make([]float64, len(e.Params.Season))
	for t0 := max(e.Period, 1, n-maxEmpiricalOrigins); t0 < n; t0++ {
		_, st := filter(e.Spec, &e.Params, e.series[:t0], nil, ring)
		ahead := pointForecast(e.Spec, e.Params.Phi, st, min(h, n-t0))
		for i, v := range ahead {
			errs[i] = append(errs[i], e.series[t0+i]-v)
		}
	}
	for i, step := range errs {
		if len(step) < minEmpiricalErrors {
			continue
		}
		slices.Sort(step)
		for _, iv := range f.Intervals {
			if iv.Level <= 0 || iv.Level >= 1 || math.IsNaN(iv.Level) {
				continue
			}
			iv.Lower[i] = f.Mean[i] + quantileSorted(step, (1-iv.Level)/2)
			iv.Upper[i] = f.Mean[i] + quantileSorted(step, (1+iv.Level)/2)
		}
	}
}

// quantileSorted gives the q-quantile of sorted values with linear
// interpolation between order statistics (Hyndman and Fan's type 7).
func quantileSorted(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}
