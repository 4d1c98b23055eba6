package analytics

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// PathGrouping says what one path follows.
type PathGrouping string

// Path groupings.
const (
	// GroupBySession: one path per session (user and session_id) of activity; activity rows
	// without a session_id are left out, and only activity has sessions.
	GroupBySession PathGrouping = "session"
	// GroupByUser: one path per user, over all of the user's events in the range.
	GroupByUser PathGrouping = "user"
)

// PathLabel says how activity events are named in paths (other events are named by their kind).
type PathLabel string

// Path labels.
const (
	// LabelActivityType names an activity by its activity_type ("page_view").
	LabelActivityType PathLabel = "activity_type"
	// LabelActivityTypeFeature adds the feature when there is one ("page_view/dashboard").
	LabelActivityTypeFeature PathLabel = "activity_type_feature"
)

// Paths limits and defaults. The node graph of a result stays under Grafana's limit of 1,500
// nodes: nodes are the ends of the edges kept, at most MaxEdgeLimit of them, so at most 1,400.
const (
	DefaultStepLimit    = 5
	MinStepLimit        = 2
	MaxStepLimit        = 20
	DefaultEdgeLimit    = 50
	MaxEdgeLimit        = 700
	DefaultJourneyLimit = 10
	MaxJourneyLimit     = 100
	MaxExcludeEvents    = 50
	// MaxPathNodes is the most nodes a result can have (2 × MaxEdgeLimit), under Grafana's
	// node graph limit of 1,500.
	MaxPathNodes = 2 * MaxEdgeLimit
)

// PathsQuery follows the journeys of beneficiaries through the events of the range [From, To),
// with PostHog's parameters. A path is built from one sequence (a session, or a user's whole
// range, per GroupBy) in these steps:
//
//  1. Events: those of the kinds in IncludeEventTypes in the range, by beneficiaries of the
//     population, minus those matching any of ExcludeEvents. Each is named by its label:
//     its kind, or for activity its activity_type (and feature, per NodeLabel).
//  2. Order: by time, then label (byte order), then kind (in EventKinds order), then row id.
//  3. Anchors: with a StartPoint, the path starts at the sequence's first event matching it;
//     with an EndPoint, it ends at the first event matching it after the start (or the first
//     at all without a StartPoint). Sequences without the anchors make no path.
//  4. Repeats: consecutive events with the same label merge into the first of them, so a run
//     of page views is one step.
//  5. Steps, numbered from 1: the first StepLimit without an EndPoint; the last StepLimit
//     (ending at the end point) with only an EndPoint; with both anchors, the whole path from
//     start to end, and a path longer than StepLimit is left out.
//
// Nodes are (step, label) pairs such as "2_page_view", so the graph is a DAG; edges join
// consecutive steps of a path, weighted by the number of paths that take them, with the mean
// time between the two steps' events. Edges are filtered by weight, then the EdgeLimit heaviest
// kept; nodes are the ends of the kept edges. Journeys are whole paths, the most common first.
type PathsQuery struct {
	Query
	// IncludeEventTypes are the kinds of events in paths; default activity only.
	IncludeEventTypes []EventKind `json:"includeEventTypes,omitempty"`
	// StartPoint and EndPoint anchor the paths; both optional.
	StartPoint Event `json:"startPoint,omitzero"`
	EndPoint   Event `json:"endPoint,omitzero"`
	// StepLimit is the number of steps of a path: 2 to 20, default 5.
	StepLimit int `json:"stepLimit,omitempty"`
	// EdgeLimit is the number of edges kept: 1 to 700, default 50.
	EdgeLimit int `json:"edgeLimit,omitempty"`
	// MinEdgeWeight and MaxEdgeWeight drop lighter and heavier edges; 0 means no bound.
	MinEdgeWeight int64 `json:"minEdgeWeight,omitempty"`
	MaxEdgeWeight int64 `json:"maxEdgeWeight,omitempty"`
	// ExcludeEvents are left out of the sequences (at most 50).
	ExcludeEvents []Event `json:"excludeEvents,omitempty"`
	// GroupBy: session (default) or user.
	GroupBy PathGrouping `json:"groupBy,omitempty"`
	// NodeLabel: activity_type (default) or activity_type_feature.
	NodeLabel PathLabel `json:"nodeLabel,omitempty"`
	// JourneyLimit is the number of most common journeys listed: 1 to 100, default 10.
	JourneyLimit int `json:"journeyLimit,omitempty"`

	stepSet, edgeSet, journeySet bool // given in the JSON, so 0 is an error, not a default
}

