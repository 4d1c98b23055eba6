package forecast

import (
	"errors"
	"math"
	"strconv"
	"testing"
)

// Tolerances against statsmodels, documented here and in the report:
const (
	// recursionTol bounds |our log-likelihood - statsmodels'| at the same
	// parameters for the models whose recursions are identical (no
	// multiplicative seasonality): only floating-point rounding differs.
	recursionTol = 1e-6
	// multiplicativeRecursionTol bounds the same difference for
	// multiplicative seasonality, where statsmodels updates the seasonal
	// state with the new level (s + γe/l_t) and this package with Hyndman
	// et al.'s l_{t-1} + φb_{t-1} (as R's forecast::ets): two close but
	// different models.
	multiplicativeRecursionTol = 0.5
	// fitTol is how far our maximised log-likelihood may fall below
	// statsmodels' (ours may be higher: a better optimum).
	fitTol = 0.01
	// meanRelTol bounds the relative difference of point forecasts when
	// both fits reach the same optimum (log-likelihoods within fitTol).
	meanRelTol = 1e-3
	// widthRelTol bounds the relative difference of analytical interval
	// half-widths at the same optimum, after allowing for the variance
	// estimate: statsmodels uses SSE/n, this package SSE/(n-k+1).
	widthRelTol = 0.01
	// simulatedWidthRelTol does the same for simulated intervals (5000
	// paths on each side, and the seasonal update difference above).
	simulatedWidthRelTol = 0.05
)

func TestETSLikelihoodAtStatsmodelsParams(t *testing.T) {
	g := loadGolden(t)
	for _, d := range g.Datasets {
		for _, ge := range d.ETS {
			spec, err := ParseETSSpec(ge.Model)
			if err != nil {
				t.Fatal(err)
			}
			p := statsmodelsParams(spec, ge)
			n := float64(len(d.series))
			sse, _ := filter(spec, &p, d.series, nil, make([]float64, len(p.Season)))
			ll := -n / 2 * (math.Log(2*math.Pi*sse/n) + 1)
			tol := recursionTol
			if spec.Season == SeasonMultiplicative {
				tol = multiplicativeRecursionTol
			}
			if diff := ll - ge.LLF; math.Abs(diff) > tol {
				t.Errorf("%s %s: log-likelihood at statsmodels' parameters %.6f, statsmodels %.6f (diff %.2e > %.0e)",
					d.Name, ge.Model, ll, ge.LLF, diff, tol)
			}
		}
	}
}

func TestETSFitAgainstStatsmodels(t *testing.T) {
	g := loadGolden(t)
	for _, d := range g.Datasets {
		for _, ge := range d.ETS {
			t.Run(d.Name+"/"+ge.Model, func(t *testing.T) {
				t.Parallel()
				checkFitAgainstStatsmodels(t, g, d, ge)
			})
		}
	}
}

