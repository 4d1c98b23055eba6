package predict

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/forecast"
)

// Series names: the daily series forecast for capacity planning.
const (
	// SeriesAppointments counts the appointments scheduled per local day, cancelled ones left
	// out: the demand on trainers.
	SeriesAppointments = "appointments"
	// SeriesRegistrations counts the beneficiaries registered per local day.
	SeriesRegistrations = "registrations"
	// SeriesTrainerUtilization is, per local day, the minutes of appointments not cancelled
	// over the minutes trainers made available. Days without availability (Sundays, holidays)
	// have no value and are interpolated.
	SeriesTrainerUtilization = "trainer_utilization"
)

// seriesSQL computes each series per local day in [@from_day, @to_day) as (day, value) rows.
var seriesSQL = map[string]string{
	SeriesAppointments: `select (a.scheduled_at at time zone @tz)::date, count(*)::float8
		from bdc.appointments a
		where a.status <> 'cancelled'
		  and a.scheduled_at >= @from_day::timestamp at time zone @tz and a.scheduled_at < @to_day::timestamp at time zone @tz
		group by 1 order by 1`,
	SeriesRegistrations: `select (b.created_at at time zone @tz)::date, count(*)::float8
		from bdc.beneficiaries b
		where b.created_at >= @from_day::timestamp at time zone @tz and b.created_at < @to_day::timestamp at time zone @tz
		group by 1 order by 1`,
	SeriesTrainerUtilization: `with avail as (
			select t.day, sum(t.available_minutes) as minutes from bdc.trainer_availability t
			where t.day >= @from_day and t.day < @to_day group by t.day),
		booked as (
			select (a.scheduled_at at time zone @tz)::date as day, sum(a.duration_minutes) as minutes
			from bdc.appointments a
			where a.status <> 'cancelled'
			  and a.scheduled_at >= @from_day::timestamp at time zone @tz and a.scheduled_at < @to_day::timestamp at time zone @tz
			group by 1)
		select v.day, coalesce(b.minutes, 0)::float8 / v.minutes
		from avail v left join booked b on b.day = v.day
		where v.minutes > 0 order by v.day`,
}

// SeriesNames lists the series Series knows.
func SeriesNames() []string {
	return []string{SeriesAppointments, SeriesRegistrations, SeriesTrainerUtilization}
}

// Series reads a daily series over the local days from the day of from to the day before the
// day of to (complete days only, when to is now), starting at the first day with a row when
// that is later: a platform younger than the window has no days before its first row.
func (s *Store) Series(ctx context.Context, name string, from, to time.Time) (forecast.DailySeries, error) {
	sql, ok := seriesSQL[name]
	if !ok {
		return forecast.DailySeries{}, fmt.Errorf("%w %q (want %s, %s or %s)", ErrUnknownSeries, name,
			SeriesAppointments, SeriesRegistrations, SeriesTrainerUtilization)
	}
	loc, err := time.LoadLocation(s.timeZone())
	if err != nil {
		return forecast.DailySeries{}, fmt.Errorf("unknown time zone %q: %w", s.timeZone(), err)
	}
	fromDay, toDay := localDay(from, loc), localDay(to, loc)
	if !toDay.After(fromDay) {
		return forecast.DailySeries{}, fmt.Errorf("series %s: %w: no whole day from %s to %s", name, ErrNoRows,
			from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	var points []forecast.Point
	err = s.readOnly(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, pgx.NamedArgs{"tz": s.timeZone(), "from_day": dateOf(fromDay), "to_day": dateOf(toDay)})
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var day time.Time
			var v float64
			if err := rows.Scan(&day, &v); err != nil {
				return err
			}
			// A date comes back as UTC midnight: take its calendar day in the platform's zone.
			points = append(points, forecast.Point{Time: time.Date(day.Year(), day.Month(), day.Day(), 12, 0, 0, 0, loc), Value: v})
		}
		return rows.Err()
	})
	if err != nil {
		return forecast.DailySeries{}, fmt.Errorf("couldn't read series %s: %w", name, err)
	}
	if len(points) == 0 {
		return forecast.DailySeries{}, fmt.Errorf("series %s: %w from %s to %s", name, ErrNoRows,
			dateOf(fromDay), dateOf(toDay))
	}
	fill := forecast.FillZero
	if name == SeriesTrainerUtilization {
		fill = forecast.FillLinear
	}
	// A platform younger than the window has no days before its first row, not empty ones.
	if first := localDay(points[0].Time, loc); first.After(fromDay) {
		fromDay = first
	}
	series, err := forecast.Daily(points, forecast.DailyOptions{
		Location: loc, From: fromDay, To: toDay.AddDate(0, 0, -1), Fill: fill,
	})
	if err != nil {
		return forecast.DailySeries{}, fmt.Errorf("couldn't build series %s: %w", name, err)
	}
	return series, nil
}

