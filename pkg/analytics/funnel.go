package analytics

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// FunnelOrder says how a funnel's steps must follow one another.
type FunnelOrder string

// Funnel orders, with PostHog's values. In all of them every step's event lies in the query's
// range and within the conversion window of the first step's event (ts_k - ts_1 <= window), and
// a user counts once, with the attempt (first-step event) that reaches the furthest step, the
// earliest such attempt on a tie.
const (
	// OrderOrdered: each step's event happens strictly after the previous step's event (so one
	// event never serves two steps); other events, step events included, may happen between.
	// From a first-step event, each next step is its earliest event after the previous one.
	OrderOrdered FunnelOrder = "ordered"
	// OrderStrict: as ordered, and no event of any of the funnel's steps happens strictly
	// between two consecutive steps' events: step k+1's event is at the user's next instant
	// with a step event after step k's. Events that match none of the steps do not break a
	// strict funnel; events at the same instant as step k+1's do not either.
	OrderStrict FunnelOrder = "strict"
	// OrderUnordered: the steps may happen in any order. An attempt starts at any step's event
	// at t, and completes every step with an event in [t, t+window]; an event that matches
	// several steps completes each of them. Step k of the result counts the users who completed
	// at least k of the steps, and its time is from the (k-1)-th completion to the k-th.
	OrderUnordered FunnelOrder = "unordered"
)

// WindowUnit is the unit of a funnel's conversion window; a day is 24 hours and a week 7 days,
// whatever the time zone's daylight saving changes.
type WindowUnit string

// Window units, with PostHog's values.
const (
	UnitMinute WindowUnit = "minute"
	UnitHour   WindowUnit = "hour"
	UnitDay    WindowUnit = "day"
	UnitWeek   WindowUnit = "week"
)

var unitDurations = map[WindowUnit]time.Duration{
	UnitMinute: time.Minute, UnitHour: time.Hour, UnitDay: 24 * time.Hour, UnitWeek: 7 * 24 * time.Hour,
}

// Funnel limits and defaults.
const (
	MinFunnelSteps              = 2
	MaxFunnelSteps              = 20
	DefaultFunnelWindowInterval = 14
	DefaultFunnelWindowUnit     = UnitDay
	// MaxFunnelWindow bounds the conversion window.
	MaxFunnelWindow = 366 * 24 * time.Hour
)

// FunnelQuery is a conversion funnel over the events of the range [From, To).
type FunnelQuery struct {
	Query
	// Series are the steps, in order: at least 2, at most 20.
	Series []Event `json:"series"`
	// FunnelWindowInterval is the conversion window in FunnelWindowIntervalUnit; default 14.
	FunnelWindowInterval int `json:"funnelWindowInterval,omitempty"`
	// FunnelWindowIntervalUnit: minute, hour, day (default) or week.
	FunnelWindowIntervalUnit WindowUnit `json:"funnelWindowIntervalUnit,omitempty"`
	// FunnelOrderType: ordered (default), strict or unordered.
	FunnelOrderType FunnelOrder `json:"funnelOrderType,omitempty"`
	// Breakdown splits the funnel by an attribute of the beneficiary.
	Breakdown Breakdown `json:"breakdown,omitempty"`

	windowSet bool // funnelWindowInterval was present in the JSON, so 0 is an error
}

// UnmarshalJSON reads the query and notes whether funnelWindowInterval was given, so an explicit
// 0 is reported rather than replaced by the default.
func (q *FunnelQuery) UnmarshalJSON(data []byte) error {
	type plain FunnelQuery // without this method
	p, set, err := decodeNoting[plain](data, "funnelWindowInterval")
	if err != nil {
		return err
	}
	*q = FunnelQuery(p)
	q.windowSet = set[0]
	return nil
}