func checkFitAgainstStatsmodels(t *testing.T, g *goldenFile, d goldenDataset, ge goldenETS) {
	spec, err := ParseETSSpec(ge.Model)
	if err != nil {
		t.Fatal(err)
	}
	model, err := FitETS(d.series, Options{Method: MethodETS, Period: d.Period, Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	diff := model.LogLik - ge.LLF
	t.Logf("loglik ours %10.3f statsmodels %10.3f (%+.3f); α %.4f, statsmodels %.4f",
		model.LogLik, ge.LLF, diff, model.Params.Alpha, ge.Params["smoothing_level"])
	if diff < -fitTol {
		t.Errorf("log-likelihood %.4f is below statsmodels' %.4f by more than %v", model.LogLik, ge.LLF, fitTol)
	}
	if !model.Admissible {
		t.Errorf("fitted model is not admissible")
	}
	if diff > fitTol {
		return // a better optimum: no reason for equal forecasts
	}
	f := model.Forecast(d.Horizon, g.Levels)
	checkClose(t, "mean", f.Mean, ge.Mean, meanRelTol)
	// statsmodels' intervals use σ² = SSE/n.
	k := float64(model.NumParams)
	n := float64(model.NObs)
	varRatio := math.Sqrt(n / (n - k + 1))
	tol := widthRelTol
	if ge.IntervalMethod == "simulated" {
		tol = simulatedWidthRelTol
	}
	for _, level := range g.Levels {
		iv, _ := f.Interval(level)
		key := formatLevel(level)
		for h := range f.Mean {
			ours := (iv.Upper[h] - iv.Lower[h]) / 2
			theirs := (ge.Upper[key][h] - ge.Lower[key][h]) / 2 * varRatio
			if rel := math.Abs(ours-theirs) / theirs; rel > tol {
				t.Errorf("%v interval half-width at h=%d is %.4f, statsmodels (variance-adjusted) %.4f (rel %.3f > %v)",
					level, h+1, ours, theirs, rel, tol)
				break
			}
		}
	}
}

func TestSelectETSPicksSeasonalModel(t *testing.T) {
	g := loadGolden(t)
	for _, d := range g.Datasets {
		model, err := SelectETS(d.series, Options{Period: d.Period})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range model.Candidates {
			t.Logf("%s %-5s AICc %10.3f", d.Name, c.Spec.ShortName(), c.AICc)
		}
		if !model.Spec.Seasonal() {
			t.Errorf("%s: AICc selected non-seasonal %s on a seasonal series", d.Name, model.Spec)
		}
		if len(model.Candidates) != 9 {
			t.Errorf("%s: compared %d candidates, want all 9 on a positive seasonal series", d.Name, len(model.Candidates))
		}
		// statsmodels' ranking by its own AICc picks the same model.
		if model.Spec.ShortName() != d.AICcBest {
			t.Errorf("%s: selected %s, statsmodels' lowest AICc is %s", d.Name, model.Spec.ShortName(), d.AICcBest)
		}
		for _, c := range model.Candidates {
			if c.AICc < model.AICc {
				t.Errorf("%s: %s has AICc %.3f below the selected %.3f", d.Name, c.Spec, c.AICc, model.AICc)
			}
		}
	}
}

// TestAICcFormula checks AICc against its definition from the fitted
// log-likelihood and a hand count of the parameters of AAdA with m = 7:
// α, β, γ, φ, l0, b0, six free seasonal states and σ.
func TestAICcFormula(t *testing.T) {
	g := loadGolden(t)
	d := g.dataset(t, "synthetic_daily")
	model, err := FitETS(d.series, Options{Method: MethodETS, Period: 7, Spec: AAdA})
	if err != nil {
		t.Fatal(err)
	}
	const k = 13
	if model.NumParams != k {
		t.Fatalf("NumParams = %d, want %d", model.NumParams, k)
	}
	n := float64(len(d.series))
	want := -2*model.LogLik + 2*k*n/(n-k-1)
	if math.Abs(model.AICc-want) > 1e-9 {
		t.Errorf("AICc = %.9f, want %.9f", model.AICc, want)
	}
}

func TestETSDeterministic(t *testing.T) {
	g := loadGolden(t)
	d := g.dataset(t, "synthetic_daily")
	opts := Options{Method: MethodETS, Period: 7, Spec: ANM, Seed: 7}
	a, err := FitETS(d.series, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := FitETS(d.series, opts)
	if err != nil {
		t.Fatal(err)
	}
	fa := a.Forecast(24, []float64{0.8})
	fb := b.Forecast(24, []float64{0.8})
	for h := range fa.Mean {
		if fa.Mean[h] != fb.Mean[h] || fa.Intervals[0].Lower[h] != fb.Intervals[0].Lower[h] ||
			fa.Intervals[0].Upper[h] != fb.Intervals[0].Upper[h] {
			t.Fatalf("h=%d: two fits of the same series and options differ", h+1)
		}
	}
	// Another seed moves simulated bounds only by Monte Carlo noise.
	opts.Seed = 8
	c, err := FitETS(d.series, opts)
	if err != nil {
		t.Fatal(err)
	}
	fc := c.Forecast(24, []float64{0.8})
	if fc.Intervals[0].Lower[23] == fa.Intervals[0].Lower[23] {
		t.Errorf("a different seed gave identical simulated bounds")
	}
	checkClose(t, "bounds across seeds", fc.Intervals[0].Upper, fa.Intervals[0].Upper, 0.01)
}

func TestETSInputValidation(t *testing.T) {
	seasonal := make([]float64, 40)
	for i := range seasonal {
		seasonal[i] = 10 + float64(i%7)
	}
	withNaN := append([]float64(nil), seasonal...)
	withNaN[5] = math.NaN()
	withZero := append([]float64(nil), seasonal...)
	withZero[3] = 0

	cases := []struct {
		name   string
		series []float64
		opts   Options
		want   error
	}{
		{"empty", nil, Options{}, ErrTooShort},
		{"NaN", withNaN, Options{Period: 7}, ErrNotFinite},
		{"infinite", []float64{1, 2, math.Inf(1), 4, 5, 6}, Options{}, ErrNotFinite},
		{"zero with multiplicative", withZero, Options{Method: MethodETS, Period: 7, Spec: AAM}, ErrNotPositive},
		{"one season only", seasonal[:10], Options{Method: MethodETS, Period: 7, Spec: ANA}, ErrTooShort},
		{"fewer values than parameters", seasonal[:14], Options{Method: MethodETS, Period: 7, Spec: AAdA}, ErrTooShort},
		{"too short for any candidate", seasonal[:4], Options{Period: 7}, ErrTooShort},
		{"seasonal model without period", seasonal, Options{Method: MethodETS, Spec: AAA}, ErrInvalidOption},
		{"negative period", seasonal, Options{Period: -1}, ErrInvalidOption},
		{"unknown method", seasonal, Options{Method: Method(42)}, ErrInvalidOption},
		{"unknown spec", seasonal, Options{Method: MethodETS, Spec: ETSSpec{Trend: 9}}, ErrInvalidOption},
		{"negative simulations", seasonal, Options{Simulations: -5}, ErrInvalidOption},
		{"seasonal naive one season", seasonal[:7], Options{Method: MethodSeasonalNaive, Period: 7}, ErrTooShort},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Fit(c.series, c.opts)
			if !errors.Is(err, c.want) {
				t.Fatalf("Fit error = %v, want %v", err, c.want)
			}
			t.Logf("%v", err)
		})
	}
}

func TestSelectETSSkipsMultiplicativeForZeros(t *testing.T) {
	// Daily counts with empty Sundays: multiplicative seasonality is not a
	// candidate, and the selection still works.
	series := make([]float64, 120)
	for i := range series {
		if i%7 != 6 {
			series[i] = 20 + float64(i%7) + float64(i%5)
		}
	}
	model, err := SelectETS(series, Options{Period: 7})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range model.Candidates {
		if c.Spec.Season == SeasonMultiplicative {
			t.Errorf("multiplicative candidate %s compared on a series with zeros", c.Spec)
		}
	}
	// Forcing one in reports it, and the others still compete.
	model, err = SelectETS(series, Options{Period: 7, Candidates: []ETSSpec{ANA, ANM}})
	if err != nil {
		t.Fatal(err)
	}
	if model.Spec != ANA || !errors.Is(model.Candidates[1].Err, ErrNotPositive) {
		t.Errorf("got %s with candidates %+v, want ANA and ANM rejected as not positive", model.Spec, model.Candidates)
	}
}

func TestParseETSSpec(t *testing.T) {
	for in, want := range map[string]ETSSpec{
		"AAdM": AAdM, "ETS(A,Ad,M)": AAdM, "a,n,a": ANA, " ann ": ANN, "ETS(A,A,N)": AAN,
	} {
		got, err := ParseETSSpec(in)
		if err != nil || got != want {
			t.Errorf("ParseETSSpec(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"MAM", "AMN", "", "ETS(A,A)"} {
		if _, err := ParseETSSpec(in); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("ParseETSSpec(%q) error = %v, want ErrInvalidOption", in, err)
		}
	}
	for _, s := range allSpecs {
		if got, _ := ParseETSSpec(s.String()); got != s {
			t.Errorf("round trip of %s gave %s", s, got)
		}
	}
	for _, m := range []Method{MethodAuto, MethodETS, MethodSeasonalNaive, MethodTheta} {
		if got, err := ParseMethod(m.String()); err != nil || got != m {
			t.Errorf("ParseMethod(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMethod("arima"); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("ParseMethod(arima) error = %v, want ErrInvalidOption", err)
	}
}

func TestForecastLevelsAndHorizon(t *testing.T) {
	g := loadGolden(t)
	d := g.dataset(t, "synthetic_daily")
	model, err := Fit(d.series, Options{Method: MethodETS, Period: 7, Spec: AAA})
	if err != nil {
		t.Fatal(err)
	}
	if f := model.Forecast(0, []float64{0.9}); len(f.Mean) != 0 || len(f.Intervals) != 1 || len(f.Intervals[0].Lower) != 0 {
		t.Errorf("h=0 forecast = %+v, want empty", f)
	}
	if err := CheckLevels([]float64{0.8, 95}); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("CheckLevels(95) = %v, want ErrInvalidOption", err)
	}
	f := model.Forecast(3, []float64{1.5})
	if !math.IsNaN(f.Intervals[0].Lower[0]) {
		t.Errorf("invalid level gave bound %v, want NaN", f.Intervals[0].Lower[0])
	}
	// Wider levels give nested intervals.
	f = model.Forecast(14, []float64{0.5, 0.8, 0.99})
	for h := range f.Mean {
		for i := 1; i < 3; i++ {
			if !(f.Intervals[i].Lower[h] < f.Intervals[i-1].Lower[h] && f.Intervals[i].Upper[h] > f.Intervals[i-1].Upper[h]) {
				t.Fatalf("h=%d: %v interval does not contain the %v one", h+1, f.Intervals[i].Level, f.Intervals[i-1].Level)
			}
		}
	}
}

func checkClose(t *testing.T, what string, got, want []float64, relTol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if rel := math.Abs(got[i]-want[i]) / math.Max(math.Abs(want[i]), 1e-12); rel > relTol {
			t.Errorf("%s: value %d is %.6f, want %.6f (relative difference %.2e > %.0e)", what, i, got[i], want[i], rel, relTol)
			return
		}
	}
}

// formatLevel gives a level as the golden script's keys spell it ("0.8").
func formatLevel(l float64) string { return strconv.FormatFloat(l, 'g', -1, 64) }
