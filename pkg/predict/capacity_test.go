package predict

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/forecast"
)

// TestSeriesMatchRows checks the daily series against a count of the raw rows in Go.
func TestSeriesMatchRows(t *testing.T) {
	t.Parallel()
	s, d := small(t)
	ctx := t.Context()
	paris, err := time.LoadLocation(DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	end := d.Seed.End
	from := end.AddDate(0, 0, -90).Add(13 * time.Hour) // mid-day: the series starts at its day
	dayOf := func(tm time.Time) string { return tm.In(paris).Format(time.DateOnly) }
	first := time.Date(from.In(paris).Year(), from.In(paris).Month(), from.In(paris).Day(), 0, 0, 0, 0, paris)

	appointments, minutes, registrations := map[string]float64{}, map[string]float64{}, map[string]float64{}
	rows, err := d.DB.Pool.Query(ctx, `select scheduled_at, duration_minutes, status from bdc.appointments`)
	if err != nil {
		t.Fatal(err)
	}
	var at time.Time
	var dur int
	var status string
	if _, err := pgx.ForEachRow(rows, []any{&at, &dur, &status}, func() error {
		if status != "cancelled" {
			appointments[dayOf(at)]++
			minutes[dayOf(at)] += float64(dur)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rows, err = d.DB.Pool.Query(ctx, `select created_at from bdc.beneficiaries`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&at}, func() error {
		registrations[dayOf(at)]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	available := map[string]float64{}
	rows, err = d.DB.Pool.Query(ctx, `select day, available_minutes from bdc.trainer_availability`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&at, &dur}, func() error {
		available[at.Format(time.DateOnly)] += float64(dur)
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		want func(day string) (float64, bool)
	}{
		{SeriesAppointments, func(day string) (float64, bool) { return appointments[day], true }},
		{SeriesRegistrations, func(day string) (float64, bool) { return registrations[day], true }},
		{SeriesTrainerUtilization, func(day string) (float64, bool) {
			if available[day] == 0 {
				return 0, false // interpolated
			}
			return minutes[day] / available[day], true
		}},
	} {
		series, err := s.Series(ctx, c.name, from, end)
		if err != nil {
			t.Fatal(err)
		}
		if len(series.Values) != 90 || !series.Start.Equal(first) {
			t.Fatalf("%s: %d days from %s, want 90 from %s", c.name, len(series.Values), series.Start, first)
		}
		checked := 0
		for i, v := range series.Values {
			day := series.Day(i).Format(time.DateOnly)
			want, ok := c.want(day)
			if !ok {
				continue
			}
			if math.Abs(v-want) > 1e-12 {
				t.Errorf("%s on %s: %v, counted %v", c.name, day, v, want)
			}
			checked++
		}
		if checked < 70 {
			t.Errorf("%s: only %d days checked", c.name, checked)
		}
	}
}

// TestAppointmentForecastBeatsSeasonalNaive backtests the forecast of daily appointments read
// from SQL on the large platform: weekly rolling origins over its last months.
func TestAppointmentForecastBeatsSeasonalNaive(t *testing.T) {
	t.Parallel()
	s, d := platform(t)
	run, err := s.Forecast(t.Context(), SeriesAppointments, ForecastOptions{
		Now: d.Seed.End, HistoryDays: 540, Horizon: 28, BacktestOrigins: 8,
	})
	if err != nil {
		t.Fatal(err)
	}
	bt := run.Backtest
	t.Logf("daily appointments, %s, %d origins × %d days: MASE %.3f (seasonal naive %.3f), sMAPE %.1f%%, coverage 80%%: %.3f, 95%%: %.3f",
		run.Model, bt.Origins, bt.Horizon, bt.MASE, bt.NaiveMASE, bt.SMAPE, bt.Coverage[0], bt.Coverage[1])
	if !(bt.MASE < bt.NaiveMASE) {
		t.Errorf("MASE %.3f does not beat the seasonal naive method's %.3f", bt.MASE, bt.NaiveMASE)
	}
	if bt.Coverage[0] < 0.65 || bt.Coverage[1] < 0.85 {
		t.Errorf("interval coverage %.3f (80%%) and %.3f (95%%) too low", bt.Coverage[0], bt.Coverage[1])
	}
	if len(run.Points) != 28 || run.Points[0].Horizon != 1 {
		t.Fatalf("forecast of %d points", len(run.Points))
	}
	// No appointment is taken on Sundays: their forecast is about zero, and neither it nor its
	// bounds may go below.
	sundays := 0
	for _, p := range run.Points {
		if p.Day.Weekday() == time.Sunday {
			sundays++
			if p.Mean > 5 || p.Lower[0] != 0 {
				t.Errorf("Sunday %s: mean %.2f, 80%% lower bound %.2f; want about 0 and 0", p.Day.Format(time.DateOnly), p.Mean, p.Lower[0])
			}
		}
		for i := range p.Lower {
			if p.Mean < 0 || p.Lower[i] < 0 || p.Lower[i] > p.Upper[i] {
				t.Errorf("%s: mean %v, interval [%v, %v]", p.Day.Format(time.DateOnly), p.Mean, p.Lower[i], p.Upper[i])
			}
		}
	}
	if sundays != 4 {
		t.Errorf("%d Sundays in 28 days", sundays)
	}
	if _, err := s.Forecast(t.Context(), "revenue", ForecastOptions{Now: d.Seed.End}); !errors.Is(err, ErrUnknownSeries) {
		t.Errorf("an unknown series: %v", err)
	}
	if _, err := s.Forecast(t.Context(), SeriesAppointments, ForecastOptions{Now: d.Seed.End, Levels: []float64{1.5}}); !errors.Is(err, forecast.ErrInvalidOption) {
		t.Errorf("a level of 150%%: %v", err)
	}
}