// Validate checks the query and fills its defaults; errors are *ParamError.
func (q *FunnelQuery) Validate() error {
	if err := q.Query.Validate(); err != nil {
		return err
	}
	if len(q.Series) < MinFunnelSteps || len(q.Series) > MaxFunnelSteps {
		return paramErr("series", "a funnel has %d to %d steps, got %d", MinFunnelSteps, MaxFunnelSteps, len(q.Series))
	}
	for i, e := range q.Series {
		if err := e.validate(fmt.Sprintf("series[%d]", i)); err != nil {
			return err
		}
	}
	if q.FunnelWindowInterval == 0 && !q.windowSet {
		q.FunnelWindowInterval = DefaultFunnelWindowInterval
	}
	q.FunnelWindowIntervalUnit = WindowUnit(strings.ToLower(string(q.FunnelWindowIntervalUnit)))
	if q.FunnelWindowIntervalUnit == "" {
		q.FunnelWindowIntervalUnit = DefaultFunnelWindowUnit
	}
	unit, ok := unitDurations[q.FunnelWindowIntervalUnit]
	if !ok {
		return paramErr("funnelWindowIntervalUnit", "unknown unit %q; one of \"minute\", \"hour\", \"day\", \"week\"", string(q.FunnelWindowIntervalUnit))
	}
	if q.FunnelWindowInterval < 1 || int64(q.FunnelWindowInterval) > int64(MaxFunnelWindow/unit) {
		return paramErr("funnelWindowInterval", "must be between 1 and %d %ss, got %d", MaxFunnelWindow/unit, q.FunnelWindowIntervalUnit, q.FunnelWindowInterval)
	}
	q.FunnelOrderType = FunnelOrder(strings.ToLower(string(q.FunnelOrderType)))
	switch q.FunnelOrderType {
	case "":
		q.FunnelOrderType = OrderOrdered
	case OrderOrdered, OrderStrict, OrderUnordered:
	default:
		return paramErr("funnelOrderType", "unknown order %q; one of %q, %q, %q", string(q.FunnelOrderType), OrderOrdered, OrderStrict, OrderUnordered)
	}
	return q.Breakdown.validate()
}

// Window is the conversion window; call it after Validate.
func (q *FunnelQuery) Window() time.Duration {
	return time.Duration(q.FunnelWindowInterval) * unitDurations[q.FunnelWindowIntervalUnit]
}

// FunnelResult is a funnel, one series per breakdown value.
type FunnelResult struct {
	// Query after defaults.
	Query FunnelQuery `json:"query"`
	// Series in breakdown order (most users at the first step first, then by name); one series
	// with Breakdown "" without breakdown.
	Series []FunnelSeries `json:"series"`
	// Executed is the statement that computed the funnel.
	Executed Executed `json:"executed"`
}

// FunnelSeries is the funnel of one breakdown value.
type FunnelSeries struct {
	// Breakdown is the breakdown value, "" without breakdown.
	Breakdown string `json:"breakdown,omitempty"`
	// Steps in order.
	Steps []FunnelStep `json:"steps"`
}

// FunnelStep is one step of a funnel.
type FunnelStep struct {
	// Order is the step's position, from 0.
	Order int `json:"order"`
	// Name labels the step: its event, or "k of n steps" in an unordered funnel.
	Name string `json:"name"`
	// Count is the number of users who reached the step.
	Count int64 `json:"count"`
	// ConversionFromFirst is Count over the first step's count (0 when that is 0).
	ConversionFromFirst float64 `json:"conversionFromFirst"`
	// ConversionFromPrevious is Count over the previous step's count (the first step's is 1
	// when anyone entered).
	ConversionFromPrevious float64 `json:"conversionFromPrevious"`
	// MedianConversionTime is the median time, in seconds, from the previous step to this one
	// over the users who reached it (the mean of the two middle values for an even count); nil
	// for the first step and when nobody reached it.
	MedianConversionTime *float64 `json:"medianConversionTime"`
	// AverageConversionTime is the mean of the same times, in seconds; nil likewise.
	AverageConversionTime *float64 `json:"averageConversionTime"`
}

