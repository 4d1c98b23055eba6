package forecast

import (
	"fmt"
	"math"
)

// Theta is the standard Theta method (Assimakopoulos and Nikolopoulos,
// 2000), in the form shown by Hyndman and Billah (2003) to be simple
// exponential smoothing with drift, as in R's forecast::thetaf and the M4
// competition benchmark:
//
//  1. test for seasonality: the lag-m autocorrelation is significant at
//     90%, |r_m| > 1.645·√((1 + 2·Σ_{k<m} r_k²)/n), and n ≥ 2m;
//  2. if seasonal, remove the seasonality by classical multiplicative
//     decomposition (centred moving average, mean ratio per position,
//     indices averaging 1); additive when the series has a value ≤ 0, so
//     that counts with empty days still work;
//  3. fit SES (ETS(A,N,N) by maximum likelihood) to the adjusted series
//     and add a drift of half the least-squares slope b0:
//     ŷ_{n+h} = l_n + b0/2·(h - 1 + (1 - (1-α)^n)/α);
//  4. put the seasonality back.
//
// Intervals are the SES intervals, σ²·(1 + α²·(h-1)), computed on the
// adjusted scale and reseasonalised with the forecast.
type Theta struct {
	// Period is the seasonal period m given to the test (1: none).
	Period int
	// Seasonal reports whether seasonality was detected and removed.
	Seasonal bool
	// Multiplicative reports that the seasonal adjustment divided by the
	// indices (otherwise it subtracted them).
	Multiplicative bool
	// SeasonalIndex holds the m seasonal indices when Seasonal:
	// SeasonalIndex[j] applies to observations t ≡ j (mod m), t from 0.
	SeasonalIndex []float64
	// Alpha is the SES smoothing parameter.
	Alpha float64
	// Slope is b0, the least-squares slope of the adjusted series on time;
	// the drift is Slope/2.
	Slope float64
	// Sigma2 is the SES residual variance on the adjusted scale.
	Sigma2 float64

	level float64
	n     int
}

var _ Model = (*Theta)(nil)

// seasonalityZ is the one-sided 95% normal quantile: the seasonality test
// of the Theta method is a two-sided test at the 90% level.
const seasonalityZ = 1.6448536269514722

// FitTheta fits the Theta method with seasonal period m (0 or 1: no
// seasonality test).
func FitTheta(series []float64, period int) (*Theta, error) {
	if period < 0 {
		return nil, fmt.Errorf("%w: seasonal period %d is negative", ErrInvalidOption, period)
	}
	if err := checkFinite(series); err != nil {
		return nil, err
	}
	n := len(series)
	m := max(period, 1)
	th := &Theta{Period: m, n: n}
	adjusted := series
	if m > 1 && n >= 2*m && seasonalAutocorrelation(series, m) {
		th.Seasonal = true
		th.Multiplicative = true
		for _, v := range series {
			if !(v > 0) {
				th.Multiplicative = false
				break
			}
		}
		kind := SeasonAdditive
		if th.Multiplicative {
			kind = SeasonMultiplicative
		}
		th.SeasonalIndex = classicalSeasonalIndex(series, m, kind)
		adjusted = make([]float64, n)
		for t, v := range series {
			if th.Multiplicative {
				adjusted[t] = v / th.SeasonalIndex[t%m]
			} else {
				adjusted[t] = v - th.SeasonalIndex[t%m]
			}
		}
	}
	ses, err := fitETS(adjusted, ANN, Options{})
	if err != nil {
		return nil, fmt.Errorf("fitting the Theta method's exponential smoothing: %w", err)
	}
	th.Alpha = ses.Params.Alpha
	th.Sigma2 = ses.Sigma2
	th.level = ses.final.level
	th.Slope = leastSquaresSlope(adjusted)
	return th, nil
}

// Name describes the model, for example "Theta m=7 (multiplicative
// seasonal adjustment)".
func (th *Theta) Name() string {
	switch {
	case !th.Seasonal:
		return "Theta"
	case th.Multiplicative:
		return fmt.Sprintf("Theta m=%d (multiplicative seasonal adjustment)", th.Period)
	default:
		return fmt.Sprintf("Theta m=%d (additive seasonal adjustment)", th.Period)
	}
}

// Forecast gives SES-with-drift forecasts, reseasonalised.
func (th *Theta) Forecast(h int, levels []float64) Forecast {
	if h < 1 {
		return Forecast{Mean: []float64{}, Intervals: emptyIntervals(levels)}
	}
	a := th.Alpha
	mean := make([]float64, h)
	sd := make([]float64, h)
	catchUp := (1 - math.Pow(1-a, float64(th.n))) / a
	for i := range mean {
		mean[i] = th.level + th.Slope/2*(float64(i)+catchUp)
		sd[i] = math.Sqrt(th.Sigma2 * (1 + a*a*float64(i)))
	}
	f := gaussianForecast(mean, sd, levels)
	if !th.Seasonal {
		return f
	}
	reseason := func(v []float64) {
		for i := range v {
			idx := th.SeasonalIndex[(th.n+i)%th.Period]
			if th.Multiplicative {
				v[i] *= idx
			} else {
				v[i] += idx
			}
		}
	}
	reseason(f.Mean)
	for _, iv := range f.Intervals {
		reseason(iv.Lower)
		reseason(iv.Upper)
	}
	return f
}

// seasonalAutocorrelation is the Theta method's seasonality test: the
// lag-m sample autocorrelation against its 90% two-sided bound under the
// Bartlett variance (1 + 2·Σ_{k<m} r_k²)/n.
func seasonalAutocorrelation(y []float64, m int) bool {
	r := autocorrelations(y, m)
	if r == nil {
		return false // a constant series has no seasonality
	}
	var sum float64
	for _, rk := range r[1:m] {
		sum += rk * rk
	}
	bound := seasonalityZ * math.Sqrt((1+2*sum)/float64(len(y)))
	return math.Abs(r[m]) > bound
}

// autocorrelations gives the sample autocorrelations r_0..r_maxLag
// (denominator n, as usual), or nil for a constant series.
func autocorrelations(y []float64, maxLag int) []float64 {
	var mean float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	var c0 float64
	for _, v := range y {
		c0 += (v - mean) * (v - mean)
	}
	if c0 == 0 {
		return nil
	}
	r := make([]float64, maxLag+1)
	for k := range r {
		var c float64
		for t := k; t < len(y); t++ {
			c += (y[t] - mean) * (y[t-k] - mean)
		}
		r[k] = c / c0
	}
	return r
}

// leastSquaresSlope is the slope of the least-squares line through
// (t, y_t), t = 0..n-1.
func leastSquaresSlope(y []float64) float64 {
	n := float64(len(y))
	tMean := (n - 1) / 2
	var yMean float64
	for _, v := range y {
		yMean += v
	}
	yMean /= n
	var num, den float64
	for t, v := range y {
		dt := float64(t) - tMean
		num += dt * (v - yMean)
		den += dt * dt
	}
	if den == 0 {
		return 0
	}
	return num / den
}
