package report

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/export"
)

// Periods a report may cover: the last complete calendar period before the report's instant.
var Periods = []string{"day", "week", "month", "quarter"}

// Params are what a report is built for.
type Params struct {
	// At is the instant the report is made (a job's scheduled time): calendar periods are the
	// last complete one before it, and predictions score what is upcoming after it. Required.
	At time.Time
	// Period is day, week, month or quarter; From and To, when set, give the period instead.
	Period string
	// From and To bound a custom period [From, To).
	From, To time.Time
	// TimeZone is the IANA zone of calendar days; empty means the platform's.
	TimeZone string
	// Filters restrict the population of beneficiaries, as pkg/analytics takes them (KPIs
	// apply region, acquisition channel, trainer and appointment channel).
	Filters analytics.Filters
	// PrometheusURL, when set, is where KPI history is read (range queries), instead of
	// computing KPIs from PostgreSQL at every step.
	PrometheusURL string
	// Step is the spacing of a trend's points; 0 means a day (an hour in a day's report).
	Step time.Duration
}

// maxTrendPoints bounds the points of a trend, whatever the period and step.
const maxTrendPoints = 2000

// resolve checks the parameters and computes the period.
func (p *Params) resolve(defaultPeriod string) (Period, *time.Location, error) {
	if p.At.IsZero() {
		return Period{}, nil, errors.New("report: no instant given (Params.At)")
	}
	if p.TimeZone == "" {
		p.TimeZone = analytics.DefaultTimeZone
	}
	loc, err := export.LoadZone(p.TimeZone)
	if err != nil {
		return Period{}, nil, fmt.Errorf("report: %w", err)
	}
	if p.Step < 0 {
		return Period{}, nil, errors.New("report: the step must be positive")
	}
	var per Period
	switch {
	case !p.From.IsZero() || !p.To.IsZero():
		if p.From.IsZero() || p.To.IsZero() {
			return Period{}, nil, errors.New("report: give both from and to, or a period")
		}
		if !p.From.Before(p.To) {
			return Period{}, nil, fmt.Errorf("report: to (%s) must be after from (%s)", p.To.Format(time.RFC3339), p.From.Format(time.RFC3339))
		}
		per = customPeriod(p.From.In(loc), p.To.In(loc))
	default:
		kind := p.Period
		if kind == "" {
			kind = defaultPeriod
		}
		if !slices.Contains(Periods, kind) {
			return Period{}, nil, fmt.Errorf("report: unknown period %q (want one of day, week, month, quarter, or from and to)", kind)
		}
		per = calendarPeriod(kind, p.At, loc)
	}
	if n := p.trendInstants(per, loc); len(n) > maxTrendPoints {
		return Period{}, nil, fmt.Errorf("report: a trend over %s would have %d points, at most %d: choose a larger step", per.Label, len(n), maxTrendPoints)
	}
	return per, loc, nil
}

// calendarPeriod is the last complete period of kind before at, in loc.
func calendarPeriod(kind string, at time.Time, loc *time.Location) Period {
	local := at.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	per := Period{Kind: kind}
	switch kind {
	case "day":
		per.From, per.To = today.AddDate(0, 0, -1), today
		per.PreviousFrom, per.PreviousTo = per.From.AddDate(0, 0, -1), per.From
		per.Label = per.From.Format("Monday 2 January 2006")
	case "week":
		monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
		per.From, per.To = monday.AddDate(0, 0, -7), monday
		per.PreviousFrom, per.PreviousTo = per.From.AddDate(0, 0, -7), per.From
		_, week := per.From.ISOWeek()
		per.Label = fmt.Sprintf("Week %d (%s)", week, dayRange(per.From, per.To))
	case "month":
		first := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, loc)
		per.From, per.To = first.AddDate(0, -1, 0), first
		per.PreviousFrom, per.PreviousTo = per.From.AddDate(0, -1, 0), per.From
		per.Label = per.From.Format("January 2006")
	case "quarter":
		first := time.Date(local.Year(), local.Month()-(local.Month()-1)%3, 1, 0, 0, 0, 0, loc)
		per.From, per.To = first.AddDate(0, -3, 0), first
		per.PreviousFrom, per.PreviousTo = per.From.AddDate(0, -3, 0), per.From
		per.Label = fmt.Sprintf("Q%d %d (%s)", (int(per.From.Month())+2)/3, per.From.Year(), dayRange(per.From, per.To))
	}
	return per
}

