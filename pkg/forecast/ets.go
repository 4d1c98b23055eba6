package forecast

import (
	"fmt"
	"math"
)

// ETSParams are the parameters and initial states of an ETS model, in the
// units of the series.
type ETSParams struct {
	// Alpha smooths the level, in (0, 1).
	Alpha float64
	// Beta smooths the slope, in (0, Alpha); 0 without trend.
	Beta float64
	// Gamma smooths the seasonal states, in (0, 1-Alpha); 0 without
	// seasonality.
	Gamma float64
	// Phi damps the slope, in [0.8, 0.98]; 1 unless the trend is damped.
	Phi float64
	// Level is the initial level l0, just before the first observation.
	Level float64
	// Slope is the initial slope b0; 0 without trend.
	Slope float64
	// Season holds the m initial seasonal states in time order: Season[j]
	// is the state that observation j (0-based, j < m) uses. They sum to 0
	// (additive) or to m (multiplicative). Empty without seasonality.
	Season []float64
}

// etsState is the state after the last observation, ready to forecast.
type etsState struct {
	level, slope float64
	// season[i] is the seasonal state used i+1 steps ahead, modulo m.
	season []float64
}

// ETS is a fitted additive-error exponential smoothing model.
type ETS struct {
	// Spec is the fitted model.
	Spec ETSSpec
	// Period is the seasonal period m (1 without seasonality).
	Period int
	// Params are the maximum-likelihood parameters and initial states.
	Params ETSParams
	// NObs is the number of observations fitted.
	NObs int
	// NumParams counts the estimated parameters including the error
	// variance: smoothing parameters, phi, initial level and slope, m-1
	// initial seasonal states (the last follows from normalisation), and
	// sigma.
	NumParams int
	// LogLik is the maximised Gaussian log-likelihood,
	// -n/2·(log(2π·SSE/n) + 1).
	LogLik float64
	// AIC is -2·LogLik + 2·NumParams.
	AIC float64
	// AICc is AIC with the small-sample correction
	// 2·k·(k+1)/(n-k-1), k = NumParams.
	AICc float64
	// Sigma2 is the residual variance used by the intervals,
	// SSE/(n - NumParams + 1), the degrees-of-freedom corrected estimate
	// of R's forecast::ets.
	Sigma2 float64
	// Admissible reports whether the parameters lie in the forecastable
	// region of Hyndman et al. (2008, ch. 10). Fits are constrained to it,
	// so it is false only when no admissible fit was found; models without
	// seasonality are always inside it within the usual bounds, and
	// multiplicative-seasonal models have no such region and report true.
	Admissible bool
	// Candidates, set by SelectETS, lists every model compared, in
	// candidate order.
	Candidates []CandidateFit

	fitted      []float64
	final       etsState
	simulations int
	seed        uint64
	empirical   bool      // Options.Intervals is IntervalsEmpirical
	series      []float64 // the series fitted
}

var _ Model = (*ETS)(nil)

// Name describes the model, for example "ETS(A,Ad,A) m=7".
func (e *ETS) Name() string {
	if e.Spec.Seasonal() {
		return fmt.Sprintf("%s m=%d", e.Spec, e.Period)
	}
	return e.Spec.String()
}

// Fitted returns the one-step-ahead in-sample forecasts.
func (e *ETS) Fitted() []float64 { return append([]float64(nil), e.fitted...) }

