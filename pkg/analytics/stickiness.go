package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Trailing windows of the active-user counts, in calendar days, the day itself included.
const (
	WAUDays = 7
	MAUDays = 30
)

// StickinessQuery measures how often users come back: daily, weekly and monthly active users
// for every day of the range, and, per calendar period, how many days of it each user was active
// (PostHog's stickiness with a one-period range and a daily interval).
//
// Days are calendar days in the query's zone. The daily series has a point for each day from the
// one that holds From to the one that holds the last instant before To; WAU and MAU of a day count
// the users active on it or on the 6 (WAU) or 29 (MAU) days before it, looking before From so the
// first days are complete. The distribution covers the calendar periods from the one that holds
// From; events at or after To never count.
type StickinessQuery struct {
	Query
	// Event makes a user active on a day; default any activity.
	Event Event `json:"event,omitzero"`
	// Period of the days-active distribution: week (default) or month.
	Period Period `json:"period,omitempty"`
}

// Validate checks the query and fills its defaults; errors are *ParamError.
func (q *StickinessQuery) Validate() error {
	if err := q.Query.Validate(); err != nil {
		return err
	}
	if err := q.Event.validateOr("event", Event{Kind: EventActivity}); err != nil {
		return err
	}
	if err := validatePeriod("period", &q.Period, PeriodWeek, PeriodWeek, PeriodMonth); err != nil {
		return err
	}
	return newCalendar(&q.Query, PeriodDay).checkCount()
}

// StickinessResult holds the daily active users and the days-active distribution.
type StickinessResult struct {
	// Query after defaults.
	Query StickinessQuery `json:"query"`
	// Days is the daily series, every day of the range present.
	Days []ActiveUsers `json:"days"`
	// Periods is the days-active distribution of each period, every period present.
	Periods []StickinessPeriod `json:"periods"`
	// Executed is the statement that computed both.
	Executed Executed `json:"executed"`
}

// ActiveUsers is one day of the daily series.
type ActiveUsers struct {
	// Day is the day's first instant in the query's zone.
	Day time.Time `json:"day"`
	// DAU, WAU and MAU count the users active on the day, in the WAUDays and in the MAUDays
	// days that end with it.
	DAU int64 `json:"dau"`
	WAU int64 `json:"wau"`
	MAU int64 `json:"mau"`
	// DAUOverMAU is DAU / MAU (0 when MAU is 0): the share of the month's users seen that day.
	DAUOverMAU float64 `json:"dauOverMau"`
}

// StickinessPeriod is the distribution of one period.
type StickinessPeriod struct {
	// Start is the period's first instant in the query's zone.
	Start time.Time `json:"start"`
	// Days is the number of days of the period before To.
	Days int `json:"days"`
	// Active is the number of users active on at least one day of it.
	Active int64 `json:"active"`
	// Users[n-1] is the number of users active on exactly n days of it; len(Users) == Days.
	Users []int64 `json:"users"`
	// MeanDays is the mean number of days active over the active users (0 when none).
	MeanDays float64 `json:"meanDays"`
}

// Stickiness computes the daily active users and the days-active distribution.
//
// Each user's active days are read once and sorted; a day then counts the user in WAU until the
// user's next active day or for WAUDays days, whichever comes first (and likewise for MAU), so the
// active counts are running sums of +1/-1 steps over the calendar, with no per-day rescans.
func (e *Engine) Stickiness(ctx context.Context, q StickinessQuery) (*StickinessResult, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	days := newCalendar(&q.Query, PeriodDay)
	cal := newCalendar(&q.Query, q.Period)
	res := &StickinessResult{Query: q, Days: make([]ActiveUsers, days.count()), Periods: make([]StickinessPeriod, cal.count())}
	for i := range res.Days {
		res.Days[i].Day = days.startTime(i)
	}
	for p := range res.Periods {
		n := cal.daysIn(p)
		res.Periods[p] = StickinessPeriod{Start: cal.startTime(p), Days: n, Users: make([]int64, n)}
	}
	ex, err := e.query(ctx, e.useRollup(q.Location()), q.build, func(rows pgx.Rows) error {
		var (
			kind    string
			i, n    int
			a, b, c int64
		)
		if err := rows.Scan(&kind, &i, &n, &a, &b, &c); err != nil {
			return err
		}
		switch {
		case kind == "d" && i >= 0 && i < len(res.Days):
			d := &res.Days[i]
			d.DAU, d.WAU, d.MAU, d.DAUOverMAU = a, b, c, ratio(a, c)
		case kind == "s" && i >= 0 && i < len(res.Periods) && n >= 1 && n <= res.Periods[i].Days:
			res.Periods[i].Users[n-1] = a
		default:
			return fmt.Errorf("unexpected row %s %d %d", kind, i, n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't compute stickiness: %w", err)
	}
	res.Executed = ex
	for p := range res.Periods {
		per := &res.Periods[p]
		var total int64
		for n, u := range per.Users {
			per.Active += u
			total += int64(n+1) * u
		}
		per.MeanDays = ratio(total, per.Active)
	}
	return res, nil
}

// build writes the statement, reading the rollup up to covered (nil: raw rows only). It returns
// rows ('d', day number, 0, DAU, WAU, MAU) for every day of the range and ('s', period, days
// active, users, 0, 0) for the distribution.
func (q *StickinessQuery) build(covered *time.Time) Executed {
	a := &sqlArgs{}
	pop := populationCTE(a, q.Filters, BreakdownNone)
	reader := newDayReader(a, &q.Query, covered)
	days := newCalendar(&q.Query, PeriodDay)
	cal := newCalendar(&q.Query, q.Period)
	// The trailing windows of the first day and the first period's start, whichever is earlier.
	lo := days.start(1 - MAUDays)
	if s := cal.start(0); s.Before(lo) {
		lo = s
	}
	ud := reader.days(q.Event, midnight(lo, q.Location()), lo)
	loP := a.addTyped(lo, "date")
	ps := cal.sql(a, 0)
	sql := "with " + pop + `,
ud as (
  select distinct e.user_id, e.day from (` + ud + `) e
  where e.user_id in (select user_id from pop)
),
dl as (
  select v.day, sum(v.d)::int as d, sum(v.w)::int as w, sum(v.m)::int as m
  from (select day, lead(day) over (partition by user_id order by day) as nd from ud) u
  cross join lateral (values (u.day, 1, 1, 1), (u.day + 1, -1, 0, 0),
    (least(u.nd, u.day + ` + fmt.Sprint(WAUDays) + `), 0, -1, 0), (least(u.nd, u.day + ` + fmt.Sprint(MAUDays) + `), 0, 0, -1)) as v(day, d, w, m)
  group by v.day
),
daily as (
  select s.i, sum(coalesce(dl.d, 0)) over o as dau, sum(coalesce(dl.w, 0)) over o as wau, sum(coalesce(dl.m, 0)) over o as mau
  from (select i - ` + a.addTyped(daysBetween(lo, days.first), "int") + ` as i, ` + loP + ` + i as day
    from generate_series(0, ` + a.addTyped(daysBetween(lo, days.last), "int") + `) as g(i)) s
  left join dl on dl.day = s.day
  window o as (order by s.day)
)
select 'd', i, 0, dau, wau, mau from daily where i >= 0
union all
select 's', p, n, count(*), 0, 0 from (
  select user_id, ` + ps.index("day") + ` as p, count(*)::int as n from ud where day >= ` + ps.firstDay() + ` group by 1, 2
) u
group by p, n`
	return Executed{SQL: sql, Args: a.vals, Rollup: reader.used}
}
