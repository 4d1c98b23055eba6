package analytics

import (
	"strconv"
	"strings"
	"time"
)

// Paths from the session rollup (bdc_analytics.user_session_daily, migration 010). A row holds
// the runs of one session's activity on one Europe/Paris day: the label of each run, the instant
// of its first event and its number of events. Merging repeats (step 4 of PathsQuery) leaves
// exactly the runs, so a session's path is a slice of its runs, found with array functions
// instead of windows over every event:
//
//   - a start point matching an activity type is the first event of the first run of that
//     type, so the path starts at that run;
//   - an end point is the first event after the start matching it: the second event of the
//     start's own run when that run matches and holds two events or more (the path is then the
//     start's run alone), else the first event of the next matching run;
//   - step limits slice the runs.
//
// The rows answer for a session when it has one row in the range, and that row lies whole in
// [From, To). The others, cut by a bound, spread over days, or going on past the rollup's
// coverage, are rebuilt from raw rows (one index lookup per session), as are the days after the
// coverage. Equal paths are then counted once each, and edges and nodes drawn from the counts.

// sessionCapable says whether the session rollup can answer the query: one path per session of
// activity, named by activity type, nothing excluded, and anchors that match whole activity
// types (a feature would match part of a run).
func (q *PathsQuery) sessionCapable() bool {
	anchor := func(e Event) bool { return e == Event{} || e.Kind == EventActivity && e.Feature == "" }
	return len(q.IncludeEventTypes) == 1 && q.IncludeEventTypes[0] == EventActivity && q.GroupBy == GroupBySession &&
		q.NodeLabel == LabelActivityType && len(q.ExcludeEvents) == 0 && anchor(q.StartPoint) && anchor(q.EndPoint)
}

// buildSessions writes the statement from the session rollup covering the days before covered
// (nil: no rollup), or the raw one (build) when the rollup covers none of the range.
func (q *PathsQuery) buildSessions(covered *time.Time) Executed {
	if covered == nil || !q.sessionCapable() {
		return q.build()
	}
	cut := midnight(*covered, platformLocation)
	if !cut.After(q.From) {
		return q.build()
	}
	a := &sqlArgs{}
	pop := populationCTE(a, q.Filters, BreakdownNone)
	from := a.addTyped(q.From, "timestamptz")
	to := a.addTyped(q.To, "timestamptz")
	fromDay := a.addTyped(dateOf(q.From, platformLocation), "date")
	lastDay := dateOf(q.To, platformLocation)
	if !covered.After(lastDay) {
		lastDay = covered.AddDate(0, 0, -1)
	}
	ctes := []string{pop}
	// Raw rows of the days after the coverage.
	after := cut.Before(q.To)
	if after {
		ctes = append(ctes, `af as (
  select x.user_id, x.session_id as sid, x.occurred_at as ts, x.activity_type as label, x.id
  from bdc.user_activities x
  where x.occurred_at >= `+a.addTyped(maxTime(q.From, cut), "timestamptz")+` and x.occurred_at < `+to+`
    and x.session_id is not null and `+popMember(q.Filters, "x.user_id")+`
)`)
	}
	// The rows of the range: the days covered from From's to To's, overlapping [From, To).
	lastP := a.addTyped(lastDay, "date")
	days := func(cond ...string) string {
		return "bdc_analytics.user_session_daily r where " + and(append([]string{"r.day >= " + fromDay, "r.day <= " + lastP}, cond...)...)
	}
	rows := func(cond ...string) string {
		return days(append([]string{"r.last_event_at >= " + from, "r.first_event_at < " + to}, cond...)...)
	}
	// The sessions the rows cannot answer alone: over several days, cut by a bound (on the
	// first or last day), or going on after the coverage; with the span of their rows, which
	// holds all their events of the range before the coverage ends.
	cols := "select r.user_id, r.session_id as sid, r.first_event_at as f, r.last_event_at as l from "
	split := []string{
		cols + rows("r.spans_days"),
		cols + rows("r.day in ("+fromDay+", "+lastP+")", "(r.first_event_at < "+from+" or r.last_event_at >= "+to+")"),
	}
	// The sessions the rows answer alone.
	wholeConds := []string{"not r.spans_days", "r.first_event_at >= " + from, "r.last_event_at < " + to, popMember(q.Filters, "r.user_id")}
	if after {
		split = append(split, cols+"(select distinct user_id, sid from af) f\n"+
			"    join "+strings.Replace(rows("r.user_id = f.user_id", "r.session_id = f.sid"), " r where ", " r on ", 1))
		wholeConds = append(wholeConds, "not exists (select 1 from af where af.user_id = r.user_id and af.sid = r.session_id)")
	}
	// (Inside the range, they overlap it: the planner, multiplying the selectivities of both
	// conditions, would expect a few thousand rows of hundreds of thousands and test each for
	// the population by index lookups rather than hash the few other users.)
	whole := "select r.user_id, r.labels, r.starts, r.runs from " + days(wholeConds...)
	covEnd := a.addTyped(minTime(q.To, cut), "timestamptz")
	raw := `select s.user_id, s.sid, x.occurred_at as ts, x.activity_type as label, x.id
    from sp s cross join lateral (
      select x.occurred_at, x.activity_type, x.id from bdc.user_activities x
      where x.user_id = s.user_id and x.session_id = s.sid
        and x.occurred_at >= greatest(s.f, ` + from + `) and x.occurred_at <= s.l and x.occurred_at < ` + covEnd + `
    ) x`
	if after {
		raw += "\n    union all\n    select user_id, sid, ts, label, id from af"
	}
	ctes = append(ctes,
		"sp as (\n  select user_id, sid, min(f) as f, max(l) as l from (\n  "+strings.Join(split, "\n  union all\n  ")+
			"\n  ) s where "+popMember(q.Filters, "user_id")+" group by user_id, sid\n)",
		// The split sessions' runs, cut as the refresh cuts them.
		"rs as (\n  select user_id, labels, starts, runs from (\n  "+sessionRuns(raw, "user_id, sid")+"\n  ) s\n)")
	// Each part is sliced where it is read, so that the workers scanning the rollup slice too.
	slice := q.sessionSlices(a)
	ctes = append(ctes, "pa as (\n  "+slice("("+whole+")")+"\n  union all\n  "+slice("rs")+"\n)")
	gaps := make([]string, q.StepLimit-1)
	for i := range gaps {
		gaps[i] = "sum(g" + strconv.Itoa(i+1) + ")"
	}
	// One pass counts the paths by labels and the users: two grouping sets, hashed.
	ctes = append(ctes, `ga as (
  select grouping(user_id) as by_path, p, count(*) as n, array[`+strings.Join(gaps, ", ")+`] as gaps, sum(dur) as dur
  from pa group by grouping sets ((p), (user_id))
)`, `gp as (
  select p, n, gaps, dur from ga where by_path = 1
)`, `kept as (
  select step, src, dst, n, secs from (
    select i as step, p[i] as src, p[i + 1] as dst, sum(n)::bigint as n, sum(gaps[i]) / sum(n)::float8 as secs,
      row_number() over (order by sum(n) desc, i, p[i] collate "C", p[i + 1] collate "C") as r
    from gp cross join lateral generate_series(1, cardinality(p) - 1) as i
    group by i, p[i], p[i + 1]
    having `+q.edgeWeight(a, "sum(n)")+`
  ) e
  where r <= `+a.addTyped(q.EdgeLimit, "int")+`
)`, `nodes as (
  select i as step, p[i] as label, sum(n)::bigint as n, coalesce(sum(n) filter (where i = cardinality(p)), 0)::bigint as ends
  from gp cross join lateral generate_series(1, cardinality(p)) as i
  group by i, p[i]
)`, `jn as (
  select p as path, n, dur / n as secs from gp
)`, `tot as (
  select coalesce((select sum(n) from gp), 0)::bigint as n, (select count(*) from ga where by_path = 0) as users
)`)
	ex := q.statement(a, ctes)
	ex.Rollup = true
	return ex
}

