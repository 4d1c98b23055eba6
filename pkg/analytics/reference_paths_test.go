package analytics_test

// The reference for paths: every sequence is built, cut, merged and limited in Go, one by one,
// following the five documented steps of analytics.PathsQuery.

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

type refStep struct {
	at    time.Time
	label string
}

func (ref *refData) paths(q analytics.PathsQuery) *analytics.PathsResult {
	hasStart, hasEnd := q.StartPoint != (analytics.Event{}), q.EndPoint != (analytics.Event{})
	rank := map[analytics.EventKind]int{}
	for i, k := range analytics.EventKinds {
		rank[k] = i
	}
	type item struct {
		ev    refEvent
		label string
	}
	var paths [][]refStep
	var owners []int64
	for _, u := range ref.users {
		if !u.inPopulation(q.Filters) {
			continue
		}
		// 1. Events, grouped into sequences.
		seqs := map[string][]item{}
		for _, kind := range q.IncludeEventTypes {
		events:
			for _, ev := range u.detailed(kind, q.Filters) {
				if ev.at.Before(q.From) || !ev.at.Before(q.To) {
					continue
				}
				for _, x := range q.ExcludeEvents {
					if ev.matches(x) {
						continue events
					}
				}
				label := string(kind)
				if kind == analytics.EventActivity {
					label = ev.typ
					if q.NodeLabel == analytics.LabelActivityTypeFeature && !ev.featureIsNull {
						label += "/" + ev.feature
					}
				}
				key := ""
				if q.GroupBy == analytics.GroupBySession {
					if ev.session == nil {
						continue
					}
					key = *ev.session
				}
				seqs[key] = append(seqs[key], item{ev, label})
			}
		}
		keys := make([]string, 0, len(seqs))
		for k := range seqs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			seq := seqs[k]
			// 2. Order.
			sort.Slice(seq, func(i, j int) bool {
				a, b := seq[i], seq[j]
				switch {
				case !a.ev.at.Equal(b.ev.at):
					return a.ev.at.Before(b.ev.at)
				case a.label != b.label:
					return a.label < b.label
				case a.ev.kind != b.ev.kind:
					return rank[a.ev.kind] < rank[b.ev.kind]
				}
				return a.ev.id < b.ev.id
			})
			// 3. Anchors.
			lo, hi := 0, len(seq)-1
			if hasStart {
				lo = slices.IndexFunc(seq, func(it item) bool { return it.ev.matches(q.StartPoint) })
				if lo < 0 {
					continue
				}
			}
			if hasEnd {
				after := lo
				if hasStart {
					after = lo + 1
				}
				hi = -1
				for i := after; i < len(seq); i++ {
					if seq[i].ev.matches(q.EndPoint) {
						hi = i
						break
					}
				}
				if hi < 0 {
					continue
				}
			}
			// 4. Repeats.
			var steps []refStep
			for _, it := range seq[lo : hi+1] {
				if len(steps) == 0 || steps[len(steps)-1].label != it.label {
					steps = append(steps, refStep{it.ev.at, it.label})
				}
			}
			// 5. Steps.
			switch {
			case hasStart && hasEnd:
				if len(steps) > q.StepLimit {
					continue
				}
			case hasEnd:
				steps = steps[max(0, len(steps)-q.StepLimit):]
			default:
				steps = steps[:min(len(steps), q.StepLimit)]
			}
			paths = append(paths, steps)
			owners = append(owners, u.id)
		}
	}

	res := &analytics.PathsResult{Paths: int64(len(paths)), Nodes: []analytics.PathNode{}, Edges: []analytics.PathEdge{}, Journeys: []analytics.Journey{}}
	users := map[int64]bool{}
	for _, o := range owners {
		users[o] = true
	}
	res.Users = int64(len(users))
	type edgeKey struct {
		step     int
		src, dst string
	}
	type nodeKey struct {
		step  int
		label string
	}
	edgeN, edgeSecs := map[edgeKey]int64{}, map[edgeKey]float64{}
	nodeN, nodeEnds := map[nodeKey]int64{}, map[nodeKey]int64{}
	journeyN, journeySecs := map[string]int64{}, map[string]float64{}
	journeySteps := map[string][]string{}
	for _, p := range paths {
		labels := make([]string, len(p))
		for i, s := range p {
			labels[i] = s.label
			nodeN[nodeKey{i + 1, s.label}]++
			if i == len(p)-1 {
				nodeEnds[nodeKey{i + 1, s.label}]++
			} else {
				k := edgeKey{i + 1, s.label, p[i+1].label}
				edgeN[k]++
				edgeSecs[k] += p[i+1].at.Sub(s.at).Seconds()
			}
		}
		key := strings.Join(labels, "\x00")
		journeyN[key]++
		journeySecs[key] += p[len(p)-1].at.Sub(p[0].at).Seconds()
		journeySteps[key] = labels
	}
	var edges []edgeKey
	for k, n := range edgeN {
		if (q.MinEdgeWeight == 0 || n >= q.MinEdgeWeight) && (q.MaxEdgeWeight == 0 || n <= q.MaxEdgeWeight) {
			edges = append(edges, k)
		}
	}
	sort.Slice(edges, func(i, j int) bool {
		a, b := edges[i], edges[j]
		switch {
		case edgeN[a] != edgeN[b]:
			return edgeN[a] > edgeN[b]
		case a.step != b.step:
			return a.step < b.step
		case a.src != b.src:
			return a.src < b.src
		}
		return a.dst < b.dst
	})
	edges = edges[:min(len(edges), q.EdgeLimit)]
	shown := map[nodeKey]bool{}
	id := func(step int, label string) string { return fmt.Sprintf("%d_%s", step, label) }
	for _, k := range edges {
		s, t := id(k.step, k.src), id(k.step+1, k.dst)
		res.Edges = append(res.Edges, analytics.PathEdge{ID: s + "->" + t, Source: s, Target: t, Step: k.step, Weight: edgeN[k], AverageTime: edgeSecs[k] / float64(edgeN[k])})
		shown[nodeKey{k.step, k.src}] = true
		shown[nodeKey{k.step + 1, k.dst}] = true
	}
	for k := range shown {
		res.Nodes = append(res.Nodes, analytics.PathNode{ID: id(k.step, k.label), Step: k.step, Label: k.label, Weight: nodeN[k], Ends: nodeEnds[k]})
	}
	sort.Slice(res.Nodes, func(i, j int) bool {
		a, b := res.Nodes[i], res.Nodes[j]
		switch {
		case a.Step != b.Step:
			return a.Step < b.Step
		case a.Weight != b.Weight:
			return a.Weight > b.Weight
		}
		return a.Label < b.Label
	})
	var journeys []string
	for k := range journeyN {
		journeys = append(journeys, k)
	}
	sort.Slice(journeys, func(i, j int) bool {
		a, b := journeys[i], journeys[j]
		if journeyN[a] != journeyN[b] {
			return journeyN[a] > journeyN[b]
		}
		return slices.Compare(journeySteps[a], journeySteps[b]) < 0
	})
	for _, k := range journeys[:min(len(journeys), q.JourneyLimit)] {
		res.Journeys = append(res.Journeys, analytics.Journey{Steps: journeySteps[k], Paths: journeyN[k],
			Share: float64(journeyN[k]) / float64(len(paths)), AverageDuration: journeySecs[k] / float64(journeyN[k])})
	}
	return res
}

