package forecast

import (
	"fmt"
	"math"
	"time"
)

// Point is one timestamped observation, such as a row of a per-day count
// query.
type Point struct {
	Time  time.Time
	Value float64
}

// Fill says what value a day without any point gets.
type Fill int

const (
	// FillZero gives empty days the value 0: right for counts
	// (appointments, registrations), where a day without rows is a day
	// when nothing happened.
	FillZero Fill = iota
	// FillPrevious carries the last known value forward (days before the
	// first point take the first value): for levels such as a balance.
	FillPrevious
	// FillLinear interpolates linearly between the nearest days with data
	// (days before the first or after the last point take its value): for
	// ratios such as trainer utilization, where a missing day is missing
	// data, not a zero.
	FillLinear
)

// Aggregate says how points falling on the same day combine.
type Aggregate int

const (
	// AggregateSum adds them: counts.
	AggregateSum Aggregate = iota
	// AggregateMean averages them: ratios and levels.
	AggregateMean
	// AggregateLast keeps the latest one (by time; the later in the input
	// on a tie).
	AggregateLast
)

// maxDailyDays bounds the length of a daily series (about 300 years), so
// that a mistyped date cannot allocate without limit.
const maxDailyDays = 110_000

// DailyOptions configures [Daily].
type DailyOptions struct {
	// Location is the time zone whose calendar days the series counts;
	// nil means UTC. Use the platform's zone (Europe/Paris) so that an
	// appointment at 00:30 local time falls on its local day.
	Location *time.Location
	// From and To, when not zero, are the first and last days of the
	// series (inclusive, their calendar day in Location); points outside
	// them are ignored. Zero values take the days of the first and last
	// points.
	From, To time.Time
	// Fill is the value of days without points; the default is FillZero.
	Fill Fill
	// Aggregate combines points on the same day; the default is
	// AggregateSum.
	Aggregate Aggregate
}

// DailySeries is a regular series with one value per calendar day.
type DailySeries struct {
	// Start is midnight, in the options' Location, of the first day.
	Start time.Time
	// Values holds one value per day from Start.
	Values []float64
}

// Day gives midnight of day i of the series (i may run past the end, to
// date forecasts). Days follow the calendar, so a day with a daylight
// saving change lasts 23 or 25 hours.
func (s DailySeries) Day(i int) time.Time { return s.Start.AddDate(0, 0, i) }

// Daily turns timestamped points into a regular daily series: points are
// grouped by calendar day in opts.Location, combined by opts.Aggregate, and
// days without points are filled by opts.Fill. Points need not be sorted.
func Daily(points []Point, opts DailyOptions) (DailySeries, error) {
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	if opts.Fill < FillZero || opts.Fill > FillLinear {
		return DailySeries{}, fmt.Errorf("%w: unknown fill %d", ErrInvalidOption, int(opts.Fill))
	}
	if opts.Aggregate < AggregateSum || opts.Aggregate > AggregateLast {
		return DailySeries{}, fmt.Errorf("%w: unknown aggregate %d", ErrInvalidOption, int(opts.Aggregate))
	}
	for i, p := range points {
		if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			return DailySeries{}, fmt.Errorf("%w: point %d (%s) is %v", ErrNotFinite, i, p.Time.Format(time.RFC3339), p.Value)
		}
	}
	first, last, err := dailyRange(points, opts, loc)
	if err != nil {
		return DailySeries{}, err
	}
	n := int(last - first + 1)
	sum := make([]float64, n)
	count := make([]int, n)
	latest := make([]time.Time, n)
	for _, p := range points {
		d := civilDay(p.Time, loc)
		if d < first || d > last {
			continue
		}
		i := int(d - first)
		switch opts.Aggregate {
		case AggregateLast:
			if count[i] == 0 || !p.Time.Before(latest[i]) {
				sum[i], latest[i] = p.Value, p.Time
			}
		default:
			sum[i] += p.Value
		}
		count[i]++
	}
	values := make([]float64, n)
	for i := range values {
		switch {
		case count[i] == 0:
			values[i] = math.NaN()
		case opts.Aggregate == AggregateMean:
			values[i] = sum[i] / float64(count[i])
		default:
			values[i] = sum[i]
		}
	}
	if err := fillDays(values, opts.Fill); err != nil {
		return DailySeries{}, err
	}
	y, m, d := dayDate(first)
	return DailySeries{Start: time.Date(y, m, d, 0, 0, 0, 0, loc), Values: values}, nil
}

// civilDay numbers the calendar day of t in loc (days since 1970-01-01).
func civilDay(t time.Time, loc *time.Location) int64 {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func dayDate(day int64) (int, time.Month, int) {
	return time.Unix(day*86400, 0).UTC().Date()
}

func dailyRange(points []Point, opts DailyOptions, loc *time.Location) (first, last int64, err error) {
	if len(points) == 0 && (opts.From.IsZero() || opts.To.IsZero()) {
		return 0, 0, fmt.Errorf("%w: no points and no From/To range to make a daily series from", ErrTooShort)
	}
	for i, p := range points {
		d := civilDay(p.Time, loc)
		if i == 0 || d < first {
			first = d
		}
		if i == 0 || d > last {
			last = d
		}
	}
	if !opts.From.IsZero() {
		first = civilDay(opts.From, loc)
	}
	if !opts.To.IsZero() {
		last = civilDay(opts.To, loc)
	}
	if last < first {
		return 0, 0, fmt.Errorf("%w: daily range ends (%s) before it starts (%s)", ErrInvalidOption,
			time.Unix(last*86400, 0).UTC().Format(time.DateOnly), time.Unix(first*86400, 0).UTC().Format(time.DateOnly))
	}
	if last-first+1 > maxDailyDays {
		return 0, 0, fmt.Errorf("%w: daily range of %d days is longer than %d", ErrInvalidOption, last-first+1, maxDailyDays)
	}
	return first, last, nil
}

// fillDays replaces the NaN (empty) days of values according to fill.
func fillDays(values []float64, fill Fill) error {
	if fill == FillZero {
		for i, v := range values {
			if math.IsNaN(v) {
				values[i] = 0
			}
		}
		return nil
	}
	known := -1 // index of the last day with data
	for i, v := range values {
		if math.IsNaN(v) {
			continue
		}
		switch {
		case known < 0:
			for j := range i {
				values[j] = v
			}
		case fill == FillPrevious:
			for j := known + 1; j < i; j++ {
				values[j] = values[known]
			}
		default:
			step := (v - values[known]) / float64(i-known)
			for j := known + 1; j < i; j++ {
				values[j] = values[known] + step*float64(j-known)
			}
		}
		known = i
	}
	if known < 0 {
		return fmt.Errorf("%w: no point falls in the daily range, nothing to fill from", ErrTooShort)
	}
	for j := known + 1; j < len(values); j++ {
		values[j] = values[known]
	}
	return nil
}