// UnmarshalJSON reads the query and notes which limits were given, so an explicit 0 is reported
// rather than replaced by the default.
func (q *PathsQuery) UnmarshalJSON(data []byte) error {
	type plain PathsQuery // without this method
	p, set, err := decodeNoting[plain](data, "stepLimit", "edgeLimit", "journeyLimit")
	if err != nil {
		return err
	}
	*q = PathsQuery(p)
	q.stepSet, q.edgeSet, q.journeySet = set[0], set[1], set[2]
	return nil
}

// Validate checks the query and fills its defaults; errors are *ParamError.
func (q *PathsQuery) Validate() error {
	if err := q.Query.Validate(); err != nil {
		return err
	}
	if len(q.IncludeEventTypes) == 0 {
		q.IncludeEventTypes = []EventKind{EventActivity}
	}
	for i, k := range q.IncludeEventTypes {
		param := fmt.Sprintf("includeEventTypes[%d]", i)
		if !slices.Contains(EventKinds, k) {
			return paramErr(param, "unknown event %q; one of %s", string(k), joinQuoted(EventKinds))
		}
		if slices.Contains(q.IncludeEventTypes[:i], k) {
			return paramErr(param, "%q is listed twice", string(k))
		}
	}
	switch q.GroupBy {
	case "":
		q.GroupBy = GroupBySession
	case GroupBySession, GroupByUser:
	default:
		return paramErr("groupBy", "unknown grouping %q; one of %q, %q", string(q.GroupBy), GroupBySession, GroupByUser)
	}
	if q.GroupBy == GroupBySession && (len(q.IncludeEventTypes) != 1 || q.IncludeEventTypes[0] != EventActivity) {
		return paramErr("groupBy", "only activity has sessions; with includeEventTypes %s, group by %q", joinQuoted(q.IncludeEventTypes), GroupByUser)
	}
	switch q.NodeLabel {
	case "":
		q.NodeLabel = LabelActivityType
	case LabelActivityType, LabelActivityTypeFeature:
	default:
		return paramErr("nodeLabel", "unknown label %q; one of %q, %q", string(q.NodeLabel), LabelActivityType, LabelActivityTypeFeature)
	}
	for _, p := range []struct {
		name string
		e    Event
	}{{"startPoint", q.StartPoint}, {"endPoint", q.EndPoint}} {
		if p.e == (Event{}) {
			continue
		}
		if err := p.e.validate(p.name); err != nil {
			return err
		}
		if !slices.Contains(q.IncludeEventTypes, p.e.Kind) {
			return paramErr(p.name+".kind", "%q is not among includeEventTypes (%s)", string(p.e.Kind), joinQuoted(q.IncludeEventTypes))
		}
	}
	if len(q.ExcludeEvents) > MaxExcludeEvents {
		return paramErr("excludeEvents", "has %d events, at most %d", len(q.ExcludeEvents), MaxExcludeEvents)
	}
	for i, e := range q.ExcludeEvents {
		if err := e.validate(fmt.Sprintf("excludeEvents[%d]", i)); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		name          string
		v             *int
		set           bool
		lo, hi, deflt int
	}{
		{"stepLimit", &q.StepLimit, q.stepSet, MinStepLimit, MaxStepLimit, DefaultStepLimit},
		{"edgeLimit", &q.EdgeLimit, q.edgeSet, 1, MaxEdgeLimit, DefaultEdgeLimit},
		{"journeyLimit", &q.JourneyLimit, q.journeySet, 1, MaxJourneyLimit, DefaultJourneyLimit},
	} {
		if *l.v == 0 && !l.set {
			*l.v = l.deflt
		}
		if *l.v < l.lo || *l.v > l.hi {
			return paramErr(l.name, "must be between %d and %d, got %d", l.lo, l.hi, *l.v)
		}
	}
	if q.MinEdgeWeight < 0 {
		return paramErr("minEdgeWeight", "must not be negative, got %d", q.MinEdgeWeight)
	}
	if q.MaxEdgeWeight < 0 || (q.MaxEdgeWeight > 0 && q.MaxEdgeWeight < q.MinEdgeWeight) {
		return paramErr("maxEdgeWeight", "must be 0 (no bound) or at least minEdgeWeight (%d), got %d", q.MinEdgeWeight, q.MaxEdgeWeight)
	}
	return nil
}