func comparePaths(t *testing.T, got, want *analytics.PathsResult) {
	t.Helper()
	if got.Paths != want.Paths || got.Users != want.Users || len(got.Edges) != len(want.Edges) || len(got.Nodes) != len(want.Nodes) ||
		len(got.Journeys) != len(want.Journeys) {
		t.Fatalf("%d paths of %d users, %d edges, %d nodes, %d journeys; want %d, %d, %d, %d, %d", got.Paths, got.Users,
			len(got.Edges), len(got.Nodes), len(got.Journeys), want.Paths, want.Users, len(want.Edges), len(want.Nodes), len(want.Journeys))
	}
	for i, w := range want.Edges {
		g := got.Edges[i]
		if g.ID != w.ID || g.Source != w.Source || g.Target != w.Target || g.Step != w.Step || g.Weight != w.Weight || !closeEnough(g.AverageTime, w.AverageTime) {
			t.Fatalf("edge %d = %+v, want %+v", i, g, w)
		}
	}
	if !slices.Equal(got.Nodes, want.Nodes) {
		t.Fatalf("nodes %+v, want %+v", got.Nodes, want.Nodes)
	}
	for i, w := range want.Journeys {
		g := got.Journeys[i]
		if !slices.Equal(g.Steps, w.Steps) || g.Paths != w.Paths || !closeEnough(g.Share, w.Share) || !closeEnough(g.AverageDuration, w.AverageDuration) {
			t.Fatalf("journey %d = %+v, want %+v", i, g, w)
		}
	}
	if len(got.Nodes) > analytics.MaxPathNodes {
		t.Fatalf("%d nodes, over the node graph's limit", len(got.Nodes))
	}
}