// localDay returns midnight, in loc, of t's calendar day there.
func localDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// dateOf returns the calendar day of t (midnight in its location) as a SQL date string.
func dateOf(t time.Time) string { return t.Format(time.DateOnly) }

// ForecastOptions configure Forecast.
type ForecastOptions struct {
	// Now is the forecasting instant: the history ends the day before Now's local day, and
	// horizon day 1 is that day. Required.
	Now time.Time
	// HistoryDays is how many days of history are fitted; 0 means 365.
	HistoryDays int
	// Horizon is the number of days forecast; 0 means 28.
	Horizon int
	// Levels are the prediction interval levels; empty means 0.8 and 0.95.
	Levels []float64
	// Method is the forecasting method; the zero value is ETS with AICc model selection. The
	// period is always 7 (the weekly cycle of daily series).
	Method forecast.Method
	// BacktestOrigins is the number of weekly rolling origins the method is backtested on
	// before forecasting (against the seasonal naive method on the same origins); 0 means 8,
	// negative none.
	BacktestOrigins int
}

// ForecastRun is a forecast of one series from one instant.
type ForecastRun struct {
	ID          int64     `json:"id"`
	Series      string    `json:"series"`
	GeneratedAt time.Time `json:"generated_at"`
	// Model names the fitted model, e.g. "ETS(A,Ad,A) m=7".
	Model string `json:"model"`
	// HistoryFrom and HistoryTo are the first and last days fitted (midnight, local).
	HistoryFrom time.Time `json:"history_from"`
	HistoryTo   time.Time `json:"history_to"`
	// Levels are the interval levels of every point.
	Levels []float64 `json:"levels"`
	// Points holds one forecast per day ahead.
	Points []ForecastPoint `json:"points"`
	// Backtest qualifies the method; nil when none was run.
	Backtest *BacktestSummary `json:"backtest,omitempty"`
}

// ForecastPoint is the forecast of one day.
type ForecastPoint struct {
	// Horizon is the number of days ahead, from 1 (the first day after the history).
	Horizon int `json:"horizon_days"`
	// Day is midnight, local, of the day forecast.
	Day  time.Time `json:"day"`
	Mean float64   `json:"mean"`
	// Lower and Upper are the interval bounds, one per level of the run. Mean and bounds are
	// never below zero, which no series can reach.
	Lower []float64 `json:"lower"`
	Upper []float64 `json:"upper"`
}

// BacktestSummary is a rolling-origin backtest of a forecasting method on the series' history.
type BacktestSummary struct {
	Origins int `json:"origins"`
	Horizon int `json:"horizon"`
	// MASE and SMAPE score the method; NaiveMASE the seasonal naive method on the same origins.
	MASE      float64 `json:"mase"`
	SMAPE     float64 `json:"smape"`
	NaiveMASE float64 `json:"naive_mase"`
	// Coverage is the share of actual values inside the intervals, one per level of the run.
	Coverage []float64 `json:"coverage"`
}

