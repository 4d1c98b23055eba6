package forecast

import (
	"fmt"
	"strings"
)

// Trend is the trend component of an ETS model.
type Trend int

const (
	// TrendNone has no slope: forecasts stay at the last level.
	TrendNone Trend = iota
	// TrendAdditive carries a smoothed slope on forever.
	TrendAdditive
	// TrendDamped is an additive slope multiplied by phi at each step, so
	// long-range forecasts flatten out instead of growing without end.
	TrendDamped
)

// String gives the trend's letter in Hyndman's notation: N, A or Ad.
func (t Trend) String() string {
	switch t {
	case TrendNone:
		return "N"
	case TrendAdditive:
		return "A"
	case TrendDamped:
		return "Ad"
	}
	return fmt.Sprintf("Trend(%d)", int(t))
}

// Seasonality is the seasonal component of an ETS model.
type Seasonality int

const (
	// SeasonNone has no seasonal component.
	SeasonNone Seasonality = iota
	// SeasonAdditive adds a seasonal effect of constant size.
	SeasonAdditive
	// SeasonMultiplicative scales the level by a seasonal factor, so the
	// seasonal swing grows with the level. It needs a strictly positive
	// series.
	SeasonMultiplicative
)

// String gives the seasonality's letter in Hyndman's notation: N, A or M.
func (s Seasonality) String() string {
	switch s {
	case SeasonNone:
		return "N"
	case SeasonAdditive:
		return "A"
	case SeasonMultiplicative:
		return "M"
	}
	return fmt.Sprintf("Seasonality(%d)", int(s))
}

// ETSSpec names one exponential smoothing model. The error is always
// additive (Gaussian with constant variance), which is what gives the
// concentrated likelihood and the analytical intervals used here.
type ETSSpec struct {
	Trend  Trend
	Season Seasonality
}

// Common models, named as in Hyndman's taxonomy.
var (
	// ANN is simple exponential smoothing.
	ANN = ETSSpec{TrendNone, SeasonNone}
	// AAN is Holt's linear trend method.
	AAN = ETSSpec{TrendAdditive, SeasonNone}
	// AAdN is the damped trend method.
	AAdN = ETSSpec{TrendDamped, SeasonNone}
	// ANA is seasonal exponential smoothing without trend.
	ANA = ETSSpec{TrendNone, SeasonAdditive}
	// AAA is additive Holt-Winters.
	AAA = ETSSpec{TrendAdditive, SeasonAdditive}
	// AAdA is additive Holt-Winters with a damped trend.
	AAdA = ETSSpec{TrendDamped, SeasonAdditive}
	// ANM is multiplicative seasonality without trend.
	ANM = ETSSpec{TrendNone, SeasonMultiplicative}
	// AAM is multiplicative Holt-Winters (with additive errors).
	AAM = ETSSpec{TrendAdditive, SeasonMultiplicative}
	// AAdM is multiplicative Holt-Winters with a damped trend.
	AAdM = ETSSpec{TrendDamped, SeasonMultiplicative}
)

// String gives the model in Hyndman's notation, for example "ETS(A,Ad,M)".
func (s ETSSpec) String() string {
	return "ETS(A," + s.Trend.String() + "," + s.Season.String() + ")"
}

// ShortName gives the model's compact name, for example "AAdM".
func (s ETSSpec) ShortName() string {
	return "A" + s.Trend.String() + s.Season.String()
}

// Seasonal reports whether the model has a seasonal component.
func (s ETSSpec) Seasonal() bool { return s.Season != SeasonNone }

// linear reports whether the model is linear in its states (no
// multiplicative seasonality), the class with analytical forecast variances.
func (s ETSSpec) linear() bool { return s.Season != SeasonMultiplicative }

func (s ETSSpec) valid() bool {
	return s.Trend >= TrendNone && s.Trend <= TrendDamped &&
		s.Season >= SeasonNone && s.Season <= SeasonMultiplicative
}

// ParseETSSpec reads a model name: "AAdM", "A,Ad,M" or "ETS(A,Ad,M)", case
// insensitive. Only additive errors are supported.
func ParseETSSpec(name string) (ETSSpec, error) {
	s := strings.ToUpper(strings.TrimSpace(name))
	if strings.HasPrefix(s, "ETS(") && strings.HasSuffix(s, ")") {
		s = s[len("ETS(") : len(s)-1]
	}
	s = strings.ReplaceAll(strings.ReplaceAll(s, ",", ""), " ", "")
	for _, spec := range allSpecs {
		if strings.ToUpper(spec.ShortName()) == s {
			return spec, nil
		}
	}
	return ETSSpec{}, fmt.Errorf("%w: unknown ETS model %q (want one of %s)",
		ErrInvalidOption, name, specNames(allSpecs))
}

var allSpecs = []ETSSpec{ANN, AAN, AAdN, ANA, AAA, AAdA, ANM, AAM, AAdM}

func specNames(specs []ETSSpec) string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.ShortName()
	}
	return strings.Join(names, ", ")
}

// Candidates lists the models that [MethodAuto] compares by AICc when
// [Options.Candidates] is empty:
//
//   - always ANN, AAN, AAdN;
//   - with a seasonal period (m > 1) and at least two full seasons of data,
//     also ANA, AAA, AAdA;
//   - and, when every value is strictly positive, ANM, AAM, AAdM.
//
// Models with more parameters than the series can support are dropped at
// fit time.
func Candidates(period int, series []float64) []ETSSpec {
	out := []ETSSpec{ANN, AAN, AAdN}
	if period <= 1 || len(series) < 2*period {
		return out
	}
	out = append(out, ANA, AAA, AAdA)
	for _, v := range series {
		if !(v > 0) {
			return out
		}
	}
	return append(out, ANM, AAM, AAdM)
}
