package analytics

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// RetentionType says which target events make a cohort.
type RetentionType string

// Retention types, with PostHog's values.
const (
	// RetentionFirstTime puts a user in the cohort of the period of their first target event
	// ever (before the range too): at most one cohort per user.
	RetentionFirstTime RetentionType = "retention_first_time"
	// RetentionRecurring puts a user in the cohort of every period in which they did the target
	// event.
	RetentionRecurring RetentionType = "retention_recurring"
)

// RetentionReference is what a ratio is relative to.
type RetentionReference string

// Retention references, with PostHog's values.
const (
	// ReferenceTotal divides by the cohort size.
	ReferenceTotal RetentionReference = "total"
	// ReferencePrevious divides by the previous interval's count (interval 0 by the size).
	ReferencePrevious RetentionReference = "previous"
)

// Retention limits and defaults.
const (
	DefaultTotalIntervals = 8
	MaxTotalIntervals     = 366
	MaxCohorts            = MaxPeriods
)

// RetentionQuery is a PostHog-style retention table. Cohorts are the periods from the one that
// holds From to the one that holds To (exclusive); interval k of a cohort is the k-th period after
// its own, and counts the cohort's users who did the returning event in it. Interval 0 is the
// cohort itself (count = size), as in PostHog. Intervals that start at or after To are left out,
// and events at or after To are not counted, so the last cohorts have fewer intervals.
type RetentionQuery struct {
	Query
	// Period of cohorts and intervals; default week.
	Period Period `json:"period,omitempty"`
	// TotalIntervals is the number of intervals per cohort, interval 0 included; default 8.
	TotalIntervals int `json:"totalIntervals,omitempty"`
	// TargetEntity makes the cohorts; default signup.
	TargetEntity Event `json:"targetEntity,omitzero"`
	// ReturningEntity counts as coming back; default any activity.
	ReturningEntity Event `json:"returningEntity,omitzero"`
	// RetentionType: first time (default) or recurring.
	RetentionType RetentionType `json:"retentionType,omitempty"`
	// RetentionReference: total (default) or previous.
	RetentionReference RetentionReference `json:"retentionReference,omitempty"`
	// Cumulative counts in interval k the users who came back in interval k or any later
	// interval shown.
	Cumulative bool `json:"cumulative,omitempty"`
	// Breakdown splits the cohorts by an attribute of the beneficiary.
	Breakdown Breakdown `json:"breakdown,omitempty"`

	intervalsSet bool // totalIntervals was present in the JSON, so 0 is an error, not a default
}

// UnmarshalJSON reads the query and notes whether totalIntervals was given, so an explicit 0 is
// reported rather than replaced by the default.
func (q *RetentionQuery) UnmarshalJSON(data []byte) error {
	type plain RetentionQuery // without this method
	p, set, err := decodeNoting[plain](data, "totalIntervals")
	if err != nil {
		return err
	}
	*q = RetentionQuery(p)
	q.intervalsSet = set[0]
	return nil
}

// Validate checks the query and fills its defaults; errors are *ParamError.
func (q *RetentionQuery) Validate() error {
	if err := q.Query.Validate(); err != nil {
		return err
	}
	if err := validatePeriod("period", &q.Period, PeriodWeek, PeriodDay, PeriodWeek, PeriodMonth); err != nil {
		return err
	}
	if q.TotalIntervals == 0 && !q.intervalsSet {
		q.TotalIntervals = DefaultTotalIntervals
	}
	if q.TotalIntervals < 1 || q.TotalIntervals > MaxTotalIntervals {
		return paramErr("totalIntervals", "must be between 1 and %d, got %d", MaxTotalIntervals, q.TotalIntervals)
	}
	if err := q.TargetEntity.validateOr("targetEntity", Event{Kind: EventSignup}); err != nil {
		return err
	}
	if err := q.ReturningEntity.validateOr("returningEntity", Event{Kind: EventActivity}); err != nil {
		return err
	}
	switch q.RetentionType {
	case "":
		q.RetentionType = RetentionFirstTime
	case "first_time":
		q.RetentionType = RetentionFirstTime
	case "recurring":
		q.RetentionType = RetentionRecurring
	case RetentionFirstTime, RetentionRecurring:
	default:
		return paramErr("retentionType", "unknown retention type %q; one of %q, %q", string(q.RetentionType), RetentionFirstTime, RetentionRecurring)
	}
	switch q.RetentionReference {
	case "":
		q.RetentionReference = ReferenceTotal
	case ReferenceTotal, ReferencePrevious:
	default:
		return paramErr("retentionReference", "unknown reference %q; one of %q, %q", string(q.RetentionReference), ReferenceTotal, ReferencePrevious)
	}
	if err := q.Breakdown.validate(); err != nil {
		return err
	}
	return q.calendar().checkCount()
}