// Funnel computes a funnel.
//
// The statement reads each step's events once per source table (activity steps together, with a
// bit per step) and follows the order over each user's events sorted once: ordered funnels put
// each user's instants of each step in a sorted array and follow the greedy chain from every
// step-1 instant by one binary search per step (the first instant strictly after, so events at
// the same instant need no folding), keeping each user's best with one aggregate of minimums per
// step reached rather than a sort of the attempts; strict funnels fold the events to one row per
// instant and read the next rows with lead(), unordered ones take for every step its first
// instant at or after the attempt's start. There are no joins between a user's events and no
// pairing of them. A user's chain involves only their own events, so the population (and the
// breakdown) is joined to the users' best attempts at the end, not to every event; with
// filters, the events are also restricted to the population up front. An ordered funnel whose
// first step happens once per user (signup, programme completed) instead looks each later step
// up by index from each first-step event, joined to the population first. Ordered and strict funnels then aggregate
// each step from the attempts' columns (finishChains), unordered ones from a row per step.
// Ordered funnels take the sorted arrays of a step of one activity type or one feature from the
// instants rollup (bdc_analytics.user_activity_instants, migration 016) for the months it covers,
// sorted once by the refresh, rather than sorting the range's events on every query.
func (e *Engine) Funnel(ctx context.Context, q FunnelQuery) (*FunnelResult, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	type key struct {
		bd string
		k  int
	}
	type cell struct {
		n        int64
		med, avg *float64
	}
	cells := map[key]cell{}
	first := map[string]int64{}
	rollup := ""
	if !e.NoRollup && q.FunnelOrderType == OrderOrdered {
		rollup = InstantsRollupName
	}
	ex, err := e.queryCovered(ctx, rollup, q.build, func(rows pgx.Rows) error {
		var (
			k key
			c cell
		)
		if err := rows.Scan(&k.bd, &k.k, &c.n, &c.med, &c.avg); err != nil {
			return err
		}
		cells[k] = c
		if k.k == 1 {
			first[k.bd] = c.n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't compute funnel: %w", err)
	}
	if q.Breakdown == BreakdownNone {
		first[""] += 0
	}
	bds := byTotal(first)

	res := &FunnelResult{Query: q, Executed: ex}
	n := len(q.Series)
	for _, bd := range bds {
		s := FunnelSeries{Breakdown: bd}
		for k := 1; k <= n; k++ {
			c := cells[key{bd, k}]
			step := FunnelStep{Order: k - 1, Name: q.Series[k-1].String(), Count: c.n,
				ConversionFromFirst: ratio(c.n, first[bd]), ConversionFromPrevious: ratio(c.n, first[bd])}
			if q.FunnelOrderType == OrderUnordered {
				step.Name = strconv.Itoa(k) + " of " + strconv.Itoa(n) + " steps"
			}
			if k > 1 {
				step.ConversionFromPrevious = ratio(c.n, s.Steps[k-2].Count)
				step.MedianConversionTime, step.AverageConversionTime = c.med, c.avg
			}
			s.Steps = append(s.Steps, step)
		}
		res.Series = append(res.Series, s)
	}
	return res, nil
}

// build writes the statement; it returns rows (bd, step from 1, users, median seconds, mean
// seconds) for the steps someone reached. covered is the instants rollup's coverage (nil: do not
// read it).
func (q *FunnelQuery) build(covered *time.Time) Executed {
	a := &sqlArgs{}
	pop := populationCTE(a, q.Filters, q.Breakdown)
	n := len(q.Series)
	if q.FunnelOrderType == OrderOrdered && oncePerUser(q.Series[0].Kind) {
		// One attempt per user, already joined to the population: no best attempt to pick.
		return q.finishChains(a, []string{pop, q.attempts(a)}, "att")
	}
	ctes := []string{pop}
	if q.FunnelOrderType != OrderOrdered {
		ctes = append(ctes, q.occurrences(a))
	}
	w := a.addTyped(q.Window(), "interval")
	// Whether a part reads the instants rollup, and whether one sorts raw rows by user.
	rollup, sorts := false, false
	bit := func(k int) string { return strconv.Itoa(1 << (k - 1)) } // step k, from 1
	has := func(mask string, k int) string { return "(" + mask + " & " + bit(k) + ") <> 0" }
	var b strings.Builder

	switch q.FunnelOrderType {
	case OrderOrdered:
		// The greedy chain from a step-1 event takes, for each next step, its earliest event
		// strictly after the previous step's. Each user's instants of each step go in one
		// sorted array; the next instant of step k after t is element width_bucket(t, s<k>) + 1
		// of its array (width_bucket counts the elements at or before t; past the end, null).
		// So each attempt's chain is one binary search per step, and no window runs over every
		// event. The chain's times only grow, so a step past the window makes every later one
		// past it too.
		//
		// Each part of the occurrences (a source table, or a distinct step event read from its
		// index or from the instants rollup) is grouped by user on its own, into the arrays of
		// the steps it serves, so that each part's rows are sorted by the parallel workers; the
		// arrays are joined to those of the first part, which serves step 1 (parts follow the
		// steps' order), since a user without step-1 instants makes no attempt. Step 1's
		// instants are only iterated, in any order: they need no sort. The rollup's arrays come
		// sorted.
		set := q.occurrenceParts(a)
		instants := newInstantsReader(a, q, set, covered)
		arrays := make([]string, n+1) // the array of step k, in its part's CTE
		joins := ""
		for j, p := range set.parts {
			var ks []int // the steps the part serves
			for k := 1; k <= n; k++ {
				if p.steps&(1<<(k-1)) != 0 {
					ks = append(ks, k)
					arrays[k] = fmt.Sprintf("e%d.s%d", j, k)
				}
			}
			if instants.reads(p) {
				// One column serves every step of the part: its rows are those of one event.
				for _, k := range ks[1:] {
					arrays[k] = fmt.Sprintf("e%d.s%d as s%d", j, ks[0], k)
				}
				ctes = append(ctes, fmt.Sprintf("e%d as (\n%s\n)", j, instants.part(p, ks[0])))
				rollup = true
			} else {
				var aggs []string
				for _, k := range ks {
					order := " order by ts"
					if k == 1 {
						order = ""
					}
					aggs = append(aggs, fmt.Sprintf("array_agg(ts%s) filter (where %s) as s%d", order, has("mask", k), k))
				}
				ctes = append(ctes, fmt.Sprintf("e%d as (\n  select user_id, %s\n  from (%s) o\n  where %s\n  group by user_id\n)",
					j, strings.Join(aggs, ", "), p.sql(set.from.String()), set.where))
				sorts = true
			}
			if j > 0 {
				joins += fmt.Sprintf("\n  left join e%d on e%d.user_id = e0.user_id", j, j)
			}
		}
		ctes = append(ctes, "ev as (\n  select e0.user_id, "+strings.Join(arrays[1:], ", ")+"\n  from e0"+joins+"\n)")
		// A user's best attempt starts at the earliest step-1 instant among those whose chain
		// reaches the last step, else the step before, and so on: one aggregate over the
		// user's attempts, with a minimum per step reached, and no sort. Its chain is then
		// followed again from that instant. A chain reaches step k when its instant of step k
		// is within the window, the instants before being earlier.
		chain := func(t1 string) string {
			var c strings.Builder
			prev := t1
			for k := 2; k <= n; k++ {
				fmt.Fprintf(&c, "\n      cross join lateral (select e.s%d[width_bucket(%s, e.s%d) + 1] as c) a%d", k, prev, k, k)
				prev = fmt.Sprintf("a%d.c", k)
			}
			return c.String()
		}
		var mins []string
		for k := n; k >= 2; k-- {
			mins = append(mins, fmt.Sprintf("min(l.t1) filter (where a%d.c <= l.t1 + %s)", k, w))
		}
		mins = append(mins, "min(l.t1)")
		// Step 1's instants are unnested in a select list: unnest in a from clause would store
		// each user's in a tuplestore first (the booking funnel 391-395 -> 370-381 ms).
		b.WriteString("select e.user_id, k.t1")
		for k := 2; k <= n; k++ {
			fmt.Fprintf(&b, ", case when a%d.c <= k.t1 + %s then a%d.c end as t%d", k, w, k, k)
		}
		b.WriteString("\n    from ev e cross join lateral (\n      select coalesce(" + strings.Join(mins, ", ") + ") as t1\n      from (select unnest(e.s1) as t1) l" +
			strings.ReplaceAll(chain("l.t1"), "\n", "\n  ") + "\n    ) k" + chain("k.t1") + "\n    where k.t1 is not null")
		ctes = append(ctes, bestJoinCTE(b.String()))
	case OrderStrict:
		// lead() reads the user's next instants: one row per instant, with the steps matched.
		ctes = append(ctes, "inst as (\n  select user_id, ts, bit_or(mask) as mask from occ group by user_id, ts\n)")
		b.WriteString("sx as (\n  select user_id, ts, mask")
		for j := 1; j < n; j++ {
			fmt.Fprintf(&b, ",\n    lead(ts, %d) over w as l%dt, lead(mask, %d) over w as l%dm", j, j, j, j)
		}
		b.WriteString("\n  from inst\n  window w as (partition by user_id order by ts)\n)")
		ctes = append(ctes, b.String())
		b.Reset()
		b.WriteString("att as (\n  select user_id, ts as t1")
		reached := "true"
		for k := 2; k <= n; k++ {
			reached += fmt.Sprintf(" and %s and l%dt <= ts + %s", has(fmt.Sprintf("l%dm", k-1), k), k-1, w)
			fmt.Fprintf(&b, ",\n    case when %s then l%dt end as t%d", reached, k-1, k)
		}
		b.WriteString("\n  from sx where " + has("mask", 1) + "\n)")
		ctes = append(ctes, b.String(), bestCTE("att", n))
	case OrderUnordered:
		// The frame is every row at or after the row's instant (its peers included).
		b.WriteString("ux as (\n  select user_id, ts, mask")
		for k := 1; k <= n; k++ {
			fmt.Fprintf(&b, ",\n    min(ts) filter (where %s) over w as f%d", has("mask", k), k)
		}
		b.WriteString("\n  from occ\n  window w as (partition by user_id order by ts desc range between unbounded preceding and current row)\n)")
		ctes = append(ctes, b.String())
		var in, count []string
		for k := 1; k <= n; k++ {
			in = append(in, fmt.Sprintf("case when f%d <= ts + %s then f%d end", k, w, k))
			count = append(count, fmt.Sprintf("case when f%d <= ts + %s then 1 else 0 end", k, w))
		}
		ctes = append(ctes,
			"att as (\n  select user_id, ts, array["+strings.Join(in, ", ")+"] as fs,\n    "+strings.Join(count, " + ")+" as reached\n  from ux\n)",
			`best as (
  select b.user_id, p.bd, b.fs
  from (select distinct on (user_id) user_id, fs from att order by user_id, reached desc, ts) b
  join pop p on p.user_id = b.user_id
)`,
			`steps as (
  select b.bd, row_number() over s as k, extract(epoch from u.t - lag(u.t) over s)::float8 as secs
  from best b cross join lateral unnest(b.fs) as u(t)
  where u.t is not null
  window s as (partition by b.user_id order by u.t)
)`)
		return q.finish(a, ctes)
	}
	ex := q.finishChains(a, ctes, "best")
	ex.Rollup, ex.ParallelSorts = rollup, sorts
	return ex
}

// finish completes the funnel statement from its CTEs, the last of which is "steps(bd, k,
// secs)": per step, the users who reached it and the median and mean time from the step before.
func (q *FunnelQuery) finish(a *sqlArgs, ctes []string) Executed {
	sql := "with " + strings.Join(ctes, ",\n") + `
select bd, k::int, count(*), percentile_cont(0.5) within group (order by secs), avg(secs)
from steps group by bd, k`
	return Executed{SQL: sql, Args: a.vals}
}

// oncePerUser says whether a user has at most one event of the kind: signing up, completing
// the programme.
func oncePerUser(kind EventKind) bool {
	return kind == EventSignup || kind == EventProgrammeCompleted
}

// attempts is "att(user_id, bd, t1, …, tn)" of an ordered funnel whose first step happens at most
// once per user: from each first-step event, the greedy chain (the same the array plan finds:
// for each next step, its earliest event strictly after the previous step's, within the
// conversion window and the range), found by one index lookup per step and attempt instead of
// arrays of every event of every step. With few attempts (one per user who signed up in the
// range) this reads a small part of the rows the arrays would sort. The first step's events are
// joined to the population, for the breakdown and for the beneficiary id the later steps' rows
// are looked up by; a user's one first-step event makes one attempt, the user's only one.
func (q *FunnelQuery) attempts(a *sqlArgs) string {
	from := a.addTyped(q.From, "timestamptz")
	to := a.addTyped(q.To, "timestamptz")
	w := a.addTyped(q.Window(), "interval")
	cond := func(i int, s source) string {
		c := s.cond
		if q.Series[i].Kind == EventActivity {
			c = and(c, activityCond(a, q.Series[i]))
		}
		return c
	}
	first := sourceOf(a, q.Series[0].Kind, q.Filters)
	var b strings.Builder
	b.WriteString("att as (\n  select s1.user_id, s1.bd, s1.t1")
	for k := 2; k <= len(q.Series); k++ {
		fmt.Fprintf(&b, ", l%d.t%d", k, k)
	}
	b.WriteString("\n  from (select " + first.user + " as user_id, p.beneficiary_id as bid, p.bd, " + first.ts + " as t1 from " + first.from +
		" join pop p on p.user_id = " + first.user +
		" where " + and(first.ts+" >= "+from, first.ts+" < "+to, cond(0, first)) + ") s1")
	prev := "s1.t1"
	for k := 2; k <= len(q.Series); k++ {
		s := sourceOf(a, q.Series[k-1].Kind, q.Filters)
		reached := "" // the step before was reached (always true of the first)
		if k > 2 {
			reached = prev + " is not null"
		}
		// Rows that name a beneficiary are looked up by the attempt's beneficiary, without a
		// join per lookup to find it.
		from, who := s.from, s.user+" = s1.user_id"
		switch {
		case s.own != "":
			from, who = s.own, "x.beneficiary_id = s1.bid"
		case q.Series[k-1].Kind == EventProgrammeCompleted:
			who = "x.id = s1.bid"
		}
		where := and(reached, who, s.ts+" > "+prev, s.ts+" < "+to, s.ts+" <= s1.t1 + "+w, cond(k-1, s))
		fmt.Fprintf(&b, "\n  left join lateral (select min(%s) as t%d from %s where %s) l%d on true", s.ts, k, from, where, k)
		prev = fmt.Sprintf("l%d.t%d", k, k)
	}
	b.WriteString("\n)")
	return b.String()
}

// bestCTE keeps each user's best attempt from the attempts of from (columns user_id, t1..tn, null
// from the first step not reached) and joins it to the population for the breakdown.
func bestCTE(from string, n int) string {
	cols := []string{"user_id"}
	for k := 1; k <= n; k++ {
		cols = append(cols, fmt.Sprintf("t%d", k))
	}
	return bestJoinCTE("select distinct on (user_id) " + strings.Join(cols, ", ") + "\n    from " + from +
		"\n    order by user_id, " + reachedSQL(n) + " desc, t1")
}

// reachedSQL is the number of steps an attempt (columns t1..tn) reached.
func reachedSQL(n int) string {
	reached := []string{"1"}
	for k := 2; k <= n; k++ {
		reached = append(reached, fmt.Sprintf("(t%d is not null)::int", k))
	}
	return strings.Join(reached, " + ")
}

// bestJoinCTE is "best(user_id, t1..tn, bd)": the best attempts, the rows (user_id, t1..tn) of the
// statement best (one per user), joined to the population for the breakdown.
func bestJoinCTE(best string) string {
	return `best as (
  select b.*, p.bd
  from (
    ` + best + `
  ) b
  join pop p on p.user_id = b.user_id
)`
}

// finishChains completes the statement of a funnel whose attempts are chains (each step reached
// after the one before), from its CTEs, the last of which, from, has one row per user (bd,
// t1..tn, null from the first step not reached). A step k is reached when tk is: its users are
// count(tk), its times tk - t(k-1), which aggregates over the rows of the breakdown value,
// ignoring nulls, without unpivoting them into a row per step.
func (q *FunnelQuery) finishChains(a *sqlArgs, ctes []string, from string) Executed {
	n := len(q.Series)
	aggs := []string{"count(*) as u1"}
	vals := []string{"(1, w.u1, null::float8, null::float8)"}
	for k := 2; k <= n; k++ {
		secs := fmt.Sprintf("extract(epoch from t%d - t%d)::float8", k, k-1)
		aggs = append(aggs, fmt.Sprintf("count(t%d) as u%d, percentile_cont(0.5) within group (order by %s) as m%d, avg(%s) as a%d", k, k, secs, k, secs, k))
		vals = append(vals, fmt.Sprintf("(%d, w.u%d, w.m%d, w.a%d)", k, k, k, k))
	}
	sql := "with " + strings.Join(ctes, ",\n") + `
select w.bd, s.k, s.users, s.median, s.mean
from (
  select bd, ` + strings.Join(aggs, ",\n    ") + `
  from ` + from + `
  group by bd
) w
cross join lateral (values ` + strings.Join(vals, ", ") + `) as s(k, users, median, mean)
where s.users > 0`
	return Executed{SQL: sql, Args: a.vals}
}

// occurrences is "occ(user_id, ts, mask)": the events of the steps in the range, with bit k-1 of
// mask set when it matches step k. Each source table is read once for all the steps it serves,
// one row per event, except the activity rows when every activity step names an activity type
// or a feature: those are read once per distinct step event, from the covering index of its type
// or feature (user_activities_type_idx, user_activities_feature_idx) rather than from every row
// of the range, so an event matching several distinct steps gives a row for each. The funnels
// need no more: every row sees the same later instants as its peers. Rows of users outside the
// population are left for the final join with it to drop, unless filters make the population a
// small part of the users.
func (q *FunnelQuery) occurrences(a *sqlArgs) string {
	set := q.occurrenceParts(a)
	sqls := make([]string, len(set.parts))
	for i, p := range set.parts {
		sqls[i] = p.sql(set.from.String())
	}
	return "occ as (\n  select user_id, ts, mask from (\n    " + strings.Join(sqls, "\n    union all\n    ") +
		"\n  ) o\n  where " + set.where + "\n)"
}

// occurrencePart is one select of occurrences: rows (user_id, ts, mask) of the steps whose bits
// are in steps, and of no other step, from the instant from (a placeholder; the range's start,
// or where the instants rollup ends) to To. The select binds its arguments when written, so
// that a part read otherwise (from the instants rollup) binds none.
type occurrencePart struct {
	sql   func(from string) string
	steps int
	// event is the step event of a part that reads one distinct activity step event; nil for
	// the parts that read a source table for all the steps it serves.
	event *Event
}

// occurrenceSet is the parts of occurrences, the condition their rows must meet, and the bounds
// of the range, bound when used.
type occurrenceSet struct {
	parts    []occurrencePart
	where    string
	inPop    bool // where restricts the rows to the population
	from, to *lazyArg
}

// occurrenceParts returns the selects of occurrences, one per source table or distinct step
// event read, and the condition their rows must meet.
func (q *FunnelQuery) occurrenceParts(a *sqlArgs) occurrenceSet {
	set := occurrenceSet{from: a.lazy(q.From, "timestamptz"), to: a.lazy(q.To, "timestamptz"), inPop: !q.Filters.IsZero()}
	var kinds []EventKind
	byKind := map[EventKind][]int{}
	for i, e := range q.Series {
		if byKind[e.Kind] == nil {
			kinds = append(kinds, e.Kind)
		}
		byKind[e.Kind] = append(byKind[e.Kind], i)
	}
	for _, kind := range kinds {
		s := sourceOf(a, kind, q.Filters)
		if kind == EventActivity && q.selectiveActivity() {
			var firsts []int // the first step of each distinct event
			bits := map[string]int{}
			for _, i := range byKind[kind] {
				e := q.Series[i].String()
				if _, ok := bits[e]; !ok {
					firsts = append(firsts, i)
				}
				bits[e] |= 1 << i
			}
			for _, i := range firsts {
				b := bits[q.Series[i].String()]
				e := q.Series[i]
				set.parts = append(set.parts, occurrencePart{steps: b, event: &e, sql: func(from string) string {
					return "select " + s.user + " as user_id, " + s.ts + " as ts, " + strconv.Itoa(b) + " as mask from " + s.from +
						" where " + and(s.ts+" >= "+from, s.ts+" < "+set.to.String(), activityCond(a, e))
				}})
			}
			continue
		}
		steps := 0
		for _, i := range byKind[kind] {
			steps |= 1 << i
		}
		set.parts = append(set.parts, occurrencePart{steps: steps, sql: func(from string) string {
			var terms, conds []string
			for _, i := range byKind[kind] {
				bit := strconv.Itoa(1 << i)
				c := ""
				if kind == EventActivity {
					c = activityCond(a, q.Series[i])
				}
				if c == "" {
					terms = append(terms, bit)
					conds = append(conds, "true")
				} else {
					terms = append(terms, "case when "+c+" then "+bit+" else 0 end")
					conds = append(conds, c)
				}
			}
			match := or(conds...)
			if slices.Contains(conds, "true") {
				match = ""
			}
			return "select " + s.user + " as user_id, " + s.ts + " as ts, " + strings.Join(terms, " | ") + " as mask from " + s.from +
				" where " + and(s.ts+" >= "+from, s.ts+" < "+set.to.String(), s.cond, match)
		}})
	}
	set.where = and(set.popCond("user_id"), "mask <> 0")
	return set
}

// popCond is the condition that the user (an expression) is in the population when the rows
// must be restricted to it, "" otherwise.
func (set occurrenceSet) popCond(user string) string {
	if !set.inPop {
		return ""
	}
	return user + " in (select user_id from pop)"
}

// instantsReader writes the parts of an ordered funnel that read the instants rollup (migration
// 016): those that read one activity type or one feature (not both), when the rollup covers
// the start of the range. The range's months and the rollup's end are bound once for all of
// them.
type instantsReader struct {
	a                *sqlArgs
	q                *FunnelQuery
	set              occurrenceSet
	cut              time.Time // the first instant the rollup does not cover
	cutArg           *lazyArg
	first, last      *lazyArg // the first and last Europe/Paris months of [From, min(To, cut)), by their first day
	cutFrom, cutUpTo bool     // the first month starts before From; the last ends after To
}

// newInstantsReader returns the reader of q's parts given the rollup's coverage; nil when the
// rollup is not to be read (covered nil) or covers nothing of the range.
func newInstantsReader(a *sqlArgs, q *FunnelQuery, set occurrenceSet, covered *time.Time) *instantsReader {
	if covered == nil {
		return nil
	}
	r := &instantsReader{a: a, q: q, set: set, cut: midnight(*covered, platformLocation)}
	if !r.cut.After(q.From) {
		return nil
	}
	end := q.To
	if r.cut.Before(end) {
		end = r.cut
	}
	first, last := periodStart(PeriodMonth, dateOf(q.From, platformLocation)), periodStart(PeriodMonth, dateOf(end.Add(-time.Microsecond), platformLocation))
	r.cutArg, r.first, r.last = a.lazy(r.cut, "timestamptz"), a.lazy(first, "date"), a.lazy(last, "date")
	r.cutFrom = q.From.After(midnight(first, platformLocation))
	r.cutUpTo = q.To.Before(midnight(last.AddDate(0, 1, 0), platformLocation))
	return r
}

// reads says whether the part p reads the rollup.
func (r *instantsReader) reads(p occurrencePart) bool {
	return r != nil && p.event != nil && rollupCapable(*p.event)
}

// part is the body of the CTE of the part p, which reads one event: per user, the column s<k> (k
// the part's first step), the event's instants in the range in ascending order. The rollup's sorted
// arrays of the range's months are concatenated in month order (array_cat_agg, a sort of a few
// rows per user), the result cut to the range by binary search when the range starts or ends
// inside a month (width_bucket counts the elements at or before an instant, and instants are
// whole microseconds), then those of the raw rows from the rollup's end to To. Nothing is sorted
// but those raw rows and the rollup's rows of each user by month.
func (r *instantsReader) part(p occurrencePart, k int) string {
	q, a, e := r.q, r.a, *p.event
	dim, name := "t", e.ActivityType
	if e.Feature != "" {
		dim, name = "f", e.Feature
	}
	inPop := r.set.popCond
	s := "g.s"
	if r.cutFrom || r.cutUpTo {
		lo, hi := "", ""
		if r.cutFrom {
			lo = fmt.Sprintf("width_bucket(%s - interval '1 microsecond', g.s) + 1", r.set.from)
		}
		if r.cutUpTo {
			hi = fmt.Sprintf("width_bucket(%s - interval '1 microsecond', g.s)", r.set.to)
		}
		s = "g.s[" + lo + ":" + hi + "]"
	}
	from := "(\n    select r.user_id, bdc_analytics.array_cat_agg(r.instants order by r.month) as s\n    from bdc_analytics.user_activity_instants r\n    where " +
		and("r.dimension = '"+dim+"'", "r.name = "+a.addTyped(name, "text"), "r.month >= "+r.first.String(), "r.month <= "+r.last.String(),
			inPop("r.user_id")) + "\n    group by r.user_id\n  ) g"
	user := "g.user_id"
	if q.To.After(r.cut) {
		from += " full join (\n    select user_id, array_agg(ts order by ts) as t from (" + p.sql(r.cutArg.String()) + ") o\n    where " +
			r.set.where + "\n    group by user_id\n  ) t on t.user_id = g.user_id"
		user = "coalesce(g.user_id, t.user_id)"
		s += " || t.t"
	}
	return fmt.Sprintf("  select %s as user_id, %s as s%d\n  from %s", user, s, k, from)
}

// selectiveActivity reports whether every activity step names an activity type or a feature.
func (q *FunnelQuery) selectiveActivity() bool {
	return !slices.ContainsFunc(q.Series, func(e Event) bool {
		return e.Kind == EventActivity && e.ActivityType == "" && e.Feature == ""
	})
}
