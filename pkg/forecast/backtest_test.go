package forecast

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// gaussianDaily is a daily series with a linear trend, a fixed weekly
// profile and independent Gaussian noise of standard deviation sd: the
// truth against which interval coverage is measured.
func gaussianDaily(n int, sd float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	weekly := []float64{12, 9, 6, 8, 4, -15, -24}
	y := make([]float64, n)
	for t := range y {
		y[t] = 150 + 0.05*float64(t) + weekly[t%7] + sd*rng.NormFloat64()
	}
	return y
}

func TestBacktestCoverageNearNominal(t *testing.T) {
	// One year of training, then 30 two-week forecasts: 420 scored values
	// per level.
	const horizon = 14
	series := gaussianDaily(365+30*horizon, 8, 11)
	origins := RollingOrigins(len(series), 365, horizon, horizon)
	res, err := Backtest(series, Options{Method: MethodETS, Period: 7, Spec: AAA}, origins, horizon, 0.8, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d origins: coverage 80%% %.3f, 95%% %.3f; MASE %.3f, sMAPE %.2f%%",
		len(origins), res.Overall.Coverage[0], res.Overall.Coverage[1], res.Overall.MASE, res.Overall.SMAPE)
	if c := res.Overall.Coverage[0]; c < 0.70 || c > 0.90 {
		t.Errorf("80%% interval coverage %.3f outside [0.70, 0.90]", c)
	}
	if c := res.Overall.Coverage[1]; c < 0.88 || c > 0.995 {
		t.Errorf("95%% interval coverage %.3f outside [0.88, 0.995]", c)
	}
	if res.Overall.Count != len(origins)*horizon || res.PerHorizon[0].Count != len(origins) {
		t.Errorf("counts overall %d, first step %d", res.Overall.Count, res.PerHorizon[0].Count)
	}
}

func TestBacktestETSBeatsSeasonalNaive(t *testing.T) {
	g := loadGolden(t)
	d := g.dataset(t, "synthetic_daily")
	const horizon = 14
	// Eight origins over the second year, each with automatic selection.
	origins := RollingOrigins(len(d.series), 365, horizon, 44)
	ets, err := Backtest(d.series, Options{Period: 7}, origins, horizon)
	if err != nil {
		t.Fatal(err)
	}
	snaive, err := Backtest(d.series, Options{Method: MethodSeasonalNaive, Period: 7}, origins, horizon)
	if err != nil {
		t.Fatal(err)
	}
	theta, err := Backtest(d.series, Options{Method: MethodTheta, Period: 7}, origins, horizon)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d origins, horizon %d: MASE ETS %.3f, seasonal naive %.3f, Theta %.3f; sMAPE %.2f%% / %.2f%% / %.2f%%; ETS models %v",
		len(origins), horizon, ets.Overall.MASE, snaive.Overall.MASE, theta.Overall.MASE,
		ets.Overall.SMAPE, snaive.Overall.SMAPE, theta.Overall.SMAPE, slices.Compact(slices.Sorted(slices.Values(ets.Models))))
	if !(ets.Overall.MASE < snaive.Overall.MASE) {
		t.Errorf("ETS MASE %.3f does not beat seasonal naive %.3f", ets.Overall.MASE, snaive.Overall.MASE)
	}
}

func TestBacktestMetricsByHand(t *testing.T) {
	// y = t: the naive forecast from origin 15 is 14 for every step, with
	// errors 1, 2, 3; the in-sample naive error is 1 every day.
	series := make([]float64, 20)
	for i := range series {
		series[i] = float64(i)
	}
	res, err := Backtest(series, Options{Method: MethodSeasonalNaive}, []int{15}, 3, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	for h, m := range res.PerHorizon {
		e := float64(h + 1)
		y := float64(15 + h)
		wantSMAPE := 200 * e / (y + 14)
		if m.MASE != e || math.Abs(m.SMAPE-wantSMAPE) > 1e-12 || m.MAE != e || m.RMSE != e {
			t.Errorf("h=%d: metrics %+v, want MASE = MAE = RMSE = %v, sMAPE %v", h+1, m, e, wantSMAPE)
		}
	}
	o := res.Overall
	if o.MASE != 2 || o.MAE != 2 || math.Abs(o.RMSE-math.Sqrt(14.0/3)) > 1e-12 {
		t.Errorf("overall %+v, want MASE 2, MAE 2, RMSE √(14/3)", o)
	}
	// The in-sample naive errors are all 1, so the 50% interval is
	// ±0.674·√h around 14: it holds none of 15, 16, 17.
	if o.Coverage[0] != 0 {
		t.Errorf("coverage %v, want 0", o.Coverage[0])
	}
}

func TestBacktestValidation(t *testing.T) {
	series := gaussianDaily(60, 1, 1)
	cases := []struct {
		name    string
		origins []int
		horizon int
		levels  []float64
	}{
		{"no origins", nil, 7, nil},
		{"origin past the end", []int{55}, 7, nil},
		{"zero origin", []int{0}, 7, nil},
		{"zero horizon", []int{30}, 0, nil},
		{"level in percent", []int{30}, 7, []float64{80}},
	}
	for _, c := range cases {
		_, err := Backtest(series, Options{Method: MethodSeasonalNaive, Period: 7}, c.origins, c.horizon, c.levels...)
		if !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: error %v, want ErrInvalidOption", c.name, err)
		}
	}
	// A training window too short for the model names the origin.
	_, err := Backtest(series, Options{Method: MethodETS, Period: 7, Spec: AAA}, []int{10, 40}, 7)
	if !errors.Is(err, ErrTooShort) {
		t.Errorf("short training window: error %v, want ErrTooShort", err)
	}
}

func TestRollingOrigins(t *testing.T) {
	got := RollingOrigins(100, 60, 14, 10)
	want := []int{60, 70, 80}
	if !slices.Equal(got, want) {
		t.Errorf("RollingOrigins(100, 60, 14, 10) = %v, want %v", got, want)
	}
	if got := RollingOrigins(100, 90, 14, 1); len(got) != 0 {
		t.Errorf("no room for the horizon, got %v", got)
	}
}
