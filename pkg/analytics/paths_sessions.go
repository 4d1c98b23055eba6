package analytics

import (
	"strconv"
	"strings"
	"time"
)

// Paths from the session rollup (bdc_analytics.user_session_daily, migrations 010 and 015). A
// row holds the runs of one session's activity on one Europe/Paris day: the label of each run,
// the instant of its first event and its number of events, and the runs again as a string of
// one character per activity type (codes) with the seconds between consecutive runs (gaps).
// Merging repeats (step 4 of PathsQuery) leaves exactly the runs, so a session's path is a slice
// of its runs, found with string functions on its codes instead of windows over every event:
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
// coverage, from their labels. Equal paths are then counted once each, and edges and nodes
// drawn from the counts.

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
	whole := "select r.user_id, r.codes, r.gaps, r.runs from " + days(wholeConds...)
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
		"rs as (\n  select user_id, labels, starts, runs from (\n  "+sessionRuns(raw, "user_id, sid", false)+"\n  ) s\n)")
	// Each part is sliced where it is read, so that the workers scanning the rollup slice too:
	// the rollup's rows by their codes (pc), the rebuilt sessions by their labels (pl).
	anchors := q.sliceParams(a)
	ctes = append(ctes, "pa as (\n  "+q.sessionSlices(anchors, true)("("+whole+")")+"\n  union all\n  "+q.sessionSlices(anchors, false)("rs")+"\n)")
	var sums, gs, gaps []string
	for i := 1; i < q.StepLimit; i++ {
		g := "g" + strconv.Itoa(i)
		sums, gs, gaps = append(sums, "sum("+g+") as "+g), append(gs, g), append(gaps, "sum("+g+")")
	}
	// One pass counts the paths by codes or labels and the users: two grouping sets, hashed.
	// The codes of each distinct path are then read as labels, a path met in both parts summed,
	// and its duration summed from its steps' gaps.
	ctes = append(ctes, `ga as (
  select grouping(user_id) as by_path, pc, pl, count(*) as n, `+strings.Join(sums, ", ")+`
  from pa group by grouping sets ((pc, pl), (user_id))
)`, `gp as (
  select p, n, gaps, (select coalesce(sum(g), 0) from unnest(gaps[1:cardinality(p) - 1]) as g) as dur
  from (
    select p, sum(n)::bigint as n, array[`+strings.Join(gaps, ", ")+`] as gaps
    from (
      select coalesce(pl, (
        select array_agg(c.activity_type order by u.i)
        from unnest(string_to_array(pc, null)) with ordinality as u(code, i)
        join bdc_analytics.activity_type_codes c on c.code = u.code
      )) as p, n, `+strings.Join(gs, ", ")+`
      from ga where by_path = 1
    ) g
    group by p
  ) g
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

// sliceParams are the parameters both parts' slices share, bound once: the activity types of
// the start and end points ("" for none, or any activity) and the step limit.
type sliceParams struct{ start, end, lim string }

func (q *PathsQuery) sliceParams(a *sqlArgs) sliceParams {
	p := sliceParams{lim: a.addTyped(q.StepLimit, "int")}
	if q.StartPoint.ActivityType != "" {
		p.start = a.addTyped(q.StartPoint.ActivityType, "text")
	}
	if q.EndPoint.ActivityType != "" {
		p.end = a.addTyped(q.EndPoint.ActivityType, "text")
	}
	return p
}

// sessionSlices returns a writer of the subquery (user_id, pc, pl, g1…) of each session's path:
// the runs from the anchors on, within the step limit, with the seconds between consecutive
// steps. With codes, the path is the string of the runs' codes (pc), from a subquery of sessions
// (user_id, codes, gaps, runs); else the array of their labels (pl), from a subquery (user_id,
// labels, starts, runs).
func (q *PathsQuery) sessionSlices(p sliceParams, codes bool) func(from string) string {
	hasStart, hasEnd := q.StartPoint != (Event{}), q.EndPoint != (Event{})
	// How the runs are read: their column, the column of their times, their number, the label of
	// run k, runs lo to hi, the label of an activity type (a parameter), and the first run with
	// that label (after run after, if not "").
	seq, times, n, atK, slice := "labels", "starts", "cardinality(labels)", "labels[k]", "labels[lo:hi] as pl"
	label := func(typ string) string { return typ }
	find := func(l, after string) string {
		if after == "" {
			return "array_position(labels, " + l + ")"
		}
		return "array_position(labels, " + l + ", " + after + " + 1)"
	}
	if codes {
		seq, times, n, atK, slice = "codes", "gaps", "length(codes)", "substr(codes, k, 1)", "substr(codes, lo, hi - lo + 1) as pc"
		// A type without a code is in none of the rollup's sessions: its code is null, and so
		// is its position.
		label = func(typ string) string {
			return "(select code from bdc_analytics.activity_type_codes where activity_type = " + typ + ")"
		}
		find = func(l, after string) string {
			if after == "" {
				return "nullif(strpos(codes, " + l + "), 0)"
			}
			return "nullif(strpos(substr(codes, " + after + " + 1), " + l + "), 0) + " + after
		}
	}
	// first is the index of the first run of the activity type typ ("": any activity), after
	// run after if not "".
	first := func(typ, after string) string {
		if typ == "" {
			next := "1"
			if after != "" {
				next = after + " + 1"
			}
			return "case when " + next + " <= " + n + " then " + next + " end"
		}
		return find(label(typ), after)
	}
	k := "1"
	if hasStart {
		k = first(p.start, "")
	}
	lim := p.lim
	var m, lo, hi, keep string
	switch {
	case hasEnd && hasStart:
		same := "runs[k] >= 2"
		if p.end != "" {
			same = atK + " = " + label(p.end) + " and " + same
		}
		m = "case when " + same + " then k else " + first(p.end, "k") + " end"
		lo, hi, keep = "k", "m", "m - k < "+lim
	case hasEnd:
		m = first(p.end, "")
		lo, hi, keep = "greatest(m - "+lim+" + 1, 1)", "m", "true"
	default:
		m = n
		lo, hi, keep = "k", "k + "+lim+" - 1", "true"
	}
	// The path, the other part's column null, then the seconds between consecutive steps, g1 to
	// g(StepLimit-1). A path has fewer steps than StepLimit when its runs or its end point say
	// so; its gaps past its last step are never read, since edges and durations stop there.
	cols := []string{slice, "null::text[] as pl"}
	if !codes {
		cols = []string{"null::text as pc", slice}
	}
	at := func(i int) string { // run lo + i
		if i == 0 {
			return "[lo]"
		}
		return "[lo + " + strconv.Itoa(i) + "]"
	}
	for i := 1; i < q.StepLimit; i++ {
		g := "gaps" + at(i-1)
		if !codes {
			g = "date_part('epoch', starts" + at(i) + " - starts" + at(i-1) + ")"
		}
		cols = append(cols, g+" as g"+strconv.Itoa(i))
	}
	return func(from string) string {
		return `select user_id, ` + strings.Join(cols, ", ") + ` from (
    select user_id, ` + seq + `, ` + times + `, ` + lo + ` as lo, least(` + hi + `, ` + n + `) as hi from (
      select user_id, ` + seq + `, ` + times + `, k, ` + m + ` as m from (
        select user_id, ` + seq + `, ` + times + `, runs, ` + k + ` as k from ` + from + ` s
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
