package forecast

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Model is a fitted forecasting model.
type Model interface {
	// Name describes the model, for example "ETS(A,Ad,A) m=7".
	Name() string
	// Forecast gives the next h values after the end of the fitted series,
	// with a prediction interval per level. Levels are coverage
	// probabilities in (0, 1), such as 0.8 and 0.95; check them with
	// [CheckLevels] first, since an invalid level gets NaN bounds. A
	// horizon below 1 gives an empty forecast.
	Forecast(h int, levels []float64) Forecast
}

// Forecast holds point forecasts and prediction intervals for steps
// 1..h after the end of the series.
type Forecast struct {
	// Mean is the point forecast per step.
	Mean []float64
	// Intervals holds one interval per requested level, in request order.
	Intervals []Interval
}

// Interval is a prediction interval at one coverage level.
type Interval struct {
	// Level is the nominal coverage probability, for example 0.95.
	Level float64
	// Lower and Upper are the bounds per step.
	Lower, Upper []float64
}

// Interval returns the interval computed for level, if there is one.
func (f Forecast) Interval(level float64) (Interval, bool) {
	for _, iv := range f.Intervals {
		if iv.Level == level {
			return iv, true
		}
	}
	return Interval{}, false
}

// CheckLevels reports an error unless every level is a probability strictly
// between 0 and 1.
func CheckLevels(levels []float64) error {
	for _, l := range levels {
		if !(l > 0 && l < 1) {
			return fmt.Errorf("%w: interval level %v is not in (0, 1)", ErrInvalidOption, l)
		}
	}
	return nil
}

// Fit fits the model that opts describes to series, which must be regular
// (one value per period, no gaps; see [Daily]) and finite.
func Fit(series []float64, opts Options) (Model, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := checkFinite(series); err != nil {
		return nil, err
	}
	switch opts.Method {
	case MethodETS:
		return fitETS(series, opts.Spec, opts)
	case MethodSeasonalNaive:
		return FitSeasonalNaive(series, opts.Period)
	case MethodTheta:
		return FitTheta(series, opts.Period)
	default:
		return SelectETS(series, opts)
	}
}

func checkFinite(series []float64) error {
	if len(series) == 0 {
		return fmt.Errorf("%w: the series is empty", ErrTooShort)
	}
	for i, v := range series {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: value %d is %v", ErrNotFinite, i, v)
		}
	}
	return nil
}

func checkPositive(series []float64) error {
	for i, v := range series {
		if !(v > 0) {
			return fmt.Errorf("%w: value %d is %v, multiplicative seasonality needs a strictly positive series",
				ErrNotPositive, i, v)
		}
	}
	return nil
}

// normalQuantile gives the two-sided standard normal quantile of a level:
// 1.2816 for 0.8, 1.96 for 0.95. It is NaN outside (0, 1).
func normalQuantile(level float64) float64 {
	if !(level > 0 && level < 1) {
		return math.NaN()
	}
	return distuv.UnitNormal.Quantile(0.5 + level/2)
}

// gaussianForecast builds intervals mean ± z·sd for every level.
func gaussianForecast(mean, sd []float64, levels []float64) Forecast {
	f := Forecast{Mean: mean, Intervals: make([]Interval, len(levels))}
	for i, level := range levels {
		z := normalQuantile(level)
		iv := Interval{Level: level, Lower: make([]float64, len(mean)), Upper: make([]float64, len(mean))}
		for h := range mean {
			iv.Lower[h] = mean[h] - z*sd[h]
			iv.Upper[h] = mean[h] + z*sd[h]
		}
		f.Intervals[i] = iv
	}
	return f
}