// PathsResult is the journeys' graph and the most common journeys.
type PathsResult struct {
	// Query after defaults.
	Query PathsQuery `json:"query"`
	// Paths is the number of paths drawn; Users the number of users they belong to.
	Paths int64 `json:"paths"`
	Users int64 `json:"users"`
	// Nodes by step, then heaviest first, then by label.
	Nodes []PathNode `json:"nodes"`
	// Edges heaviest first (then by step, source and target label).
	Edges []PathEdge `json:"edges"`
	// Journeys are the most common whole paths, most common first (then in label order).
	Journeys []Journey `json:"journeys"`
	// Executed is the statement that computed the paths.
	Executed Executed `json:"executed"`
}

// PathNode is one step of the graph.
type PathNode struct {
	// ID is "<step>_<label>", as edges refer to it.
	ID    string `json:"id"`
	Step  int    `json:"step"`
	Label string `json:"label"`
	// Weight is the number of paths with this label at this step; Ends the number of them
	// that end here.
	Weight int64 `json:"weight"`
	Ends   int64 `json:"ends"`
}

// PathEdge joins step Step to step Step+1.
type PathEdge struct {
	// ID is "<source>-><target>".
	ID     string `json:"id"`
	Source string `json:"source"`
	Target string `json:"target"`
	Step   int    `json:"step"`
	// Weight is the number of paths taking the edge.
	Weight int64 `json:"weight"`
	// AverageTime is the mean time between the two steps' events, in seconds.
	AverageTime float64 `json:"averageTime"`
}

// Journey is one whole path and how often it is taken.
type Journey struct {
	Steps []string `json:"steps"`
	Paths int64    `json:"paths"`
	// Share is Paths over all paths drawn.
	Share float64 `json:"share"`
	// AverageDuration is the mean time from the first step's event to the last one's, in
	// seconds.
	AverageDuration float64 `json:"averageDuration"`
}

func nodeID(step int, label string) string { return strconv.Itoa(step) + "_" + label }

