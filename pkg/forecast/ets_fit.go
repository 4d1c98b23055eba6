package forecast

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// The usual bounds of Hyndman et al. (2008), as in statsmodels' ETSModel and
// R's forecast::ets: 0 < α < 1, 0 < β < α, 0 < γ < 1 - α, 0.8 ≤ φ ≤ 0.98.
// The optimizer works on unconstrained values mapped into them with a
// logistic function; β and γ are searched as fractions of α and 1 - α.
const (
	smoothingLower = 1e-4
	smoothingUpper = 1 - 1e-4
	phiLower       = 0.8
	phiUpper       = 0.98
)

// penalty is the objective of parameters outside the model's valid region
// (a multiplicative state through zero, an inadmissible linear model): far
// above any real value, finite so that line searches backtrack from it.
const penalty = 1e12

// FitETS fits the ETS model opts.Spec to series by maximum likelihood.
//
// With additive Gaussian errors the likelihood, with σ² concentrated out,
// is maximised by the smallest sum of squared one-step errors; the
// parameters are the smoothing parameters and the initial states (level,
// slope, m-1 seasonal states; the last follows from normalisation). For the
// linear models the initial states are solved exactly by least squares at
// each trial of the smoothing parameters (a profile likelihood); with
// multiplicative seasonality they are searched with the rest. The search
// is gonum's L-BFGS with central-difference gradients from three starting
// points, restarted from the best point until it stops improving. Linear
// seasonal models found outside the admissible (forecastable) region are
// refitted with that region as a constraint.
//
// Seasonal models need at least two full seasons, every model needs
// NumParams+2 observations, and multiplicative seasonality needs a strictly
// positive series.
func FitETS(series []float64, opts Options) (*ETS, error) {
	opts.Method = MethodETS
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := checkFinite(series); err != nil {
		return nil, err
	}
	return fitETS(series, opts.Spec, opts)
}

// numParams counts the estimated parameters of spec, sigma included.
func numParams(spec ETSSpec, m int) int {
	k := 1 + 1 + 1 // alpha, initial level, sigma
	if spec.Trend != TrendNone {
		k += 2 // beta, initial slope
	}
	if spec.Trend == TrendDamped {
		k++
	}
	if spec.Seasonal() {
		k += 1 + m - 1
	}
	return k
}

// fitETS fits one model; series and opts are already validated.
func fitETS(series []float64, spec ETSSpec, opts Options) (*ETS, error) {
	n := len(series)
	m := 1
	if spec.Seasonal() {
		m = opts.period()
		if n < 2*m {
			return nil, fmt.Errorf("%w: %s needs two full seasons (%d values), got %d",
				ErrTooShort, spec, 2*m, n)
		}
		if spec.Season == SeasonMultiplicative {
			if err := checkPositive(series); err != nil {
				return nil, fmt.Errorf("fitting %s: %w", spec, err)
			}
		}
	}
	k := numParams(spec, m)
	if n < k+2 {
		return nil, fmt.Errorf("%w: %s has %d parameters and needs at least %d values, got %d",
			ErrTooShort, spec, k, k+2, n)
	}

	// Fit on the series divided by its mean magnitude so that initial
	// states are of order one whatever the units.
	scale := 0.0
	for _, v := range series {
		scale += math.Abs(v)
	}
	scale /= float64(n)
	if scale == 0 {
		scale = 1
	}
	scaled := make([]float64, n)
	for i, v := range series {
		scaled[i] = v / scale
	}

	pb := newETSProblem(spec, m, scaled)
	x := pb.optimize()
	if pb.needsAdmissibility() && !pb.admissible(x) {
		pb.constrain = true
		x = pb.optimize()
	}
	var p ETSParams
	pb.decode(x, &p)
	p.Season = append([]float64(nil), p.Season...)
	p.Level *= scale
	p.Slope *= scale
	if spec.Season == SeasonAdditive {
		for j := range p.Season {
			p.Season[j] *= scale
		}
	}

	fitted := make([]float64, n)
	sse, final := filter(spec, &p, series, fitted, make([]float64, len(p.Season)))
	if math.IsInf(sse, 1) {
		return nil, fmt.Errorf("fitting %s: the model breaks down on this series (a state crosses zero)", spec)
	}
	fn, fk := float64(n), float64(k)
	ll := -fn / 2 * (math.Log(2*math.Pi*sse/fn) + 1)
	aic := -2*ll + 2*fk
	return &ETS{
		Spec:        spec,
		Period:      m,
		Params:      p,
		NObs:        n,
		NumParams:   k,
		LogLik:      ll,
		AIC:         aic,
		AICc:        aic + 2*fk*(fk+1)/(fn-fk-1),
		Sigma2:      sse / (fn - fk + 1),
		Admissible:  !pb.needsAdmissibility() || pb.admissible(x),
		fitted:      fitted,
		final:       final,
		simulations: opts.simulations(),
		seed:        opts.Seed,
		empirical:   opts.Intervals == IntervalsEmpirical,
		series:      series,
	}, nil
}

