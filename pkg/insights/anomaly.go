package insights

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bdc-analytics/bdc/pkg/forecast"
	"github.com/bdc-analytics/bdc/pkg/predict"
)

// seriesWords says what each daily series of package predict counts.
var seriesWords = map[string]struct {
	label string
	// value formats an actual value, bound a forecast (counts forecast with a decimal).
	value, bound func(float64) string
	// fact says the actual value of a day: "212 appointments (not cancelled) were scheduled".
	fact func(v float64) string
	// gapless series have a value every day (0 when no row); the others have none on days
	// without a row (trainer utilization on days nobody is available).
	gapless bool
}{
	predict.SeriesAppointments: {"Appointments", count, decimal,
		func(v float64) string {
			return plural(v, "appointment (not cancelled) was", "appointments (not cancelled) were") + " scheduled"
		}, true},
	predict.SeriesRegistrations: {"Registrations", count, decimal,
		func(v float64) string { return plural(v, "beneficiary", "beneficiaries") + " registered" }, true},
	predict.SeriesTrainerUtilization: {"Trainer utilization", percent, percent,
		func(v float64) string { return "trainers' booked time was " + percent(v) + " of their available time" }, false},
}

// dayCheck is one day of a series against its forecast.
type dayCheck struct {
	Day                        time.Time
	Actual, Mean, Lower, Upper float64
	HighLower, HighUpper       float64
	Outside                    string // "above", "below" or "" (within the interval of level)
	OutsideHigh                bool   // outside the interval of high_level too
}

// anomalies runs the anomaly rule: each series' last complete days against a forecast fitted to
// the history before them.
func (s *Store) anomalies(ctx context.Context, at time.Time, loc *time.Location) ([]Insight, error) {
	cfg := &s.Config.Anomaly
	today := localDay(at, loc)
	start := today.AddDate(0, 0, -cfg.Days)
	ps := s.predict()
	var out []Insight
	for _, name := range cfg.Series {
		run, err := ps.Forecast(ctx, name, predict.ForecastOptions{Now: start, HistoryDays: cfg.HistoryDays, Horizon: cfg.Days,
			Levels: []float64{cfg.Level, cfg.HighLevel}, BacktestOrigins: -1})
		if errors.Is(err, predict.ErrNoRows) || errors.Is(err, forecast.ErrTooShort) {
			s.logger().Info("no anomaly check: too little history to forecast", "series", name, "before", start.Format(time.DateOnly), "err", err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("couldn't forecast %s to check for anomalies: %w", name, err)
		}
		checks, err := s.checkDays(ctx, ps, name, run)
		if err != nil {
			return nil, err
		}
		if in, ok := anomalyInsight(name, run, checks, cfg, start, today); ok {
			out = append(out, in)
		}
	}
	return out, nil
}

// checkDays reads the actual value of each day forecast by run and places it against the
// intervals.
func (s *Store) checkDays(ctx context.Context, ps *predict.Store, name string, run *predict.ForecastRun) ([]dayCheck, error) {
	var out []dayCheck
	for _, p := range run.Points {
		var actual float64
		series, err := ps.Series(ctx, name, p.Day, p.Day.AddDate(0, 0, 1))
		switch {
		case errors.Is(err, predict.ErrNoRows) && seriesWords[name].gapless:
			actual = 0 // no row: nothing happened that day
		case errors.Is(err, predict.ErrNoRows):
			continue // no value that day (nobody available): nothing to compare
		case err != nil:
			return nil, fmt.Errorf("couldn't read %s of %s: %w", name, p.Day.Format(time.DateOnly), err)
		default:
			actual = series.Values[0]
		}
		// Counts and ratios are never negative: a bound below 0 reads as 0.
		c := dayCheck{Day: p.Day, Actual: actual, Mean: max(0, p.Mean),
			Lower: max(0, p.Lower[0]), Upper: max(0, p.Upper[0]), HighLower: max(0, p.Lower[1]), HighUpper: max(0, p.Upper[1])}
		switch {
		case actual > c.Upper:
			c.Outside, c.OutsideHigh = "above", actual > c.HighUpper
		case actual < c.Lower:
			c.Outside, c.OutsideHigh = "below", actual < c.HighLower
		}
		out = append(out, c)
	}
	return out, nil
}

// anomalyInsight reports the days outside their interval, if any.
func anomalyInsight(name string, run *predict.ForecastRun, checks []dayCheck, cfg *AnomalyConfig, from, to time.Time) (Insight, bool) {
	words := seriesWords[name]
	var outside []dayCheck
	high := false
	evDays := make([]any, len(checks))
	for i, c := range checks {
		evDays[i] = map[string]any{
			"day": c.Day.Format(time.DateOnly), "actual": c.Actual, "expected": c.Mean,
			"lower": c.Lower, "upper": c.Upper, "high_lower": c.HighLower, "high_upper": c.HighUpper, "outside": c.Outside,
		}
		if c.Outside != "" {
			outside = append(outside, c)
			high = high || c.OutsideHigh
		}
	}
	if len(outside) == 0 {
		return Insight{}, false
	}
	level, highLevel := percentLevel(cfg.Level), percentLevel(cfg.HighLevel)
	var title string
	if len(outside) == 1 {
		c := outside[0]
		title = fmt.Sprintf("%s %s forecast on %s: %s, expected %s to %s", words.label, c.Outside, day(c.Day),
			words.value(c.Actual), words.bound(c.Lower), words.bound(c.Upper))
	} else {
		title = fmt.Sprintf("%s outside forecast on %d of the %d days checked", words.label, len(outside), len(checks))
	}
	var detail strings.Builder
	for _, c := range outside {
		fmt.Fprintf(&detail, "On %s, %s: %s the %s forecast interval of %s to %s (expected %s)", day(c.Day), words.fact(c.Actual),
			c.Outside, level, words.bound(c.Lower), words.bound(c.Upper), words.bound(c.Mean))
		if c.OutsideHigh {
			fmt.Fprintf(&detail, ", and outside the %s interval (%s to %s) too", highLevel, words.bound(c.HighLower), words.bound(c.HighUpper))
		}
		detail.WriteString(". ")
	}
	fmt.Fprintf(&detail, "The forecast (%s) was fitted to the days from %s to %s, before the days checked.",
		run.Model, day(run.HistoryFrom), day(run.HistoryTo))
	priority := PriorityMedium
	if high {
		priority = PriorityHigh
	}
	return Insight{
		Rule: "anomaly." + name, Category: CategoryAnomaly, Priority: priority,
		Title: title, Detail: detail.String(),
		Evidence: map[string]any{
			"series": name, "model": run.Model, "forecast_made_at": run.GeneratedAt,
			"history_from": run.HistoryFrom.Format(time.DateOnly), "history_to": run.HistoryTo.Format(time.DateOnly),
			"level": cfg.Level, "high_level": cfg.HighLevel, "days_checked": len(checks), "days_outside": len(outside),
			"days": evDays,
		},
		PeriodFrom: from, PeriodTo: to,
	}, true
}

// percentLevel writes an interval level: 0.95 → "95 %".
func percentLevel(l float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", 100*l), "0"), ".") + " %"
}