// customPeriod is [from, to) and the period of the same length before it (the same number of
// calendar days when both ends are midnights).
func customPeriod(from, to time.Time) Period {
	per := Period{Kind: "custom", From: from, To: to, PreviousTo: from}
	if isMidnight(from) && isMidnight(to) {
		days := daysBetween(from, to)
		per.PreviousFrom = from.AddDate(0, 0, -days)
		per.Label = dayRange(from, to)
	} else {
		per.PreviousFrom = from.Add(-to.Sub(from))
		per.Label = from.Format("2 Jan 2006 15:04") + " – " + to.Format("2 Jan 2006 15:04 MST")
	}
	return per
}

func isMidnight(t time.Time) bool {
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}

// daysBetween counts the calendar days from one midnight to another (DST-proof).
func daysBetween(from, to time.Time) int {
	a := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	b := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours()/24 + 0.5)
}

// dayRange shows the days [from, to) as "25–31 May 2026" or "26 Jan – 1 Feb 2026".
func dayRange(from, to time.Time) string {
	last := to.AddDate(0, 0, -1)
	switch {
	case daysBetween(from, to) <= 1:
		return from.Format("2 January 2006")
	case from.Year() != last.Year():
		return from.Format("2 Jan 2006") + " – " + last.Format("2 Jan 2006")
	case from.Month() != last.Month():
		return from.Format("2 Jan") + " – " + last.Format("2 Jan 2006")
	}
	return from.Format("2") + "–" + last.Format("2 January 2006")
}

// days is the period's length in days.
func (per Period) days() float64 { return per.To.Sub(per.From).Hours() / 24 }

// trendInstants are the instants a trend evaluates its KPIs at: the end of each step of the
// period, the step being the given one, else a calendar day (an hour for periods of a day or
// less).
func (p *Params) trendInstants(per Period, loc *time.Location) []time.Time {
	var out []time.Time
	switch {
	case p.Step > 0:
		for t := per.From.Add(p.Step); !t.After(per.To) && len(out) <= maxTrendPoints; t = t.Add(p.Step) {
			out = append(out, t)
		}
	case per.days() <= 1.05:
		for t := per.From.Add(time.Hour); !t.After(per.To) && len(out) <= maxTrendPoints; t = t.Add(time.Hour) {
			out = append(out, t)
		}
	default:
		from := per.From.In(loc)
		for d := 1; len(out) <= maxTrendPoints; d++ {
			t := time.Date(from.Year(), from.Month(), from.Day()+d, 0, 0, 0, 0, loc)
			if t.After(per.To) {
				break
			}
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		out = append(out, per.To)
	}
	return out
}

// ParseTime reads a date (midnight in loc) or an RFC 3339 instant, as jobs and the command line
// give a period's bounds.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a date (2026-05-01) nor an RFC 3339 instant (2026-05-01T08:00:00+02:00)", s)
}

// AddFilter adds a key=value filter of the command line to f: region, acquisition_channel,
// gender, age_band, trainer_id or appointment_channel.
func AddFilter(f *analytics.Filters, kv string) error {
	key, value, ok := strings.Cut(kv, "=")
	value = strings.TrimSpace(value)
	if !ok || value == "" {
		return fmt.Errorf("filter %q: want key=value, e.g. region=Bretagne", kv)
	}
	switch strings.TrimSpace(key) {
	case "region":
		f.Region = append(f.Region, value)
	case "acquisition_channel":
		f.AcquisitionChannel = append(f.AcquisitionChannel, value)
	case "gender":
		f.Gender = append(f.Gender, value)
	case "age_band":
		f.AgeBand = append(f.AgeBand, value)
	case "appointment_channel":
		f.AppointmentChannel = append(f.AppointmentChannel, value)
	case "trainer_id":
		id, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return fmt.Errorf("filter %q: a trainer id is a number", kv)
		}
		f.TrainerID = append(f.TrainerID, id)
	default:
		return fmt.Errorf("filter %q: unknown key (want region, acquisition_channel, gender, age_band, trainer_id or appointment_channel)", kv)
	}
	return nil
}