// calendar numbers the cohorts: cohort 0 is the period that holds From.
func (q *RetentionQuery) calendar() calendar { return newCalendar(&q.Query, q.Period) }

// RetentionResult is a retention table: for each breakdown value, one cohort per period.
type RetentionResult struct {
	// Period, TotalIntervals and the other parameters, after defaults.
	Query RetentionQuery `json:"query"`
	// Cohorts in breakdown order (largest first, then by name), then by period.
	Cohorts []RetentionCohort `json:"cohorts"`
	// Executed is the statement that computed the table.
	Executed Executed `json:"executed"`
}

// RetentionCohort is one row of the table.
type RetentionCohort struct {
	// Breakdown is the breakdown value, "" without breakdown.
	Breakdown string `json:"breakdown,omitempty"`
	// Start is the first instant of the cohort's period in the query's zone.
	Start time.Time `json:"start"`
	// Size is the number of users in the cohort.
	Size int64 `json:"size"`
	// Intervals from 0 (the cohort itself) up to TotalIntervals-1 or the last one that starts
	// before To.
	Intervals []RetentionInterval `json:"intervals"`
}

// RetentionInterval is one cell of the table.
type RetentionInterval struct {
	// Index is the number of periods after the cohort's.
	Index int `json:"index"`
	// Start is the first instant of the interval's period.
	Start time.Time `json:"start"`
	// Count is the number of the cohort's users who came back (or, cumulative, came back then
	// or later).
	Count int64 `json:"count"`
	// Ratio is Count over the reference (size or previous count); 0 when that is 0.
	Ratio float64 `json:"ratio"`
}