// etsProblem is the likelihood of one model on one (scaled) series as a
// function of an unconstrained parameter vector.
//
// Linear models (no multiplicative seasonality) are affine in their initial
// states for fixed smoothing parameters, so the states that minimise the
// sum of squared errors follow by linear least squares: the optimizer only
// searches the smoothing parameters, x = [α, β/α, γ/(1-α), φ] (those the
// model has), and the likelihood it sees is profiled over the initial
// states. Multiplicative-seasonal models search everything:
//
//	x = [α, β/α, γ/(1-α), φ, l0, b0, s_0 … s_{m-2}]
//
// In both cases the smoothing parameters are logistically mapped into their
// bounds.
type etsProblem struct {
	spec ETSSpec
	m    int
	y    []float64
	// profile is set for linear models: initial states by least squares.
	profile bool
	// constrain adds the admissible region of linear seasonal models to the
	// objective.
	constrain bool

	p    ETSParams // scratch for decode
	ring []float64 // scratch for filter
	xh   []float64 // scratch for the gradient

	// Scratch for the profile: the one-step forecasts from zero initial
	// states and their residuals, a zero series, the forecasts of the zero
	// series from each unit initial state (row i of cols, k×n row-major, is
	// column i of the regression), and the normal equations.
	base, zeros, resid []float64
	cols               []float64
	gram               *mat.SymDense
	rhs, sol, scale    *mat.VecDense
	chol               mat.Cholesky
}

func newETSProblem(spec ETSSpec, m int, y []float64) *etsProblem {
	pb := &etsProblem{spec: spec, m: m, y: y, profile: spec.linear()}
	if spec.Seasonal() {
		pb.p.Season = make([]float64, m)
		pb.ring = make([]float64, m)
	}
	pb.xh = make([]float64, pb.dim())
	if pb.profile {
		n := len(y)
		pb.base = make([]float64, n)
		pb.zeros = make([]float64, n)
		pb.resid = make([]float64, n)
		k := pb.numStates()
		pb.cols = make([]float64, k*n)
		pb.gram = mat.NewSymDense(k, nil)
		pb.rhs = mat.NewVecDense(k, nil)
		pb.sol = mat.NewVecDense(k, nil)
		pb.scale = mat.NewVecDense(k, nil)
	}
	return pb
}

// numSmoothing counts α, β, γ and φ as the model has them.
func (pb *etsProblem) numSmoothing() int {
	d := 1
	if pb.spec.Trend != TrendNone {
		d++
	}
	if pb.spec.Trend == TrendDamped {
		d++
	}
	if pb.spec.Seasonal() {
		d++
	}
	return d
}

// numStates counts the free initial states: level, slope, m-1 seasonal.
func (pb *etsProblem) numStates() int {
	d := 1
	if pb.spec.Trend != TrendNone {
		d++
	}
	if pb.spec.Seasonal() {
		d += pb.m - 1
	}
	return d
}

func (pb *etsProblem) dim() int {
	if pb.profile {
		return pb.numSmoothing()
	}
	return pb.numSmoothing() + pb.numStates()
}

func logistic(x, lo, hi float64) float64 { return lo + (hi-lo)/(1+math.Exp(-x)) }

func logit(v, lo, hi float64) float64 {
	u := (v - lo) / (hi - lo)
	u = min(max(u, 1e-9), 1-1e-9)
	return math.Log(u / (1 - u))
}

// decodeSmoothing maps the first entries of x to α, β, γ, φ and returns the
// rest.
func (pb *etsProblem) decodeSmoothing(x []float64, p *ETSParams) []float64 {
	p.Alpha = logistic(x[0], smoothingLower, smoothingUpper)
	x = x[1:]
	p.Beta, p.Gamma, p.Phi = 0, 0, 1
	if pb.spec.Trend != TrendNone {
		p.Beta = p.Alpha * logistic(x[0], smoothingLower, smoothingUpper)
		x = x[1:]
	}
	if pb.spec.Seasonal() {
		p.Gamma = (1 - p.Alpha) * logistic(x[0], smoothingLower, smoothingUpper)
		x = x[1:]
	}
	if pb.spec.Trend == TrendDamped {
		p.Phi = logistic(x[0], phiLower, phiUpper)
		x = x[1:]
	}
	return x
}