// Forecast reads a series' history up to the day before opts.Now, backtests the method on it,
// fits it and forecasts opts.Horizon days. It does not save the run (see SaveForecast).
func (s *Store) Forecast(ctx context.Context, series string, opts ForecastOptions) (*ForecastRun, error) {
	if opts.Now.IsZero() {
		return nil, errors.New("forecast: no forecasting instant given (ForecastOptions.Now)")
	}
	if opts.HistoryDays <= 0 {
		opts.HistoryDays = 365
	}
	if opts.Horizon <= 0 {
		opts.Horizon = 28
	}
	if len(opts.Levels) == 0 {
		opts.Levels = []float64{0.8, 0.95}
	}
	if err := forecast.CheckLevels(opts.Levels); err != nil {
		return nil, fmt.Errorf("forecast %s: %w", series, err)
	}
	loc, err := time.LoadLocation(s.timeZone())
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: %w", s.timeZone(), err)
	}
	today := localDay(opts.Now, loc)
	hist, err := s.Series(ctx, series, today.AddDate(0, 0, -opts.HistoryDays), today)
	if err != nil {
		return nil, err
	}
	fopts := SeriesForecastOptions(opts.Method)
	run := &ForecastRun{
		Series: series, GeneratedAt: opts.Now, Levels: opts.Levels,
		HistoryFrom: hist.Start, HistoryTo: hist.Day(len(hist.Values) - 1),
	}
	if opts.BacktestOrigins >= 0 {
		if run.Backtest, err = backtest(hist.Values, fopts, opts); err != nil {
			return nil, fmt.Errorf("couldn't backtest %s: %w", series, err)
		}
	}
	m, err := forecast.Fit(hist.Values, fopts)
	if err != nil {
		return nil, fmt.Errorf("couldn't fit %s: %w", series, err)
	}
	run.Model = m.Name()
	fc := m.Forecast(opts.Horizon, opts.Levels)
	// Every series counts or is a ratio of counts: nothing below zero can happen, so the mean
	// and the bounds stop there (a Sunday's interval would otherwise reach below it).
	for h := range opts.Horizon {
		p := ForecastPoint{Horizon: h + 1, Day: hist.Day(len(hist.Values) + h), Mean: max(0, fc.Mean[h])}
		for _, iv := range fc.Intervals {
			p.Lower, p.Upper = append(p.Lower, max(0, iv.Lower[h])), append(p.Upper, max(0, iv.Upper[h]))
		}
		run.Points = append(run.Points, p)
	}
	return run, nil
}

// SeriesForecastOptions are the forecasting options of the platform's daily series with a
// method: a weekly season and, for ETS, empirical intervals. A daily count misses by far on
// public holidays and by little on other days, which Gaussian intervals get wrong at both
// levels (too wide at 80%, too narrow at 95%).
func SeriesForecastOptions(method forecast.Method) forecast.Options {
	o := forecast.Options{Method: method, Period: 7}
	if method == forecast.MethodAuto || method == forecast.MethodETS {
		o.Intervals = forecast.IntervalsEmpirical
	}
	return o
}

// backtest scores the method of fopts on weekly origins over the end of the series, against the
// seasonal naive method on the same origins.
func backtest(values []float64, fopts forecast.Options, opts ForecastOptions) (*BacktestSummary, error) {
	n := opts.BacktestOrigins
	if n == 0 {
		n = 8
	}
	horizon := min(opts.Horizon, 28)
	first := len(values) - horizon - 7*(n-1)
	if first < 3*7 {
		return nil, fmt.Errorf("%w: %d days are too few for %d origins of %d days", forecast.ErrTooShort, len(values), n, horizon)
	}
	origins := forecast.RollingOrigins(len(values), first, horizon, 7)
	bt, err := forecast.Backtest(values, fopts, origins, horizon, opts.Levels...)
	if err != nil {
		return nil, err
	}
	naive, err := forecast.Backtest(values, forecast.Options{Method: forecast.MethodSeasonalNaive, Period: 7}, origins, horizon, opts.Levels...)
	if err != nil {
		return nil, err
	}
	return &BacktestSummary{
		Origins: len(origins), Horizon: horizon, MASE: bt.Overall.MASE, SMAPE: bt.Overall.SMAPE,
		NaiveMASE: naive.Overall.MASE, Coverage: bt.Overall.Coverage,
	}, nil
}

