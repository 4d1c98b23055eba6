package forecast

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the zone database, so that the DST test runs without system tzdata
)

func TestDailyCountsFillZero(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2024, 3, d, h, 15, 0, 0, time.UTC) }
	points := []Point{
		{day(4, 9), 2}, {day(1, 10), 3}, {day(1, 16), 1}, {day(4, 11), 5}, {day(6, 8), 1},
	}
	s, err := Daily(points, DailyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{4, 0, 0, 7, 0, 1}
	if !slices.Equal(s.Values, want) {
		t.Errorf("values %v, want %v", s.Values, want)
	}
	if !s.Start.Equal(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)) || !s.Day(5).Equal(time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("start %v, day 5 %v", s.Start, s.Day(5))
	}
	// From/To extend with empty days and drop points outside.
	s, err = Daily(points, DailyOptions{From: day(3, 0), To: day(8, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{0, 7, 0, 1, 0, 0}; !slices.Equal(s.Values, want) {
		t.Errorf("ranged values %v, want %v", s.Values, want)
	}
}

func TestDailyLocalDaysAndDST(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	// 23:30 UTC on 30 March 2024 is 00:30 on the 31st in Paris, the day
	// clocks go forward; the day after comes 23 hours later.
	points := []Point{
		{time.Date(2024, 3, 30, 23, 30, 0, 0, time.UTC), 1},
		{time.Date(2024, 4, 1, 12, 0, 0, 0, time.UTC), 1},
	}
	s, err := Daily(points, DailyOptions{Location: paris})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{1, 1}; !slices.Equal(s.Values, want) {
		t.Errorf("values %v, want %v", s.Values, want)
	}
	if got := s.Day(1); got.Hour() != 0 || got.Day() != 1 || got.Sub(s.Start) != 23*time.Hour {
		t.Errorf("day 1 is %v, %v after start", got, got.Sub(s.Start))
	}
	utc, err := Daily(points, DailyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{1, 0, 1}; !slices.Equal(utc.Values, want) {
		t.Errorf("UTC values %v, want %v", utc.Values, want)
	}
}

func TestDailyFillAndAggregate(t *testing.T) {
	at := func(d, h int) time.Time { return time.Date(2024, 5, d, h, 0, 0, 0, time.UTC) }
	points := []Point{{at(2, 9), 0.5}, {at(2, 17), 0.7}, {at(5, 9), 0.9}}
	cases := []struct {
		fill Fill
		agg  Aggregate
		want []float64
	}{
		{FillLinear, AggregateMean, []float64{0.6, 0.7, 0.8, 0.9}},
		{FillPrevious, AggregateMean, []float64{0.6, 0.6, 0.6, 0.9}},
		{FillPrevious, AggregateLast, []float64{0.7, 0.7, 0.7, 0.9}},
		{FillZero, AggregateSum, []float64{1.2, 0, 0, 0.9}},
	}
	for _, c := range cases {
		s, err := Daily(points, DailyOptions{Fill: c.fill, Aggregate: c.agg})
		if err != nil {
			t.Fatal(err)
		}
		for i := range c.want {
			if math.Abs(s.Values[i]-c.want[i]) > 1e-12 {
				t.Errorf("fill %d aggregate %d: values %v, want %v", c.fill, c.agg, s.Values, c.want)
				break
			}
		}
	}
	// Days before the first point take its value.
	s, err := Daily(points, DailyOptions{From: at(1, 0), Fill: FillLinear, Aggregate: AggregateMean})
	if err != nil {
		t.Fatal(err)
	}
	if s.Values[0] != s.Values[1] {
		t.Errorf("leading day %v, want the first value %v", s.Values[0], s.Values[1])
	}
}

func TestDailyErrors(t *testing.T) {
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		points []Point
		opts   DailyOptions
		want   error
	}{
		{"no points", nil, DailyOptions{}, ErrTooShort},
		{"NaN value", []Point{{now, math.NaN()}}, DailyOptions{}, ErrNotFinite},
		{"range backwards", []Point{{now, 1}}, DailyOptions{From: now, To: now.AddDate(0, 0, -3)}, ErrInvalidOption},
		{"range too long", []Point{{now, 1}}, DailyOptions{From: now.AddDate(-400, 0, 0)}, ErrInvalidOption},
		{"nothing to interpolate", []Point{{now, 1}}, DailyOptions{From: now.AddDate(0, 0, 1), To: now.AddDate(0, 0, 3), Fill: FillLinear}, ErrTooShort},
		{"unknown fill", []Point{{now, 1}}, DailyOptions{Fill: Fill(7)}, ErrInvalidOption},
	}
	for _, c := range cases {
		if _, err := Daily(c.points, c.opts); !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
	}
	// An empty range of counts is a valid all-zero series.
	s, err := Daily(nil, DailyOptions{From: now, To: now.AddDate(0, 0, 2)})
	if err != nil || !slices.Equal(s.Values, []float64{0, 0, 0}) {
		t.Errorf("empty count range: %v, %v", s.Values, err)
	}
}

// TestConstantSeries checks that a series without any variation (a new
// platform with no registrations yet) forecasts itself with every method.
func TestConstantSeries(t *testing.T) {
	zeros := make([]float64, 60)
	for _, opts := range []Options{
		{Period: 7}, {Method: MethodTheta, Period: 7}, {Method: MethodSeasonalNaive, Period: 7},
	} {
		model, err := Fit(zeros, opts)
		if err != nil {
			t.Fatalf("%v: %v", opts.Method, err)
		}
		f := model.Forecast(7, []float64{0.9})
		for h, v := range f.Mean {
			if v != 0 || math.IsNaN(f.Intervals[0].Lower[h]) {
				t.Fatalf("%s: step %d forecast %v [%v, %v], want 0", model.Name(), h+1, v, f.Intervals[0].Lower[h], f.Intervals[0].Upper[h])
			}
		}
	}
}

// TestDailyRebuildsGoldenSeries turns the golden CSV rows into points, in
// reverse order and split in two per day, and gets the series back.
func TestDailyRebuildsGoldenSeries(t *testing.T) {
	d := loadGolden(t).dataset(t, "synthetic_daily")
	var points []Point
	for i := len(d.dates) - 1; i >= 0; i-- {
		points = append(points,
			Point{d.dates[i].Add(9 * time.Hour), d.series[i] / 4},
			Point{d.dates[i].Add(17 * time.Hour), d.series[i] * 3 / 4})
	}
	s, err := Daily(points, DailyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Start.Equal(d.dates[0]) || len(s.Values) != len(d.series) {
		t.Fatalf("start %v with %d values, want %v with %d", s.Start, len(s.Values), d.dates[0], len(d.series))
	}
	for i, v := range s.Values {
		if math.Abs(v-d.series[i]) > 1e-9 {
			t.Fatalf("day %d: %v, want %v", i, v, d.series[i])
		}
	}
}