// setStates sets the initial states of p from the free states v (level,
// slope, m-1 seasonal), completing the last seasonal state by
// normalisation. It reports false when that state of a multiplicative
// model is not positive.
func (pb *etsProblem) setStates(v []float64, p *ETSParams) bool {
	p.Level, p.Slope = v[0], 0
	v = v[1:]
	if pb.spec.Trend != TrendNone {
		p.Slope = v[0] / float64(len(pb.y))
		v = v[1:]
	}
	if !pb.spec.Seasonal() {
		p.Season = p.Season[:0]
		return true
	}
	if len(p.Season) != pb.m {
		p.Season = make([]float64, pb.m)
	}
	var sum float64
	for j := range pb.m - 1 {
		p.Season[j] = v[j]
		sum += v[j]
	}
	if pb.spec.Season == SeasonMultiplicative {
		p.Season[pb.m-1] = float64(pb.m) - sum
		return p.Season[pb.m-1] > 0
	}
	p.Season[pb.m-1] = -sum
	return true
}

// decode maps x to full parameters in p. For a profiled problem it solves
// for the initial states and returns the sum of squared errors (or +Inf);
// otherwise the returned SSE is NaN and p's states come from x. It reports
// false for parameters outside the model's valid region.
func (pb *etsProblem) decode(x []float64, p *ETSParams) (float64, bool) {
	rest := pb.decodeSmoothing(x, p)
	if pb.constrain && !admissibleParams(pb.spec, p, pb.m) {
		return math.Inf(1), false
	}
	if !pb.profile {
		return math.NaN(), pb.setStates(rest, p)
	}
	sse := pb.profileStates(p)
	return sse, !math.IsInf(sse, 1)
}

// profileStates sets the initial states of p (smoothing parameters already
// set) to the least-squares ones and returns the resulting SSE. The
// recursion of a linear model is linear in (y, x0) jointly, so the errors
// are e(x0) = y - ŷ(y, 0) - ŷ(0, x0) = r - F·x0, where column i of F is the
// forecast of a zero series from the i-th unit initial state.
func (pb *etsProblem) profileStates(p *ETSParams) float64 {
	k, n := pb.numStates(), len(pb.y)
	unit := make([]float64, k)
	pb.setStates(unit, p)
	if sse, _ := filter(pb.spec, p, pb.y, pb.base, pb.ring); math.IsInf(sse, 1) {
		return sse
	}
	for i, v := range pb.y {
		pb.resid[i] = v - pb.base[i]
	}
	for i := range k {
		unit[i] = 1
		pb.setStates(unit, p)
		unit[i] = 0
		if sse, _ := filter(pb.spec, p, pb.zeros, pb.cols[i*n:(i+1)*n], pb.ring); math.IsInf(sse, 1) {
			return sse
		}
	}
	// Normal equations FᵀF·x0 = Fᵀr, with the columns scaled to unit norm
	// so that the Cholesky factorisation sees a correlation matrix. Their
	// squared conditioning does not matter here: the SSE is flat to first
	// order around the least-squares states.
	for i := range k {
		ci := pb.cols[i*n : (i+1)*n]
		norm := math.Sqrt(floats.Dot(ci, ci))
		if norm == 0 {
			return math.Inf(1) // a state with no effect: not identifiable
		}
		pb.scale.SetVec(i, 1/norm)
	}
	for i := range k {
		ci := pb.cols[i*n : (i+1)*n]
		si := pb.scale.AtVec(i)
		for j := i; j < k; j++ {
			pb.gram.SetSym(i, j, floats.Dot(ci, pb.cols[j*n:(j+1)*n])*si*pb.scale.AtVec(j))
		}
		pb.rhs.SetVec(i, floats.Dot(ci, pb.resid)*si)
	}
	if !pb.chol.Factorize(pb.gram) {
		return math.Inf(1)
	}
	if err := pb.chol.SolveVecTo(pb.sol, pb.rhs); err != nil {
		var cond mat.Condition
		if !errors.As(err, &cond) {
			return math.Inf(1)
		}
	}
	pb.sol.MulElemVec(pb.sol, pb.scale)
	pb.setStates(pb.sol.RawVector().Data, p)
	sse, _ := filter(pb.spec, p, pb.y, nil, pb.ring)
	return sse
}