// filter runs the state-space recursion of spec over y from the initial
// states in p. It returns the sum of squared one-step errors and the state
// after the last observation; fitted (if not nil) receives the one-step
// forecasts and ring (len m when seasonal) is scratch space. A run that
// breaks down (non-finite values, a multiplicative state crossing zero)
// returns an infinite SSE.
//
// The equations are those of Hyndman et al. (2008, table 2.3) for additive
// errors, with e_t = y_t - ŷ_t:
//
//	L = l + φb                   (b = 0, φ = 1 without damped trend)
//	additive season:       ŷ = L + s,  l' = L + αe,   b' = φb + βe,   s' = s + γe
//	multiplicative season: ŷ = L·s,  l' = L + αe/s, b' = φb + βe/s, s' = s + γe/L
func filter(spec ETSSpec, p *ETSParams, y, fitted, ring []float64) (float64, etsState) {
	m := len(p.Season)
	copy(ring, p.Season)
	l, b := p.Level, p.Slope
	alpha, beta, gamma, phi := p.Alpha, p.Beta, p.Gamma, p.Phi
	var sse float64
	j := 0
	switch spec.Season {
	case SeasonNone:
		for t, yt := range y {
			L := l + phi*b
			e := yt - L
			if fitted != nil {
				fitted[t] = L
			}
			l = L + alpha*e
			b = phi*b + beta*e
			sse += e * e
		}
	case SeasonAdditive:
		for t, yt := range y {
			L := l + phi*b
			s := ring[j]
			e := yt - (L + s)
			if fitted != nil {
				fitted[t] = L + s
			}
			l = L + alpha*e
			b = phi*b + beta*e
			ring[j] = s + gamma*e
			sse += e * e
			if j++; j == m {
				j = 0
			}
		}
	case SeasonMultiplicative:
		for t, yt := range y {
			L := l + phi*b
			s := ring[j]
			if math.Abs(s) < 1e-10 || math.Abs(L) < 1e-10 {
				return math.Inf(1), etsState{}
			}
			e := yt - L*s
			if fitted != nil {
				fitted[t] = L * s
			}
			l = L + alpha*e/s
			b = phi*b + beta*e/s
			ring[j] = s + gamma*e/L
			sse += e * e
			if j++; j == m {
				j = 0
			}
		}
	}
	if math.IsNaN(sse) || math.IsInf(sse, 0) {
		return math.Inf(1), etsState{}
	}
	st := etsState{level: l, slope: b}
	if m > 0 {
		st.season = make([]float64, m)
		for i := range st.season {
			st.season[i] = ring[(j+i)%m]
		}
	}
	return sse, st
}

// pointForecast gives the forecast mean of steps 1..h from state st: the
// recursion with future errors set to zero.
func pointForecast(spec ETSSpec, phi float64, st etsState, h int) []float64 {
	mean := make([]float64, h)
	phiSum, phiPow := 0.0, 1.0
	m := len(st.season)
	for i := range mean {
		phiPow *= phi
		phiSum += phiPow
		v := st.level + phiSum*st.slope
		switch spec.Season {
		case SeasonAdditive:
			v += st.season[i%m]
		case SeasonMultiplicative:
			v *= st.season[i%m]
		}
		mean[i] = v
	}
	return mean
}

// Forecast gives the next h values with prediction intervals. Linear models
// (no multiplicative seasonality) use the analytical variance
// σ²·(1 + Σ_{j<h} c_j²), c_j = α + β·(φ+…+φ^j) + γ·[j mod m = 0]
// (Hyndman et al. 2008, ch. 6); multiplicative-seasonal models take the
// empirical quantiles of simulated sample paths with Gaussian errors,
// seeded from Options.Seed. With Options.Intervals set to
// IntervalsEmpirical, the bounds are the quantiles of the model's in-sample
// errors instead. The mean is the point forecast in every case.
func (e *ETS) Forecast(h int, levels []float64) Forecast {
	if h < 1 {
		return Forecast{Mean: []float64{}, Intervals: emptyIntervals(levels)}
	}
	mean := pointForecast(e.Spec, e.Params.Phi, e.final, h)
	var f Forecast
	if e.Spec.linear() {
		f = gaussianForecast(mean, e.forecastSD(h), levels)
	} else {
		f = e.simulatedForecast(mean, levels)
	}
	if e.empirical {
		e.empiricalBounds(f)
	}
	return f
}

func emptyIntervals(levels []float64) []Interval {
	out := make([]Interval, len(levels))
	for i, l := range levels {
		out[i] = Interval{Level: l, Lower: []float64{}, Upper: []float64{}}
	}
	return out
}
