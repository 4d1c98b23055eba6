package export

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// parseInstant reads an RFC 3339 instant or a date (midnight in loc).
func parseInstant(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, checkYear(t)
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, checkYear(t)
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 instant (2026-01-31T08:00:00+01:00) nor a date (2026-01-31)", s)
}

func checkYear(t time.Time) error {
	if y := t.Year(); y < 1 || y > 9999 {
		return fmt.Errorf("year %d is out of range", y)
	}
	return nil
}

// TimeRange keeps the rows whose time column falls in [from, to). Give from and/or to, or last,
// or period.
type TimeRange struct {
	// Column is the timestamp or date column; default the source's time column.
	Column string `yaml:"column" json:"column,omitempty"`
	// From and To are RFC 3339 instants or dates (midnight in the export's time zone).
	From string `yaml:"from" json:"from,omitempty"`
	To   string `yaml:"to" json:"to,omitempty"`
	// Last is the window ending at the export's instant (a job's scheduled time): 24h, 7d, 4w.
	Last model.Duration `yaml:"last" json:"last,omitempty"`
	// Period is the last complete calendar period before the export's instant, in its time
	// zone: day (yesterday), week (last Monday to Sunday) or month.
	Period string `yaml:"period" json:"period,omitempty"`
}

// IsZero reports whether no range is set.
func (r TimeRange) IsZero() bool { return r == TimeRange{} }

type resolvedRange struct {
	column   int
	from, to time.Time
}

// bound converts an instant to the value a parameter of type t takes: a date column compares
// with the calendar day the instant starts (ranges start at midnight in the export's zone).
func (r *resolvedRange) bound(t time.Time, typ Type) any {
	if typ == Date {
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	return t
}

// check validates the range against src without an instant; resolve computes its bounds.
func (r TimeRange) check(src *Source, loc *time.Location, lines Lines, path string) (int, error) {
	name := r.Column
	if name == "" {
		name = src.TimeColumn
	}
	if name == "" {
		return -1, lines.Errorf(Join(path, "column"), "%s has no time column: name one", src.Name)
	}
	c := src.column(name)
	if c < 0 {
		return -1, lines.Errorf(Join(path, "column"), "%s has no column %q (it has %s)", src.Name, name, src.columnNames())
	}
	if t := src.Columns[c].Type; t != Timestamp && t != Date {
		return -1, lines.Errorf(Join(path, "column"), "%s is a %s column, not a timestamp or a date", name, t)
	}
	set := 0
	if r.From != "" || r.To != "" {
		set++
	}
	if r.Last != 0 {
		set++
	}
	if r.Period != "" {
		set++
	}
	if set != 1 {
		return -1, lines.Errorf(path, "give from and/or to, or last, or period (exactly one of them)")
	}
	var from, to time.Time
	var err error
	if r.From != "" {
		if from, err = parseInstant(r.From, loc); err != nil {
			return -1, lines.Errorf(Join(path, "from"), "%v", err)
		}
	}
	if r.To != "" {
		if to, err = parseInstant(r.To, loc); err != nil {
			return -1, lines.Errorf(Join(path, "to"), "%v", err)
		}
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return -1, lines.Errorf(Join(path, "to"), "must be after from (%s)", r.From)
	}
	if r.Last < 0 {
		return -1, lines.Errorf(Join(path, "last"), "must be positive")
	}
	switch r.Period {
	case "", "day", "week", "month":
	default:
		return -1, lines.Errorf(Join(path, "period"), "unknown period %q (want day, week or month)", r.Period)
	}
	return c, nil
}

// resolve computes the bounds at the export's instant in loc.
func (r TimeRange) resolve(column int, at time.Time, loc *time.Location) *resolvedRange {
	out := &resolvedRange{column: column}
	switch {
	case r.Last != 0:
		out.from, out.to = at.Add(-time.Duration(r.Last)), at
	case r.Period != "":
		local := at.In(loc)
		today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
		switch r.Period {
		case "day":
			out.from, out.to = today.AddDate(0, 0, -1), today
		case "week":
			monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
			out.from, out.to = monday.AddDate(0, 0, -7), monday
		case "month":
			first := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, loc)
			out.from, out.to = first.AddDate(0, -1, 0), first
		}
	default:
		if r.From != "" {
			out.from, _ = parseInstant(r.From, loc)
		}
		if r.To != "" {
			out.to, _ = parseInstant(r.To, loc)
		}
	}
	return out
}
