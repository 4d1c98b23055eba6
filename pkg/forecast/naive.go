package forecast

import (
	"fmt"
	"math"
)

// SeasonalNaive forecasts each future value as the value one season
// earlier: y_{n+h} = y_{n+h-m·(k+1)}, k = ⌊(h-1)/m⌋. With a period of 1 it is
// the naive (random walk) forecast. It is the baseline a model must beat,
// and the scale of MASE.
type SeasonalNaive struct {
	// Period is the seasonal period m (1 for the naive method).
	Period int
	// Sigma2 is the mean squared one-season-back error over the series,
	// mean((y_t - y_{t-m})²).
	Sigma2 float64

	last []float64 // the last m values
}

var _ Model = (*SeasonalNaive)(nil)

// FitSeasonalNaive fits the seasonal naive method with period m (0 or 1:
// naive). The series must hold more than one season so that the error
// variance can be estimated.
func FitSeasonalNaive(series []float64, period int) (*SeasonalNaive, error) {
	if period < 0 {
		return nil, fmt.Errorf("%w: seasonal period %d is negative", ErrInvalidOption, period)
	}
	if err := checkFinite(series); err != nil {
		return nil, err
	}
	m := max(period, 1)
	n := len(series)
	if n <= m {
		return nil, fmt.Errorf("%w: seasonal naive with period %d needs more than %d values, got %d",
			ErrTooShort, m, m, n)
	}
	var sse float64
	for t := m; t < n; t++ {
		d := series[t] - series[t-m]
		sse += d * d
	}
	return &SeasonalNaive{
		Period: m,
		Sigma2: sse / float64(n-m),
		last:   append([]float64(nil), series[n-m:]...),
	}, nil
}

// Name describes the model, for example "SNaive m=7".
func (s *SeasonalNaive) Name() string {
	if s.Period == 1 {
		return "Naive"
	}
	return fmt.Sprintf("SNaive m=%d", s.Period)
}

// Forecast repeats the last season. Intervals assume the seasonal
// differences are independent Gaussian errors: σ_h² = σ²·(k+1),
// k = ⌊(h-1)/m⌋ (Hyndman and Athanasopoulos, "Forecasting: principles and
// practice", table 5.2).
func (s *SeasonalNaive) Forecast(h int, levels []float64) Forecast {
	if h < 1 {
		return Forecast{Mean: []float64{}, Intervals: emptyIntervals(levels)}
	}
	mean := make([]float64, h)
	sd := make([]float64, h)
	for i := range mean {
		mean[i] = s.last[i%s.Period]
		sd[i] = math.Sqrt(s.Sigma2 * float64(i/s.Period+1))
	}
	return gaussianForecast(mean, sd, levels)
}
