package forecast

import (
	"fmt"
	"math"
	"slices"
)

// defaultLevels are the interval levels a backtest scores when none are
// given.
var defaultLevels = []float64{0.8, 0.95}

// Metrics are forecast accuracy figures over a set of forecasts.
type Metrics struct {
	// Count is the number of forecasts scored.
	Count int
	// MASE is the mean absolute scaled error: the absolute error divided
	// by the in-sample mean absolute error of the seasonal naive method
	// (lag m, or 1 without seasonality) on that origin's training data.
	// Below 1 beats the in-sample seasonal naive; NaN when a training
	// window has no variation at lag m.
	MASE float64
	// SMAPE is the symmetric mean absolute percentage error, in percent:
	// 200·|y - ŷ|/(|y| + |ŷ|), counted as 0 when both are 0.
	SMAPE float64
	// MAE and RMSE are the mean absolute and root mean squared errors, in
	// the series' units.
	MAE, RMSE float64
	// Coverage holds, per backtest level, the fraction of actual values
	// inside the prediction interval (bounds included).
	Coverage []float64
}

// BacktestResult holds the scores of a rolling-origin backtest.
type BacktestResult struct {
	// Origins are the forecast origins: each model was fitted to
	// series[:origin] and scored on series[origin:origin+Horizon].
	Origins []int
	// Horizon is the number of steps forecast from each origin.
	Horizon int
	// Levels are the interval levels scored.
	Levels []float64
	// Models names the model fitted at each origin (model selection may
	// pick different ones).
	Models []string
	// PerHorizon holds the metrics per step ahead: PerHorizon[h-1] scores
	// every h-step-ahead forecast.
	PerHorizon []Metrics
	// Overall scores every forecast of every step.
	Overall Metrics
}

// RollingOrigins lists the forecast origins first, first+step, … whose
// horizon still fits in a series of n values (origin+horizon <= n).
func RollingOrigins(n, first, horizon, step int) []int {
	var out []int
	if first < 1 || horizon < 1 || step < 1 {
		return out
	}
	for o := first; o+horizon <= n; o += step {
		out = append(out, o)
	}
	return out
}

// Backtest evaluates the method of opts by rolling-origin evaluation: for
// each origin o it fits the model to series[:o], forecasts horizon steps,
// and scores them against series[o:o+horizon]. Coverage is measured at
// levels, 0.8 and 0.95 when none are given. Origins are fitted in
// parallel; the result does not depend on the scheduling.
func Backtest(series []float64, opts Options, origins []int, horizon int, levels ...float64) (BacktestResult, error) {
	if err := opts.validate(); err != nil {
		return BacktestResult{}, err
	}
	if err := checkFinite(series); err != nil {
		return BacktestResult{}, err
	}
	if len(levels) == 0 {
		levels = defaultLevels
	}
	if err := CheckLevels(levels); err != nil {
		return BacktestResult{}, err
	}
	if horizon < 1 {
		return BacktestResult{}, fmt.Errorf("%w: backtest horizon %d is below 1", ErrInvalidOption, horizon)
	}
	if len(origins) == 0 {
		return BacktestResult{}, fmt.Errorf("%w: backtest needs at least one origin", ErrInvalidOption)
	}
	for _, o := range origins {
		if o < 1 || o+horizon > len(series) {
			return BacktestResult{}, fmt.Errorf("%w: origin %d with horizon %d does not fit in %d values",
				ErrInvalidOption, o, horizon, len(series))
		}
	}

	type outcome struct {
		model    string
		forecast Forecast
		scale    float64
		err      error
	}
	outcomes := make([]outcome, len(origins))
	forEachParallel(len(origins), func(i int) {
		train := series[:origins[i]]
		model, err := Fit(train, opts)
		if err != nil {
			outcomes[i].err = fmt.Errorf("backtest origin %d: %w", origins[i], err)
			return
		}
		outcomes[i] = outcome{
			model:    model.Name(),
			forecast: model.Forecast(horizon, levels),
			scale:    naiveScale(train, opts.period()),
		}
	})

	res := BacktestResult{
		Origins:    slices.Clone(origins),
		Horizon:    horizon,
		Levels:     slices.Clone(levels),
		Models:     make([]string, len(origins)),
		PerHorizon: make([]Metrics, horizon),
	}
	perH := make([]accumulator, horizon)
	var all accumulator
	for i, o := range origins {
		out := outcomes[i]
		if out.err != nil {
			return BacktestResult{}, out.err
		}
		res.Models[i] = out.model
		for h := range horizon {
			y, f := series[o+h], out.forecast.Mean[h]
			inside := make([]bool, len(levels))
			for l, iv := range out.forecast.Intervals {
				inside[l] = iv.Lower[h] <= y && y <= iv.Upper[h]
			}
			perH[h].add(y, f, out.scale, inside)
			all.add(y, f, out.scale, inside)
		}
	}
	for h := range perH {
		res.PerHorizon[h] = perH[h].metrics()
	}
	res.Overall = all.metrics()
	return res, nil
}

// naiveScale is the in-sample mean absolute error of the seasonal naive
// method at lag m, the MASE denominator (Hyndman and Koehler, 2006).
func naiveScale(train []float64, m int) float64 {
	if len(train) <= m {
		return math.NaN()
	}
	var sum float64
	for t := m; t < len(train); t++ {
		sum += math.Abs(train[t] - train[t-m])
	}
	if sum == 0 {
		return math.NaN() // no variation at lag m: MASE is undefined
	}
	return sum / float64(len(train)-m)
}

type accumulator struct {
	n                           int
	scaled, smape, abs, squared float64
	covered                     []int
}

func (a *accumulator) add(y, f, scale float64, inside []bool) {
	if a.covered == nil {
		a.covered = make([]int, len(inside))
	}
	e := math.Abs(y - f)
	a.n++
	a.scaled += e / scale
	if d := math.Abs(y) + math.Abs(f); d > 0 {
		a.smape += 200 * e / d
	}
	a.abs += e
	a.squared += e * e
	for i, in := range inside {
		if in {
			a.covered[i]++
		}
	}
}

func (a *accumulator) metrics() Metrics {
	n := float64(a.n)
	m := Metrics{
		Count:    a.n,
		MASE:     a.scaled / n,
		SMAPE:    a.smape / n,
		MAE:      a.abs / n,
		RMSE:     math.Sqrt(a.squared / n),
		Coverage: make([]float64, len(a.covered)),
	}
	for i, c := range a.covered {
		m.Coverage[i] = float64(c) / n
	}
	return m
}