// sessionSlices returns a writer of the subquery (user_id, p, g1…, dur) of each session's path:
// the labels and first instants of its runs from the anchors on, within the step limit, with
// the seconds between its steps, from a subquery of sessions (user_id, labels, starts, runs).
func (q *PathsQuery) sessionSlices(a *sqlArgs) func(from string) string {
	hasStart, hasEnd := q.StartPoint != (Event{}), q.EndPoint != (Event{})
	// first is the index of the first run at or after from (an SQL integer) matching e.
	first := func(e Event, from string) string {
		if e.ActivityType == "" { // any activity
			return "case when " + from + " <= cardinality(labels) then " + from + " end"
		}
		if from == "1" {
			return "array_position(labels, " + a.addTyped(e.ActivityType, "text") + ")"
		}
		return "array_position(labels, " + a.addTyped(e.ActivityType, "text") + ", " + from + ")"
	}
	k := "1"
	if hasStart {
		k = first(q.StartPoint, "1")
	}
	lim := a.addTyped(q.StepLimit, "int")
	var m, lo, hi, keep string
	switch {
	case hasEnd && hasStart:
		same := "runs[k] >= 2"
		if q.EndPoint.ActivityType != "" {
			same = "labels[k] = " + a.addTyped(q.EndPoint.ActivityType, "text") + " and " + same
		}
		m = "case when " + same + " then k else " + first(q.EndPoint, "k + 1") + " end"
		lo, hi, keep = "k", "m", "m - k < "+lim
	case hasEnd:
		m = first(q.EndPoint, "1")
		lo, hi, keep = "greatest(m - "+lim+" + 1, 1)", "m", "true"
	default:
		m = "cardinality(labels)"
		lo, hi, keep = "k", "k + "+lim+" - 1", "true"
	}
	// The seconds between consecutive steps, g1 to g(StepLimit-1), and from the first step to the
	// last (dur). A path has fewer steps than StepLimit when its runs or its end point say so;
	// its gaps past its last step are never read, since edges stop there.
	cols := []string{"labels[lo:hi] as p"}
	at := func(i int) string {
		if i == 0 {
			return "starts[lo]"
		}
		return "starts[lo + " + strconv.Itoa(i) + "]"
	}
	for i := 1; i < q.StepLimit; i++ {
		cols = append(cols, "date_part('epoch', "+at(i)+" - "+at(i-1)+") as g"+strconv.Itoa(i))
	}
	cols = append(cols, "date_part('epoch', starts[hi] - starts[lo]) as dur")
	return func(from string) string {
		return `select user_id, ` + strings.Join(cols, ", ") + ` from (
    select user_id, labels, starts, ` + lo + ` as lo, least(` + hi + `, cardinality(labels)) as hi from (
      select user_id, labels, starts, k, ` + m + ` as m from (
        select user_id, labels, starts, runs, ` + k + ` as k from ` + from + ` s
      ) s where k is not null
    ) s where m is not null and ` + keep + `
  ) s`
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
