package analytics

import (
	"strconv"
	"strings"
	"time"
)

// Period is a calendar day, week (Monday to Sunday) or month in the query's time zone: the
// cohorts and intervals of retention, the intervals of lifecycle, the periods of stickiness and
// feature-usage retention.
type Period string

// Periods.
const (
	PeriodDay   Period = "day"
	PeriodWeek  Period = "week"
	PeriodMonth Period = "month"
)

// MaxPeriods bounds the periods of a range, whatever the kind: a typo in From cannot ask for a
// table of decades of days.
const MaxPeriods = 1000

// validatePeriod lowercases *p (PostHog writes "Week"), fills def when it is empty and checks it
// is one of allowed; param names it in the error.
func validatePeriod(param string, p *Period, def Period, allowed ...Period) error {
	*p = Period(strings.ToLower(string(*p)))
	if *p == "" {
		*p = def
	}
	for _, a := range allowed {
		if *p == a {
			return nil
		}
	}
	return paramErr(param, "unknown period %q; one of %s", string(*p), joinQuoted(allowed))
}

// calendar numbers the periods of a query's range: period 0 is the one that holds From, and the
// range ends with the one that holds the last instant before To. Periods before 0 have negative
// numbers.
type calendar struct {
	period Period
	loc    *time.Location
	first  civil // first day of period 0
	last   civil // the day that holds the last instant before To
}

func newCalendar(q *Query, p Period) calendar {
	loc := q.Location()
	return calendar{period: p, loc: loc, first: periodStart(p, dateOf(q.From, loc)), last: dateOf(q.To.Add(-time.Microsecond), loc)}
}

// periodStart is the first day of the period p that holds d.
func periodStart(p Period, d civil) civil {
	switch p {
	case PeriodWeek:
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	case PeriodMonth:
		return d.AddDate(0, 0, 1-d.Day())
	}
	return d
}

// index is the number of the period that holds d.
func (c calendar) index(d civil) int {
	switch c.period {
	case PeriodWeek:
		return floorDiv(daysBetween(c.first, d), 7)
	case PeriodMonth:
		return (d.Year()*12 + int(d.Month())) - (c.first.Year()*12 + int(c.first.Month()))
	}
	return daysBetween(c.first, d)
}

// start is the first day of period n.
func (c calendar) start(n int) civil {
	switch c.period {
	case PeriodWeek:
		return c.first.AddDate(0, 0, 7*n)
	case PeriodMonth:
		return c.first.AddDate(0, n, 0)
	}
	return c.first.AddDate(0, 0, n)
}

// startTime is the first instant of period n in the query's zone.
func (c calendar) startTime(n int) time.Time { return midnight(c.start(n), c.loc) }

// count is the number of periods that start before To.
func (c calendar) count() int { return c.index(c.last) + 1 }

// checkCount refuses a range of more than MaxPeriods periods.
func (c calendar) checkCount() error {
	if n := c.count(); n > MaxPeriods {
		return paramErr("from", "the range holds %d %s periods, at most %d", n, c.period, MaxPeriods)
	}
	return nil
}

// daysIn is the number of days of period n before To.
func (c calendar) daysIn(n int) int {
	end := c.start(n + 1)
	if after := c.last.AddDate(0, 0, 1); after.Before(end) {
		end = after
	}
	return daysBetween(c.start(n), end)
}

// daysBetween is the number of days from a to b, both civil dates.
func daysBetween(a, b civil) int {
	return int((b.Unix() - a.Unix()) / 86400)
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// periodSQL writes a calendar's period numbers in SQL, binding its constants on first use.
type periodSQL struct {
	c      calendar
	base   int
	first  *lazyArg // first day of period base
	months *lazyArg // first days of the months from period base to the range's last
}

// sql returns the writer of the period numbers of c for the days from the start of period base
// to the range's last day (the number of an earlier day is wrong: integer division truncates
// towards zero).
func (c calendar) sql(a *sqlArgs, base int) *periodSQL {
	s := c.start(base)
	var months []civil
	if c.period == PeriodMonth {
		for n := base; n < c.count(); n++ {
			months = append(months, c.start(n))
		}
	}
	return &periodSQL{c: c, base: base, first: a.lazy(s, "date"), months: a.lazy(months, "date[]")}
}

// index is the SQL of the period number of the date expression day.
func (s *periodSQL) index(day string) string {
	var e string
	switch s.c.period {
	case PeriodWeek:
		e = "((" + day + " - " + s.first.String() + ") / 7)"
	case PeriodMonth:
		// A binary search of the month's first day among the range's: several times cheaper
		// per row than extracting the year and the month.
		e = "(width_bucket(" + day + ", " + s.months.String() + ") - 1)"
	default:
		e = "(" + day + " - " + s.first.String() + ")"
	}
	if s.base < 0 {
		e = "(" + e + " - " + strconv.Itoa(-s.base) + ")"
	} else if s.base > 0 {
		e = "(" + e + " + " + strconv.Itoa(s.base) + ")"
	}
	return e
}

// folded is index for the days from the start of period base on, and base - 1 for every earlier
// day: one number for all that lies before the periods counted.
func (s *periodSQL) folded(day string) string {
	return "case when " + day + " >= " + s.first.String() + " then " + s.index(day) + " else " + strconv.Itoa(s.base-1) + " end"
}

// startOf is the SQL of the first day of the period numbered by the integer expression n, counted
// as index counts them; n may lie past the range.
func (s *periodSQL) startOf(n string) string {
	if s.base != 0 {
		n = "(" + n + ") - " + strconv.Itoa(s.base)
	}
	switch s.c.period {
	case PeriodWeek:
		return "(" + s.first.String() + " + 7 * (" + n + "))"
	case PeriodMonth:
		return "(" + s.first.String() + " + make_interval(months => " + n + "))::date"
	}
	return "(" + s.first.String() + " + (" + n + "))"
}

// firstDay is the SQL parameter holding the first day of period base.
func (s *periodSQL) firstDay() string { return s.first.String() }
