package forecast

import "fmt"

// Method selects the forecasting method that [Fit] uses.
type Method int

const (
	// MethodAuto fits every ETS candidate ([Options.Candidates], or
	// [Candidates]) and keeps the one with the lowest AICc.
	MethodAuto Method = iota
	// MethodETS fits the single ETS model [Options.Spec].
	MethodETS
	// MethodSeasonalNaive repeats the last season (the last value when the
	// period is 1).
	MethodSeasonalNaive
	// MethodTheta is the standard Theta method of Assimakopoulos and
	// Nikolopoulos, as formulated by Hyndman and Billah (2003).
	MethodTheta
)

// String gives the method's name as used in queries and configuration.
func (m Method) String() string {
	switch m {
	case MethodAuto:
		return "auto"
	case MethodETS:
		return "ets"
	case MethodSeasonalNaive:
		return "snaive"
	case MethodTheta:
		return "theta"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod reads a method name as printed by [Method.String].
func ParseMethod(name string) (Method, error) {
	for _, m := range []Method{MethodAuto, MethodETS, MethodSeasonalNaive, MethodTheta} {
		if m.String() == name {
			return m, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown forecasting method %q (want auto, ets, snaive or theta)",
		ErrInvalidOption, name)
}

// DefaultSimulations is the number of simulated paths used for the
// prediction intervals of multiplicative-seasonal models when
// [Options.Simulations] is zero.
const DefaultSimulations = 5000

// Options configures [Fit] and [Backtest]. The zero value is ETS with model
// selection and no seasonality.
type Options struct {
	// Method is the forecasting method; the default is MethodAuto.
	Method Method
	// Period is the seasonal period m: 7 for daily data with a weekly
	// cycle, 12 for monthly data with a yearly one. 0 or 1 means no
	// seasonality.
	Period int
	// Spec is the model fitted by MethodETS.
	Spec ETSSpec
	// Candidates are the models compared by MethodAuto; empty means
	// Candidates(Period, series).
	Candidates []ETSSpec
	// Simulations is the number of sample paths behind simulated intervals;
	// 0 means DefaultSimulations.
	Simulations int
	// Seed seeds the simulations, so intervals are reproducible.
	Seed uint64
	// Intervals says how ETS models bound their forecasts; the default is
	// IntervalsModel. The baselines (MethodSeasonalNaive, MethodTheta) only
	// have their model's intervals.
	Intervals IntervalKind
}

// IntervalKind is how an ETS model computes its prediction intervals.
type IntervalKind int

const (
	// IntervalsModel takes the model's Gaussian errors at their word:
	// analytical variances for linear models, simulated sample paths for
	// multiplicative-seasonal ones.
	IntervalsModel IntervalKind = iota
	// IntervalsEmpirical bounds the h-step forecast with quantiles of the
	// fitted model's own h-step errors in the sample (Williams and
	// Goodman, 1971): forecasting from every in-sample origin with the
	// fitted parameters, the errors h steps ahead have the shape the model
	// assumes away, such as a few days missed by far (holidays) among many
	// missed by little. A step with fewer than minEmpiricalErrors of them
	// keeps the model's interval.
	IntervalsEmpirical
)

func (k IntervalKind) String() string {
	switch k {
	case IntervalsModel:
		return "model"
	case IntervalsEmpirical:
		return "empirical"
	}
	return fmt.Sprintf("IntervalKind(%d)", int(k))
}

// ParseIntervalKind reads an interval kind as printed by
// [IntervalKind.String].
func ParseIntervalKind(name string) (IntervalKind, error) {
	for _, k := range []IntervalKind{IntervalsModel, IntervalsEmpirical} {
		if k.String() == name {
			return k, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown interval kind %q (model or empirical)", ErrInvalidOption, name)
}

func (o Options) validate() error {
	if o.Period < 0 {
		return fmt.Errorf("%w: seasonal period %d is negative", ErrInvalidOption, o.Period)
	}
	if o.Simulations < 0 {
		return fmt.Errorf("%w: simulations %d is negative", ErrInvalidOption, o.Simulations)
	}
	switch o.Intervals {
	case IntervalsModel:
	case IntervalsEmpirical:
		if o.Method == MethodSeasonalNaive || o.Method == MethodTheta {
			return fmt.Errorf("%w: empirical intervals need an ETS method, not %s", ErrInvalidOption, o.Method)
		}
	default:
		return fmt.Errorf("%w: unknown interval kind %d", ErrInvalidOption, int(o.Intervals))
	}
	switch o.Method {
	case MethodAuto:
		for _, s := range o.Candidates {
			if err := o.checkSpec(s); err != nil {
				return err
			}
		}
	case MethodETS:
		return o.checkSpec(o.Spec)
	case MethodSeasonalNaive, MethodTheta:
	default:
		return fmt.Errorf("%w: unknown method %d", ErrInvalidOption, int(o.Method))
	}
	return nil
}

func (o Options) checkSpec(s ETSSpec) error {
	if !s.valid() {
		return fmt.Errorf("%w: unknown ETS model (trend %d, season %d)",
			ErrInvalidOption, int(s.Trend), int(s.Season))
	}
	if s.Seasonal() && o.Period <= 1 {
		return fmt.Errorf("%w: seasonal model %s needs a seasonal period above 1, got %d",
			ErrInvalidOption, s, o.Period)
	}
	return nil
}

func (o Options) simulations() int {
	if o.Simulations == 0 {
		return DefaultSimulations
	}
	return o.Simulations
}

// period is the seasonal period with "no seasonality" normalised to 1.
func (o Options) period() int {
	if o.Period < 1 {
		return 1
	}
	return o.Period
}