// Retention computes a retention table.
//
// The statement lists each user's cohorts (the periods of their target events, or of the first
// one ever) and the periods in which they came back. A first-time cohort, one per user, is paired
// with the user's later periods within TotalIntervals; recurring cohorts are read from each
// user's periods sorted once, a window frame over the next TotalIntervals-1 periods collecting
// each cohort's returns. Nothing crosses users with each other or runs per user.
func (e *Engine) Retention(ctx context.Context, q RetentionQuery) (*RetentionResult, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	type key struct {
		bd   string
		c, k int
	}
	sizes, counts, lasts := map[key]int64{}, map[key]int64{}, map[key]int64{}
	ex, err := e.query(ctx, e.useRollup(q.Location()), q.build, func(rows pgx.Rows) error {
		var (
			kind string
			k    key
			n    int64
		)
		if err := rows.Scan(&kind, &k.bd, &k.c, &k.k, &n); err != nil {
			return err
		}
		switch kind {
		case "s":
			sizes[key{k.bd, k.c, 0}] = n
		case "n":
			counts[k] = n
		case "l":
			lasts[k] = n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't compute retention: %w", err)
	}

	// Breakdown values: those with a cohort member, largest first; without breakdown the one
	// series, even when empty.
	totals := map[string]int64{}
	for k, n := range sizes {
		totals[k.bd] += n
	}
	if q.Breakdown == BreakdownNone {
		totals[""] += 0
	}
	bds := byTotal(totals)

	res := &RetentionResult{Query: q, Executed: ex}
	cal := q.calendar()
	nc := cal.count()
	for _, bd := range bds {
		for c := range nc {
			size := sizes[key{bd, c, 0}]
			cohort := RetentionCohort{Breakdown: bd, Start: cal.startTime(c), Size: size}
			last := min(q.TotalIntervals-1, nc-1-c)
			values := make([]int64, last+1)
			values[0] = size
			for k := 1; k <= last; k++ {
				values[k] = counts[key{bd, c, k}]
			}
			if q.Cumulative {
				var later int64
				for k := last; k >= 1; k-- {
					later += lasts[key{bd, c, k}]
					values[k] = later
				}
			}
			for k, n := range values {
				ref := size
				if q.RetentionReference == ReferencePrevious && k > 0 {
					ref = values[k-1]
				}
				cohort.Intervals = append(cohort.Intervals, RetentionInterval{
					Index: k, Start: cal.startTime(c + k), Count: n, Ratio: ratio(n, ref),
				})
			}
			res.Cohorts = append(res.Cohorts, cohort)
		}
	}
	return res, nil
}

func ratio(n, d int64) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// build writes the statement, reading the rollup up to covered (nil: raw rows only). It
// returns rows (kind, bd, cohort, interval, n): kind "s" gives a cohort's size, "n" the users back
// in interval k, or, for cumulative tables, "l" the users whose last interval back is k.
func (q *RetentionQuery) build(covered *time.Time) Executed {
	a := &sqlArgs{}
	pop := populationCTE(a, q.Filters, q.Breakdown)
	days := newDayReader(a, &q.Query, covered)
	cal := q.calendar()
	start, startTS := cal.start(0), cal.startTime(0)
	ps := cal.sql(a, 0)
	period := ps.index
	same := q.TargetEntity == q.ReturningEntity
	inPop := popMember(q.Filters, "e.user_id")
	ctes := []string{pop}
	var tgt, ret, hits string
	if q.RetentionType == RetentionFirstTime {
		// The first target event ever, so no lower bound; the cohort must start in the range.
		// Cohorts hold only the population's users (the join with pop), and so do the hits
		// that join them, so the events need no population filter of their own.
		// The first target event of each user; when it happens once per user (signup,
		// programme completed), it is the only one and needs no grouping.
		first, filter := "min(e.day)", "group by p.bd, e.user_id\n  having min(e.day) >= "
		if oncePerUser(q.TargetEntity.Kind) {
			first, filter = "e.day", "where e.day >= "
		}
		targets := days.days(q.TargetEntity, time.Time{}, civil{})
		tgt = `tgt as (
  select p.bd, e.user_id, ` + period(first) + ` as c
  from (` + targets + `) e join pop p on p.user_id = e.user_id
  ` + filter + ps.firstDay() + `
)`
		// Each user's periods back, once each. When the rollup holds every returning day of
		// the range, each cohort member's days of the TotalIntervals-1 periods after the cohort's
		// are looked up in its primary key: a cohort joins the range at some point, so this
		// reads a fraction of the range's days. Otherwise, from the rollup, the first of the
		// user's days in each period: the rows come in (user_id, day) order from its primary
		// key, so a window finds them without sorting or hashing; raw rows are hashed.
		// (Each call of days binds its arguments: call it once.)
		if days.rollupAlone(rollupCapable(q.ReturningEntity), startTS, start) {
			hits = `hits as (
  select t.bd, t.c, t.user_id, h.k from tgt t cross join lateral (
    select distinct ` + period("r.day") + ` - t.c as k from bdc_analytics.user_activity_daily r
    where ` + and("r.user_id = t.user_id", "r.day >= "+ps.startOf("t.c + 1"),
				"r.day < least("+ps.startOf("t.c + "+a.addTyped(q.TotalIntervals, "int"))+", "+days.rollupEnd()+")",
				rollupCond(a, q.ReturningEntity)) + `
  ) h
)`
			ctes = append(ctes, tgt, hits)
		} else if days.daysFromRollup(q.ReturningEntity, startTS, start) {
			ret = `ret as (
  select user_id, p from (
    select e.user_id, ` + period("e.day") + ` as p, lag(` + period("e.day") + `) over (partition by e.user_id order by e.day) as prev
    from (` + days.days(q.ReturningEntity, startTS, start) + `) e
  ) d
  where prev is distinct from p
)`
		} else {
			ret = "ret as (\n  select distinct e.user_id, " + period("e.day") + " as p\n  from (" + days.days(q.ReturningEntity, startTS, start) + ") e\n)"
		}
		if ret != "" {
			// One cohort per user: pair it with the user's periods directly.
			hits = `hits as (
  select t.bd, t.c, t.user_id, r.p - t.c as k
  from tgt t join ret r on r.user_id = t.user_id
  where r.p > t.c and r.p < t.c + ` + a.addTyped(q.TotalIntervals, "int") + `
)`
			ctes = append(ctes, tgt, ret, hits)
		}
	} else {
		tgt = `tgt as (
  select distinct p.bd, e.user_id, ` + period("e.day") + ` as c
  from (` + days.days(q.TargetEntity, startTS, start) + `) e
  join pop p on p.user_id = e.user_id
)`
		ctes = append(ctes, tgt)
		// Several cohorts per user: rather than pair every cohort with every period of the
		// user, sort each user's periods once (flagged as cohort t and/or return r) and let a
		// window frame of the next TotalIntervals-1 periods collect each cohort's returns.
		up := "up as (\n  select bd, user_id, c as p, true as t, true as r from tgt\n)"
		if !same && q.TotalIntervals > 1 {
			ctes = append(ctes, "ret as (\n  select distinct e.user_id, "+period("e.day")+" as p\n  from ("+
				days.days(q.ReturningEntity, startTS, start)+") e\n  where "+inPop+"\n)")
			up = `up as (
  select max(bd) as bd, user_id, p, bool_or(t) as t, bool_or(r) as r
  from (select bd, user_id, c as p, true as t, false as r from tgt
    union all select null, user_id, p, false, true from ret) x
  group by user_id, p
)`
		}
		agg := "array_agg(p) filter (where r) over w as back"
		if q.Cumulative {
			agg = "max(p) filter (where r) over w as back"
		}
		if q.TotalIntervals > 1 {
			ctes = append(ctes, up, `win as (
  select bd, user_id, p as c, t, `+agg+`
  from up
  window w as (partition by user_id order by p range between 1 following and `+a.addTyped(q.TotalIntervals-1, "int")+` following)
)`)
		}
	}
	counts := ""
	switch {
	case q.TotalIntervals == 1:
	case q.RetentionType == RetentionFirstTime && q.Cumulative:
		counts = "select 'l', bd, c, k, count(*) from (select bd, c, user_id, max(k) as k from hits group by bd, c, user_id) m group by bd, c, k"
	case q.RetentionType == RetentionFirstTime:
		counts = "select 'n', bd, c, k, count(*) from hits group by bd, c, k"
	case q.Cumulative:
		counts = "select 'l', bd, c, back - c, count(*) from win where t and back is not null group by bd, c, back - c"
	default:
		counts = "select 'n', w.bd, w.c, b.p - w.c, count(*) from win w cross join lateral unnest(w.back) as b(p) where w.t group by w.bd, w.c, b.p - w.c"
	}
	sql := "with " + strings.Join(ctes, ",\n") + "\nselect 's', bd, c, 0, count(*) from tgt group by bd, c"
	if counts != "" {
		sql += "\nunion all\n" + counts
	}
	return Executed{SQL: sql, Args: a.vals, Rollup: days.used}
}
