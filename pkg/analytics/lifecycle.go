package analytics

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// LifecycleQuery splits, period by period, the users who did an event into PostHog's lifecycle
// statuses. Periods are calendar periods in the query's zone, from the one that holds From to
// the one that holds the last instant before To; events at or after To do not count. A user is
// active in a period when they did the event in it. For each period p of the range:
//
//   - new: active in p, and p holds their first event ever (PostHog takes the person's creation;
//     here it is the first event of the query's kind, so that "new" means new to that event);
//   - returning: active in p and in the period before;
//   - resurrecting: active in p, not in the period before, but in some earlier period;
//   - dormant: active in the period before p but not in p, reported as a negative count.
//
// The first period's statuses look at the period before the range, as PostHog does.
type LifecycleQuery struct {
	Query
	// Interval is the period: day, week (default) or month.
	Interval Period `json:"interval,omitempty"`
	// Event makes a user active; default any activity.
	Event Event `json:"event,omitzero"`
}

// Validate checks the query and fills its defaults; errors are *ParamError.
func (q *LifecycleQuery) Validate() error {
	if err := q.Query.Validate(); err != nil {
		return err
	}
	if err := validatePeriod("interval", &q.Interval, PeriodWeek, PeriodDay, PeriodWeek, PeriodMonth); err != nil {
		return err
	}
	if err := q.Event.validateOr("event", Event{Kind: EventActivity}); err != nil {
		return err
	}
	return q.calendar().checkCount()
}

func (q *LifecycleQuery) calendar() calendar { return newCalendar(&q.Query, q.Interval) }

// LifecycleResult is the lifecycle, one entry per period of the range.
type LifecycleResult struct {
	// Query after defaults.
	Query LifecycleQuery `json:"query"`
	// Periods in order, every period of the range present.
	Periods []LifecyclePeriod `json:"periods"`
	// Executed is the statement that computed the lifecycle.
	Executed Executed `json:"executed"`
}

// LifecyclePeriod is one bar of the lifecycle chart.
type LifecyclePeriod struct {
	// Start is the first instant of the period in the query's zone.
	Start time.Time `json:"start"`
	// New, Returning and Resurrecting users add up to Active; Dormant is negative (or zero),
	// as PostHog draws it below the axis.
	New          int64 `json:"new"`
	Returning    int64 `json:"returning"`
	Resurrecting int64 `json:"resurrecting"`
	Dormant      int64 `json:"dormant"`
	// Active is the number of users active in the period.
	Active int64 `json:"active"`
	// QuickRatio is (new + resurrecting) / |dormant|, growth against loss; nil when nobody
	// went dormant.
	QuickRatio *float64 `json:"quickRatio"`
}

