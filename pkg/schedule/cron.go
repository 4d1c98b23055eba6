package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"
)

// cronSchedule is a job's schedule in its time zone. Firings are instants of the schedule, the
// same on every replica; a firing's identity (the run record's scheduled_at) is its instant.
type cronSchedule struct {
	spec    string // as written
	crontab string // with CRON_TZ, as gocron takes it
	seconds bool
	cron    gocron.Cron
}

// parseCron checks a cron expression in loc.
func parseCron(spec string, loc *time.Location) (*cronSchedule, error) {
	spec = strings.TrimSpace(spec)
	upper := strings.ToUpper(spec)
	switch {
	case strings.HasPrefix(upper, "TZ=") || strings.HasPrefix(upper, "CRON_TZ="):
		return nil, errors.New("give the time zone with the job's timezone field, not in the schedule")
	case strings.HasPrefix(spec, "@every"):
		return nil, errors.New("@every is not tied to the clock, so replicas would not agree on firings: use a cron expression such as \"*/5 * * * *\"")
	}
	c := &cronSchedule{spec: spec, crontab: "CRON_TZ=" + loc.String() + " " + spec}
	if !strings.HasPrefix(spec, "@") {
		switch n := len(strings.Fields(spec)); n {
		case 5:
		case 6:
			c.seconds = true
		default:
			return nil, fmt.Errorf("%q has %d fields: want 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)", spec, n)
		}
	}
	c.cron = gocron.NewDefaultCron(c.seconds)
	if err := c.cron.IsValid(c.crontab, loc, time.Now()); err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		return nil, fmt.Errorf("%q is not a valid cron expression: %s", spec, msg)
	}
	return c, nil
}

// next is the first firing after t.
func (c *cronSchedule) next(t time.Time) time.Time { return c.cron.Next(t) }

// prev is the last firing at or before t (the zero time if there is none in ten years): the
// firing a run started at t belongs to, even when it starts late.
func (c *cronSchedule) prev(t time.Time) time.Time {
	step := time.Minute
	if c.seconds {
		step = 2 * time.Second
	}
	var f time.Time
	for ; step < 10*366*24*time.Hour; step *= 2 {
		if n := c.next(t.Add(-step)); !n.IsZero() && !n.After(t) {
			f = n
			break
		}
	}
	if f.IsZero() {
		return f
	}
	for {
		n := c.next(f)
		if n.IsZero() || n.After(t) {
			return f
		}
		f = n
	}
}
