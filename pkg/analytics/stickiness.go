package analytics

import (
	"context"
	"fmt"
	"strings"
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
// Each user's active days are read once, in (user_id, day) order from the rollup's primary key,
// and each is paired with the user's next active day (lead): a day counts the user in WAU until
// that next day or for WAUDays days, whichever comes first (and likewise for MAU). So the active
// counts are running sums over the calendar of the days' starts and ends, counted in one hash
// aggregate with three grouping sets: no per-day rescans, no sort.
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
	ud := reader.uniqueDays(q.Event, midnight(lo, q.Location()), lo)
	loP := a.addTyped(lo, "date")
	ps := cal.sql(a, 0)
	series := `select i - ` + a.addTyped(daysBetween(lo, days.first), "int") + ` as i, ` + loP + ` + i as day
    from generate_series(0, ` + a.addTyped(daysBetween(lo, days.last), "int") + `) as g(i)`
	// daily gives, per day, the users active that day (dau) and the changes of WAU and MAU
	// (dw, dm) from the day before.
	var daily string
	if parts := reader.prevDays(q.Event, lo); parts != nil {
		// Each day x of a user, after their previous day p, adds the user to WAU from
		// max(x, p + 7) to x + 7, exclusive, and these spans do not overlap: WAU grows on a day
		// by the days x with max(x, p + 7) on it and falls by the days seven days before.
		// Likewise MAU with 30. Days need no order, only counts by day and gap, part by part,
		// each count then added and taken away on the days it starts and ends.
		gaps := make([]string, len(parts))
		for i, part := range parts {
			gaps[i] = `select r.day, least(r.day - r.prev_day, ` + fmt.Sprint(MAUDays) + `) as gap, count(*)::int as n
  from (` + part + `) r
  where ` + popMember(q.Filters, "r.user_id") + `
  group by 1, 2`
		}
		w, m := fmt.Sprint(WAUDays), fmt.Sprint(MAUDays)
		daily = `gaps as (
  ` + strings.Join(gaps, "\n  union all\n  ") + `
),
daily as (
  select s.i, s.day, coalesce(d.dau, 0) as dau, coalesce(d.dw, 0) as dw, coalesce(d.dm, 0) as dm
  from (` + series + `) s
  left join (
    select v.day, sum(v.dau)::int as dau, sum(v.dw)::int as dw, sum(v.dm)::int as dm
    from gaps g cross join lateral (values (g.day, g.n, 0, 0),
      (g.day + greatest(0, ` + w + ` - coalesce(g.gap, ` + w + `)), 0, g.n, 0), (g.day + ` + w + `, 0, -g.n, 0),
      (g.day + greatest(0, ` + m + ` - coalesce(g.gap, ` + m + `)), 0, 0, g.n), (g.day + ` + m + `, 0, 0, -g.n)) as v(day, dau, dw, dm)
    group by v.day
  ) d on d.day = s.day
)`
	} else {
		// Each day of a user adds the user to WAU until the next of their days or seven days
		// later, whichever comes first; likewise MAU with 30.
		daily = `ends as (
  select day, least(lead(day) over w, day + ` + fmt.Sprint(WAUDays) + `) as w_end, least(lead(day) over w, day + ` + fmt.Sprint(MAUDays) + `) as m_end
  from ud
  window w as (partition by user_id order by day)
),
dl as (
  select grouping(day, w_end, m_end) as g, case grouping(day, w_end, m_end) when 3 then day when 5 then w_end else m_end end as day, count(*)::int as n
  from ends
  group by grouping sets ((day), (w_end), (m_end))
),
daily as (
  select s.i, s.day, coalesce(st.n, 0) as dau, coalesce(st.n, 0) - coalesce(we.n, 0) as dw, coalesce(st.n, 0) - coalesce(me.n, 0) as dm
  from (` + series + `) s
  left join dl st on st.g = 3 and st.day = s.day
  left join dl we on we.g = 5 and we.day = s.day
  left join dl me on me.g = 6 and me.day = s.day
)`
	}
	// ud is read for the distribution and, without prev_day, by the window too, each time in
	// index order: materializing it would lose that order and cost a sort.
	// The days each user was active in each period; for any activity, those of the periods the
	// weekly or monthly rollup holds whole are its rows as they are.
	// (Each call of ps binds its arguments: write only the statement's.)
	var perUser string
	if q.Event == (Event{Kind: EventActivity}) {
		if span, ok := reader.wholePeriods(q.Period, cal.startTime(0), cal.start(0)); ok {
			perUser = "select r.user_id, " + ps.index("r.start") + " as p, r.days as n from " + span.table + " r\n  where " +
				and(span.cond, popMember(q.Filters, "r.user_id")) + `
  union all
  select user_id, ` + ps.index("day") + " as p, count(*)::int as n from ud where day >= " + span.endP + " group by 1, 2"
		}
	}
	if perUser == "" {
		perUser = "select user_id, " + ps.index("day") + " as p, count(*)::int as n from ud where day >= " + ps.firstDay() + " group by 1, 2"
	}
	sql := "with " + pop + `,
ud as not materialized (
  select e.user_id, e.day from (` + ud + `) e
  where ` + popMember(q.Filters, "e.user_id") + `
),
` + daily + `
select 'd', i, 0, dau, wau, mau from (
  select i, dau, sum(dw) over o as wau, sum(dm) over o as mau from daily window o as (order by day)
) d where i >= 0
union all
select 's', p, n, count(*), 0, 0 from (
  ` + perUser + `
) u
group by p, n`
	return Executed{SQL: sql, Args: a.vals, Rollup: reader.used}
}