// TestPathsAcrossSessionCoverage ends the session rollup's coverage at the midnight the most
// sessions cross: those sessions are rebuilt from their rows on both sides, and paths still
// equal the reference.
func TestPathsAcrossSessionCoverage(t *testing.T) {
	d := testdb.Get(t)
	ctx := t.Context()
	ref := loadRef(t, d)
	var cut time.Time
	for at, n := range crossedMidnights(ref) {
		if best := crossedMidnights(ref)[cut]; n > best || n == best && at.Before(cut) {
			cut = at
		}
	}
	resetRollup(ctx, t, d)
	t.Cleanup(func() { resetRollup(context.Background(), t, d) })
	if _, err := analytics.RefreshRollupsWith(ctx, d.DB, analytics.RefreshOptions{Until: cut}); err != nil {
		t.Fatal(err)
	}
	t.Logf("coverage ends at %s, crossed by %d sessions", cut, crossedMidnights(ref)[cut])
	compareSessionPaths(t, d, ref, []analytics.PathsQuery{
		{Query: analytics.Query{From: cut.AddDate(0, 0, -2), To: cut.AddDate(0, 0, 2)}, StepLimit: 10, EdgeLimit: 700, JourneyLimit: 100},
		{Query: analytics.Query{From: cut.AddDate(0, 0, -7), To: cut.Add(3 * time.Hour)}, StartPoint: ev("activity"), EndPoint: ev("activity:page_view"), StepLimit: 4},
		// A type the rollup has no code for starts no path from its rows.
		{Query: analytics.Query{From: cut.AddDate(0, 0, -7), To: cut.AddDate(0, 0, 1)}, StartPoint: ev("activity:never_seen"), StepLimit: 3},
		{Query: analytics.Query{From: cut.AddDate(0, 0, -7), To: cut.AddDate(0, 0, 1)}, StartPoint: ev("activity:login"), EndPoint: ev("activity:never_seen"), StepLimit: 3},
	})
	// Covering the whole history, the sessions over that midnight are inside the coverage and
	// the range, rebuilt from their raw rows of both days.
	if _, err := analytics.RefreshRollups(ctx, d.DB); err != nil {
		t.Fatal(err)
	}
	compareSessionPaths(t, d, ref, []analytics.PathsQuery{
		{Query: analytics.Query{From: cut.AddDate(0, 0, -2), To: cut.AddDate(0, 0, 2)}, StepLimit: 10, EdgeLimit: 700, JourneyLimit: 100},
		{Query: analytics.Query{From: cut.AddDate(0, 0, -2), To: cut.AddDate(0, 0, 2)}, StartPoint: ev("activity:page_view"),
			EndPoint: ev("activity:page_view"), StepLimit: 3, EdgeLimit: 700, JourneyLimit: 100},
		{Query: analytics.Query{From: cut.AddDate(0, 0, -1), To: cut.AddDate(0, 0, 1)}, EndPoint: ev("activity:login"), StepLimit: 5,
			EdgeLimit: 700, JourneyLimit: 100},
	})
}