// encode maps parameters (within bounds, seasonal states normalised) to x.
func (pb *etsProblem) encode(p ETSParams) []float64 {
	x := make([]float64, 0, pb.dim())
	x = append(x, logit(p.Alpha, smoothingLower, smoothingUpper))
	if pb.spec.Trend != TrendNone {
		x = append(x, logit(p.Beta/p.Alpha, smoothingLower, smoothingUpper))
	}
	if pb.spec.Seasonal() {
		x = append(x, logit(p.Gamma/(1-p.Alpha), smoothingLower, smoothingUpper))
	}
	if pb.spec.Trend == TrendDamped {
		x = append(x, logit(p.Phi, phiLower, phiUpper))
	}
	if pb.profile {
		return x
	}
	x = append(x, p.Level)
	if pb.spec.Trend != TrendNone {
		x = append(x, p.Slope*float64(len(pb.y)))
	}
	if pb.spec.Seasonal() {
		x = append(x, p.Season[:pb.m-1]...)
	}
	return x
}

// objective is n/2·log(SSE), the negative concentrated log-likelihood up to
// a constant.
func (pb *etsProblem) objective(x []float64) float64 {
	sse, ok := pb.decode(x, &pb.p)
	if !ok {
		return penalty
	}
	if !pb.profile {
		sse, _ = filter(pb.spec, &pb.p, pb.y, nil, pb.ring)
	}
	switch {
	case math.IsInf(sse, 1) || math.IsNaN(sse):
		return penalty
	case sse == 0:
		return math.Inf(-1)
	}
	return float64(len(pb.y)) / 2 * math.Log(sse)
}

// gradient is a central-difference gradient of objective.
func (pb *etsProblem) gradient(grad, x []float64) {
	copy(pb.xh, x)
	for i, xi := range x {
		h := 1e-6 * max(1, math.Abs(xi))
		pb.xh[i] = xi + h
		fp := pb.objective(pb.xh)
		pb.xh[i] = xi - h
		fm := pb.objective(pb.xh)
		pb.xh[i] = xi
		grad[i] = (fp - fm) / (2 * h)
	}
}

// starts gives the optimizer's starting points: the heuristic initial states
// with small smoothing parameters (statsmodels' defaults), with moderate
// ones, and with a fast level and slope for series that move like a random
// walk; the likelihood is often multimodal across these regions.
func (pb *etsProblem) starts() [][]float64 {
	level, slope, season := initialStates(pb.spec, pb.y, pb.m)
	var out [][]float64
	for _, s := range [][4]float64{{0.1, 0.01, 0.01, 0.97}, {0.5, 0.05, 0.1, 0.9}, {0.9, 0.8, 0.05, 0.85}} {
		p := ETSParams{Alpha: s[0], Beta: s[1], Gamma: s[2], Phi: s[3], Level: level, Slope: slope, Season: season}
		if pb.spec.Seasonal() && pb.constrain && !admissibleParams(pb.spec, &p, pb.m) {
			continue
		}
		out = append(out, pb.encode(p))
	}
	return out
}

// optimize minimises the objective from each start, then restarts L-BFGS
// from the best point (dropping its curvature memory) while that still
// improves the likelihood.
func (pb *etsProblem) optimize() []float64 {
	var best []float64
	bestF := math.Inf(1)
	for _, x0 := range pb.starts() {
		x, f := pb.lbfgs(x0)
		if f < bestF {
			best, bestF = x, f
		}
	}
	if best == nil {
		// Every start was outside the constrained region: fall back to the
		// plain heuristic, which the caller reports as not admissible.
		pb.constrain = false
		return pb.optimize()
	}
	for range 5 {
		x, f := pb.lbfgs(best)
		if !(f < bestF-1e-7) {
			break
		}
		best, bestF = x, f
	}
	return best
}

func (pb *etsProblem) lbfgs(x0 []float64) ([]float64, float64) {
	problem := optimize.Problem{Func: pb.objective, Grad: pb.gradient}
	settings := &optimize.Settings{
		GradientThreshold: 1e-4,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-7, Iterations: 5},
		MajorIterations:   1000,
	}
	f0 := pb.objective(x0)
	res, err := optimize.Minimize(problem, x0, settings, &optimize.LBFGS{})
	// A line search that cannot improve any further at a flat optimum is
	// reported as an error; the best location found is still valid.
	if res == nil || (err != nil && !(res.F < f0)) || !(res.F <= f0) {
		return x0, f0
	}
	return res.X, res.F
}

func (pb *etsProblem) needsAdmissibility() bool {
	return pb.spec.Season == SeasonAdditive
}

func (pb *etsProblem) admissible(x []float64) bool {
	var p ETSParams
	pb.decodeSmoothing(x, &p)
	return admissibleParams(pb.spec, &p, pb.m)
}