// Lifecycle computes the lifecycle.
//
// The statement reads each user's active days once, in (user_id, day) order (the rollup's
// primary key gives it without a sort), numbers each day's period (periods before the one
// preceding the range fold into one), and classifies from the neighbouring days (lag and lead in
// one window pass): a user's first day in a period takes its status from the period of the day
// before (none means new, the period just before means returning, any other resurrecting), and
// the last day in a period followed by a gap makes the user dormant in the period after it.
func (e *Engine) Lifecycle(ctx context.Context, q LifecycleQuery) (*LifecycleResult, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	cal := q.calendar()
	res := &LifecycleResult{Query: q, Periods: make([]LifecyclePeriod, cal.count())}
	for p := range res.Periods {
		res.Periods[p].Start = cal.startTime(p)
	}
	ex, err := e.query(ctx, e.useRollup(q.Location()), q.build, func(rows pgx.Rows) error {
		var (
			byPeriod                       bool
			p                              int
			fresh, back, revived, dormancy int64
		)
		if err := rows.Scan(&byPeriod, &p, &fresh, &back, &revived, &dormancy); err != nil {
			return err
		}
		if p < 0 || p >= len(res.Periods) {
			return nil // the period before the range, or the one after it
		}
		per := &res.Periods[p]
		if byPeriod {
			per.New, per.Returning, per.Resurrecting = fresh, back, revived
		} else {
			per.Dormant = -dormancy
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't compute the lifecycle: %w", err)
	}
	res.Executed = ex
	for i := range res.Periods {
		per := &res.Periods[i]
		per.Active = per.New + per.Returning + per.Resurrecting
		if per.Dormant != 0 {
			r := float64(per.New+per.Resurrecting) / float64(-per.Dormant)
			per.QuickRatio = &r
		}
	}
	return res, nil
}

// build writes the statement, reading the rollup up to covered (nil: raw rows only). It returns
// rows (true, period, new, returning, resurrecting users, -) and (false, period, -, -, -, dormant
// users), periods numbered from the range's first (-1 and -2 are before it, the last may be
// after it).
func (q *LifecycleQuery) build(covered *time.Time) Executed {
	a := &sqlArgs{}
	pop := populationCTE(a, q.Filters, BreakdownNone)
	days := newDayReader(a, &q.Query, covered)
	cal := q.calendar()
	// Period numbers count from the period before the range (-1); older days fold into -2,
	// which no period's "p - 1" matches.
	ps := cal.sql(a, -1)
	if parts := days.prevDays(q.Event, cal.start(-1)); parts != nil {
		return q.buildFromPrevDays(a, pop, ps, parts, days)
	}
	evt := days.days(q.Event, time.Time{}, civil{})
	// One pass over the days in index order, and one hash aggregate with two grouping sets: the
	// statuses by period, the dormant users by the period after theirs.
	sql := "with " + pop + `,
ud as (
  select e.user_id, e.day, ` + ps.folded("e.day") + ` as p
  from (` + evt + `) e
  where ` + popMember(q.Filters, "e.user_id") + `
),
st as (
  select p, p + 1 as d, lag(p) over w as prev, lead(p) over w as next
  from ud
  window w as (partition by user_id order by day)
)
select grouping(p) = 0, coalesce(p, d),
  count(*) filter (where p >= 0 and prev is null),
  count(*) filter (where p >= 0 and prev = p - 1),
  count(*) filter (where p >= 0 and prev <> p and prev <> p - 1),
  count(*) filter (where p >= -1 and next is distinct from p and (next is null or next > d))
from st
group by grouping sets ((p), (d))`
	return Executed{SQL: sql, Args: a.vals, Rollup: days.used}
}

// buildFromPrevDays writes the statement from the users' days with their previous day of
// activity (parts, from the period before the range on), with no window: the first day of a
// user in a period takes its status from the period of the previous day, and the users dormant
// in a period are those active in the one before less those returning. Each day counts on its
// own, so each part is counted apart and the counts added.
func (q *LifecycleQuery) buildFromPrevDays(a *sqlArgs, pop string, ps *periodSQL, parts []string, days *dayReader) Executed {
	counts := make([]string, len(parts))
	for i, part := range parts {
		counts[i] = `select e.p, count(*) filter (where e.prev_day is null) as fresh,
    count(*) filter (where e.prev_day is not null and e.pp = e.p - 1) as back,
    count(*) filter (where e.prev_day is not null and e.pp < e.p - 1) as revived
  from (
    select r.prev_day, ` + ps.index("r.day") + ` as p,
      ` + ps.folded("r.prev_day") + ` as pp
    from (` + part + `) r
    where ` + popMember(q.Filters, "r.user_id") + `
  ) e
  where e.pp <> e.p
  group by e.p`
	}
	sql := "with " + pop + `,
agg as (
  select p, sum(fresh)::bigint as fresh, sum(back)::bigint as back, sum(revived)::bigint as revived
  from (
  ` + strings.Join(counts, "\n  union all\n  ") + `
  ) c
  group by p
)
select true, p, fresh, back, revived, 0::bigint from agg
union all
select false, g.p, 0, 0, 0, coalesce(b.fresh + b.back + b.revived, 0) - coalesce(n.back, 0)
from generate_series(0, ` + a.addTyped(q.calendar().count()-1, "int") + `) as g(p)
left join agg b on b.p = g.p - 1
left join agg n on n.p = g.p`
	return Executed{SQL: sql, Args: a.vals, Rollup: days.used}
}