// TestPathsOfSessionsOverMidnight adds to a small platform of its own sessions that cross
// midnight with runs of one type on both sides, at the same instant, and anchors on either
// side: with the whole range covered, the session rollup holds a row for each of their days,
// paths rebuild them whole, and paths equal the reference, whatever the anchors.
func TestPathsOfSessionsOverMidnight(t *testing.T) {
	ctx := t.Context()
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, paris)
	d, users := ownPlatform(t, "paths_midnight", demo.Config{Users: 100, Days: 30, Seed: 11, End: end}, 3)
	midnight := end.AddDate(0, 0, -5)
	at := func(secs int) time.Time { return midnight.Add(time.Duration(secs) * time.Second) }
	type event struct {
		user    int64
		session string
		at      time.Time
		typ     string
	}
	events := []event{
		// A run of page views on both sides of midnight, then a login and two page views.
		{users[0], "mid-1", at(-120), "page_view"}, {users[0], "mid-1", at(-60), "page_view"}, {users[0], "mid-1", at(30), "page_view"},
		{users[0], "mid-1", at(60), "login"}, {users[0], "mid-1", at(120), "page_view"}, {users[0], "mid-1", at(180), "page_view"},
		// A login before midnight, one page view on each side, a booking after.
		{users[1], "mid-2", at(-600), "login"}, {users[1], "mid-2", at(-300), "page_view"}, {users[1], "mid-2", at(300), "page_view"},
		{users[1], "mid-2", at(360), "booking"},
		// Bookings on both sides, a login at the same instant as the second (after it by type),
		// then a message.
		{users[2], "mid-3", at(-1), "booking"}, {users[2], "mid-3", at(0), "booking"}, {users[2], "mid-3", at(0), "login"},
		{users[2], "mid-3", at(600), "message"},
		// Over two midnights: a page view the day before, a login the day between, a page view
		// the day after.
		{users[2], "mid-4", at(-86400 - 30), "page_view"}, {users[2], "mid-4", at(-3600), "login"}, {users[2], "mid-4", at(30), "page_view"},
		// Its first run of page views, of two, all after midnight.
		{users[1], "mid-5", at(-3600), "login"}, {users[1], "mid-5", at(-1800), "message"}, {users[1], "mid-5", at(600), "page_view"},
		{users[1], "mid-5", at(660), "page_view"}, {users[1], "mid-5", at(1200), "login"},
	}
	for _, e := range events {
		if _, err := d.DB.Pool.Exec(ctx, `insert into bdc.user_activities (user_id, occurred_at, activity_type, session_id, duration_ms)
			values ($1, $2, $3, $4, 1000)`, e.user, e.at, e.typ, e.session); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := analytics.RefreshRollups(ctx, d.DB); err != nil {
		t.Fatal(err)
	}
	ref := loadRef(t, d)
	around := analytics.Query{From: midnight.AddDate(0, 0, -2), To: midnight.AddDate(0, 0, 2)}
	compareSessionPaths(t, d, ref, []analytics.PathsQuery{
		{Query: around, StepLimit: 10, EdgeLimit: 700, JourneyLimit: 100},
		{Query: around, StartPoint: ev("activity:page_view"), EndPoint: ev("activity:page_view"), StepLimit: 3, EdgeLimit: 700, JourneyLimit: 100},
		{Query: around, StartPoint: ev("activity:login"), StepLimit: 4, EdgeLimit: 700, JourneyLimit: 100},
		{Query: around, EndPoint: ev("activity:booking"), StepLimit: 3, EdgeLimit: 700, JourneyLimit: 100},
		{Query: around, StartPoint: ev("activity:login"), EndPoint: ev("activity:page_view"), StepLimit: 5, EdgeLimit: 700, JourneyLimit: 100},
		{Query: around, StartPoint: ev("activity:booking"), EndPoint: ev("activity:booking"), StepLimit: 2, EdgeLimit: 700, JourneyLimit: 100},
		// From the midnight between, their rows of the day before are out of the range; from 45 s
		// past it, a bound cuts their rows.
		{Query: analytics.Query{From: midnight, To: midnight.AddDate(0, 0, 1)}, StepLimit: 10, EdgeLimit: 700, JourneyLimit: 100},
		{Query: analytics.Query{From: at(45), To: midnight.AddDate(0, 0, 1)}, StepLimit: 10, EdgeLimit: 700, JourneyLimit: 100},
	})
}

// compareSessionPaths checks that each query reads the session rollup and equals the reference.
func compareSessionPaths(t *testing.T, d *testdb.Database, ref *refData, queries []analytics.PathsQuery) {
	t.Helper()
	for _, q := range queries {
		if err := q.Validate(); err != nil {
			t.Fatal(err)
		}
		got, err := analytics.NewEngine(d.DB).Paths(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Executed.Rollup {
			t.Error("the session rollup was not read")
		}
		comparePaths(t, got, ref.paths(q))
	}
}