// Paths computes the journeys.
//
// The statement reads the included events once per source table, numbers each sequence's
// events in order (row_number), finds the anchors with windowed minimums, drops repeats with
// lag, numbers the steps and pairs each with the next (lead); edges, nodes and journeys are then
// groupings of those steps. Everything is a window over a sequence or a grouping: no event is
// joined with another.
func (e *Engine) Paths(ctx context.Context, q PathsQuery) (*PathsResult, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	res := &PathsResult{Query: q, Nodes: []PathNode{}, Edges: []PathEdge{}, Journeys: []Journey{}}
	rollup := ""
	if !e.NoRollup && q.sessionCapable() {
		rollup = SessionRollupName
	}
	ex, err := e.queryCovered(ctx, rollup, q.buildSessions, func(rows pgx.Rows) error {
		var (
			kind     string
			step     int
			src, dst *string
			n, m     int64
			secs     *float64
			path     []string
		)
		if err := rows.Scan(&kind, &step, &src, &dst, &n, &m, &secs, &path); err != nil {
			return err
		}
		switch kind {
		case "e":
			s, t := nodeID(step, *src), nodeID(step+1, *dst)
			res.Edges = append(res.Edges, PathEdge{ID: s + "->" + t, Source: s, Target: t, Step: step, Weight: n, AverageTime: *secs})
		case "n":
			res.Nodes = append(res.Nodes, PathNode{ID: nodeID(step, *src), Step: step, Label: *src, Weight: n, Ends: m})
		case "j":
			res.Journeys = append(res.Journeys, Journey{Steps: path, Paths: n, AverageDuration: *secs})
		case "t":
			res.Paths, res.Users = n, m
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't compute paths: %w", err)
	}
	res.Executed = ex
	slices.SortFunc(res.Edges, func(a, b PathEdge) int {
		return cmp.Or(cmp.Compare(b.Weight, a.Weight), cmp.Compare(a.Step, b.Step), strings.Compare(a.Source, b.Source), strings.Compare(a.Target, b.Target))
	})
	slices.SortFunc(res.Nodes, func(a, b PathNode) int {
		return cmp.Or(cmp.Compare(a.Step, b.Step), cmp.Compare(b.Weight, a.Weight), strings.Compare(a.Label, b.Label))
	})
	slices.SortFunc(res.Journeys, func(a, b Journey) int {
		return cmp.Or(cmp.Compare(b.Paths, a.Paths), slices.Compare(a.Steps, b.Steps))
	})
	for i := range res.Journeys {
		res.Journeys[i].Share = ratio(res.Journeys[i].Paths, res.Paths)
	}
	return res, nil
}

// build writes the statement; it returns rows (kind, step, source label, target label, n, m,
// seconds, path): 'e' per edge kept (n paths, mean seconds), 'n' per node (n paths, m ending
// there), 'j' per journey listed (n paths, mean duration, its labels) and one 't' (n paths, m
// users).
func (q *PathsQuery) build() Executed {
	a := &sqlArgs{}
	pop := populationCTE(a, q.Filters, BreakdownNone)
	from := a.addTyped(q.From, "timestamptz")
	to := a.addTyped(q.To, "timestamptz")
	hasStart, hasEnd := q.StartPoint != (Event{}), q.EndPoint != (Event{})
	// matches is the condition an event of kind (alias x) meets for e: "" (always), or "false".
	matches := func(kind EventKind, e Event) string {
		switch {
		case e.Kind != kind:
			return "false"
		case kind == EventActivity:
			return activityCond(a, e)
		}
		return ""
	}
	flag := func(kind EventKind, e Event) string {
		switch c := matches(kind, e); c {
		case "":
			return "true"
		case "false":
			return c
		default:
			return "coalesce(" + c + ", false)"
		}
	}
	var parts []string
	for rank, kind := range EventKinds {
		if !slices.Contains(q.IncludeEventTypes, kind) {
			continue
		}
		var excluded []string
		all := false
		for _, x := range q.ExcludeEvents {
			c := matches(kind, x)
			all = all || c == ""
			if c != "false" {
				excluded = append(excluded, c)
			}
		}
		if all {
			continue // every event of this kind is excluded
		}
		s := sourceOf(a, kind, q.Filters)
		label, sid := "'"+string(kind)+"'::text", "null::text"
		cond := s.cond
		if kind == EventActivity {
			label = "x.activity_type"
			if q.NodeLabel == LabelActivityTypeFeature {
				label = "x.activity_type || coalesce('/' || x.feature, '')"
			}
			sid = "x.session_id"
			if q.GroupBy == GroupBySession {
				cond = and(cond, "x.session_id is not null")
			}
		}
		if len(excluded) > 0 {
			cond = and(cond, or(excluded...)+" is not true")
		}
		cols := []string{s.user + " as user_id", sid + " as sid", s.ts + " as ts", label + " as label", strconv.Itoa(rank) + " as src", "x.id"}
		if hasStart {
			cols = append(cols, flag(kind, q.StartPoint)+" as is_s")
		}
		if hasEnd {
			cols = append(cols, flag(kind, q.EndPoint)+" as is_e")
		}
		parts = append(parts, "select "+strings.Join(cols, ", ")+" from "+s.from+" where "+and(s.ts+" >= "+from, s.ts+" < "+to, cond))
	}
	if len(parts) == 0 { // everything excluded: an empty sequence table of the same shape
		cols := "null::bigint as user_id, null::text as sid, null::timestamptz as ts, null::text as label, 0 as src, null::bigint as id"
		if hasStart {
			cols += ", false as is_s"
		}
		if hasEnd {
			cols += ", false as is_e"
		}
		parts = append(parts, "select "+cols+" where false")
	}
	// Every window orders a sequence's events the same way (time, label in byte order, kind, row
	// id), so one sort serves them all; the session id is compared byte-wise, which is enough to
	// tell sessions apart and cheaper than the database's collation.
	g := `user_id, sid collate "C"`
	if q.GroupBy == GroupByUser {
		g = "user_id"
	}
	order := `ts, label collate "C", src, id`
	if len(parts) == 1 {
		order = `ts, label collate "C", id` // one kind: src is a constant, which the planner drops from one sort and not the next
	}
	seq := `(partition by ` + g + ` order by ` + order + `)`
	// A window over the whole sequence, in the same order so that it needs no sort of its own.
	over := `over (partition by ` + g + ` order by ` + order + ` rows between unbounded preceding and unbounded following)`
	flags := ""
	if hasStart {
		flags += ", is_s"
	}
	if hasEnd {
		flags += ", is_e"
	}
	ctes := []string{pop,
		"ev as (\n  select o.* from (\n    " + strings.Join(parts, "\n    union all\n    ") + "\n  ) o\n  where " + popMember(q.Filters, "o.user_id") + "\n)",
	}
	cols := "user_id, sid, ts, label, src, id"
	// merged holds the events of the cut left after merging repeats (those whose label differs
	// from the previous event's). Without an end point the cut is a suffix of the sequence, so one
	// window pass finds both: without anchors the whole sequence; with a start point the events
	// from the first one matching it on, by a running count of matches (the start event stays
	// even when the event before it, cut off, has its label). An end point needs whole-sequence
	// minimums: events are numbered (rn), the anchors' numbers found, the cut made, and repeats
	// merged in a pass of their own.
	var merged string
	switch {
	case hasEnd:
		ctes = append(ctes, "sq as (\n  select user_id, sid, ts, label, src, id"+flags+", row_number() over "+seq+" as rn\n  from ev\n)")
		if hasStart {
			ctes = append(ctes,
				"an as (\n  select *, min(rn) filter (where is_s) "+over+" as s_rn from sq\n)",
				"an2 as (\n  select *, min(rn) filter (where is_e and rn > s_rn) "+over+" as e_rn from an where rn >= s_rn\n)",
				"cut as (\n  select "+cols+" from an2 where rn <= e_rn\n)")
		} else {
			ctes = append(ctes,
				"an as (\n  select *, min(rn) filter (where is_e) "+over+" as e_rn from sq\n)",
				"cut as (\n  select "+cols+" from an where rn <= e_rn\n)")
		}
		merged = `(select ` + cols + `, lag(label) over ` + seq + ` as prev from cut) c
  where prev is distinct from label`
	case hasStart:
		merged = `(select ` + cols + `, is_s, count(*) filter (where is_s) over run as ns, lag(label) over run as prev from ev
    window run as (partition by ` + g + ` order by ` + order + ` rows between unbounded preceding and current row)) c
  where ns > 0 and (prev is distinct from label or (is_s and ns = 1))`
	default:
		merged = `(select ` + cols + `, lag(label) over ` + seq + ` as prev from ev) c
  where prev is distinct from label`
	}
	// Steps are numbered, each with the next one (lead), in one more pass; the step count of a
	// sequence is needed only with an end point.
	n := ""
	if hasEnd {
		n = ", count(*) " + over + " as n"
	}
	ctes = append(ctes, `st as (
  select user_id, sid, ts, label, row_number() over w as step, lead(label) over w as nlabel, lead(ts) over w as nts`+n+`
  from `+merged+`
  window w as `+seq+`
)`)
	lim := a.addTyped(q.StepLimit, "int")
	switch {
	case hasStart && hasEnd:
		ctes = append(ctes, "pe as (\n  select user_id, sid, step, ts, label, nlabel, nts from st where n <= "+lim+"\n)")
	case hasEnd:
		ctes = append(ctes, "pe as (\n  select user_id, sid, step - greatest(n - "+lim+", 0) as step, ts, label, nlabel, nts from st where step > n - "+lim+"\n)")
	default:
		// The last step kept has no next one in the path.
		ctes = append(ctes, "pe as (\n  select user_id, sid, step, ts, label, case when step < "+lim+" then nlabel end as nlabel, nts from st where step <= "+lim+"\n)")
	}
	ctes = append(ctes, `kept as (
  select step, src, dst, n, secs from (
    select step, label as src, nlabel as dst, count(*) as n, avg(extract(epoch from nts - ts)::float8) as secs,
      row_number() over (order by count(*) desc, step, label collate "C", nlabel collate "C") as r
    from pe where nlabel is not null
    group by step, label, nlabel
    having `+q.edgeWeight(a, "count(*)")+`
  ) e
  where r <= `+a.addTyped(q.EdgeLimit, "int")+`
)`, `nodes as (
  select step, label, count(*) as n, count(*) filter (where nlabel is null) as ends from pe group by step, label
)`, `jr as (
  select user_id, array_agg(label order by step) as path, extract(epoch from max(ts) - min(ts))::float8 as secs
  from pe group by `+g+`
)`, `jn as (
  select path, count(*) as n, avg(secs) as secs from jr group by path
)`, `tot as (
  select count(*) as n, count(distinct user_id) as users from jr
)`)
	return q.statement(a, ctes)
}

// edgeWeight is the condition the weight bounds put on an edge of weight n (an aggregate).
func (q *PathsQuery) edgeWeight(a *sqlArgs, n string) string {
	var weight []string
	if q.MinEdgeWeight > 0 {
		weight = append(weight, n+" >= "+a.addTyped(q.MinEdgeWeight, "bigint"))
	}
	if q.MaxEdgeWeight > 0 {
		weight = append(weight, n+" <= "+a.addTyped(q.MaxEdgeWeight, "bigint"))
	}
	return and(weight...)
}

// statement ends the statement whose ctes define kept (step, src, dst, n, secs: the edges kept),
// nodes (step, label, n, ends), jn (path, n, secs: every whole path) and tot (n paths, users).
func (q *PathsQuery) statement(a *sqlArgs, ctes []string) Executed {
	sql := "with " + strings.Join(ctes, ",\n") + `
select 'e', step, src, dst, n, 0::bigint, secs, null::text[] from kept
union all
select 'n', step, label, null, n, ends, null, null from nodes nd
where exists (select 1 from kept k where (k.step = nd.step and k.src = nd.label) or (k.step + 1 = nd.step and k.dst = nd.label))
union all
select 'j', 0, null, null, n, 0, secs, path from (
  select path, n, secs from jn order by n desc, path collate "C" limit ` + a.addTyped(q.JourneyLimit, "int") + `
) j
union all
select 't', 0, null, null, n, users, null, null from tot`
	return Executed{SQL: sql, Args: a.vals}
}