// SaveForecast records a forecast run and its points; it sets run.ID. It replaces a run of the
// same series generated at the same instant (a retried job firing).
func (s *Store) SaveForecast(ctx context.Context, run *ForecastRun) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `delete from bdc_analytics.forecast_runs where series = $1 and generated_at = $2`,
			run.Series, run.GeneratedAt); err != nil {
			return err
		}
		var bt any
		if run.Backtest != nil && !math.IsNaN(run.Backtest.MASE) && !math.IsNaN(run.Backtest.NaiveMASE) {
			bt = run.Backtest
		}
		if err := tx.QueryRow(ctx, `insert into bdc_analytics.forecast_runs (series, generated_at, model, history_from, history_to, backtest)
			values ($1, $2, $3, $4, $5, $6) returning id`,
			run.Series, run.GeneratedAt, run.Model, dateOf(run.HistoryFrom), dateOf(run.HistoryTo), bt).Scan(&run.ID); err != nil {
			return err
		}
		var rows [][]any
		for _, p := range run.Points {
			for k, level := range run.Levels {
				rows = append(rows, []any{run.ID, p.Horizon, dateOf(p.Day), level, p.Mean, p.Lower[k], p.Upper[k]})
			}
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"bdc_analytics", "forecasts"},
			[]string{"run_id", "horizon_days", "day", "level", "mean", "lower", "upper"}, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return fmt.Errorf("couldn't save forecast of %s: %w", run.Series, err)
	}
	return nil
}

// LatestForecast returns the latest saved forecast of series. It returns an error wrapping
// ErrNoRows when the series was never forecast.
func (s *Store) LatestForecast(ctx context.Context, series string) (*ForecastRun, error) {
	loc, err := time.LoadLocation(s.timeZone())
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: %w", s.timeZone(), err)
	}
	var run *ForecastRun
	err = s.readOnly(ctx, func(ctx context.Context, tx pgx.Tx) error {
		r := &ForecastRun{Series: series}
		var from, to time.Time
		err := tx.QueryRow(ctx, `select id, generated_at, model, history_from, history_to, backtest
			from bdc_analytics.forecast_runs where series = $1 order by generated_at desc limit 1`, series).
			Scan(&r.ID, &r.GeneratedAt, &r.Model, &from, &to, &r.Backtest)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		r.HistoryFrom, r.HistoryTo = inLoc(from, loc), inLoc(to, loc)
		rows, err := tx.Query(ctx, `select horizon_days, day, level, mean, lower, upper from bdc_analytics.forecasts
			where run_id = $1 order by horizon_days, level`, r.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h int
			var day time.Time
			var level, mean, lower, upper float64
			if err := rows.Scan(&h, &day, &level, &mean, &lower, &upper); err != nil {
				return err
			}
			if len(r.Points) == 0 || r.Points[len(r.Points)-1].Horizon != h {
				r.Points = append(r.Points, ForecastPoint{Horizon: h, Day: inLoc(day, loc), Mean: mean})
			}
			p := &r.Points[len(r.Points)-1]
			if len(r.Points) == 1 {
				r.Levels = append(r.Levels, level)
			}
			p.Lower, p.Upper = append(p.Lower, lower), append(p.Upper, upper)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		run = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't read forecast of %s: %w", series, err)
	}
	if run == nil {
		return nil, fmt.Errorf("forecast of %s: %w", series, ErrNoRows)
	}
	return run, nil
}

// inLoc turns a date read back as UTC midnight into midnight of that day in loc.
func inLoc(day time.Time, loc *time.Location) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
}
