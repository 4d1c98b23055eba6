package analytics_test

// The reference for the activity kinds (lifecycle, stickiness, heatmap, feature usage), computed
// per user from the rows loadRef read, with calendar arithmetic redone here with time.Date.

import (
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
)

// localDay is the calendar date of t in loc, as midnight UTC (a map key).
func localDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// refDays are the calendar days of a range: the one holding From to the one holding the last
// instant before To.
type refDays struct {
	loc   *time.Location
	first time.Time // local midnight
	n     int
}

func newRefDays(q analytics.Query) refDays {
	loc := mustZone(q.TimeZone)
	y, m, d := q.From.In(loc).Date()
	r := refDays{loc: loc, first: time.Date(y, m, d, 0, 0, 0, 0, loc)}
	for r.start(r.n).Before(q.To) {
		r.n++
	}
	return r
}

func (r refDays) start(i int) time.Time {
	y, m, d := r.first.Date()
	return time.Date(y, m, d+i, 0, 0, 0, 0, r.loc)
}

// count is the number of periods of per that start before to.
func (r refPeriods) count(to time.Time) int {
	n := 0
	for r.start(n).Before(to) {
		n++
	}
	return n
}

func (ref *refData) lifecycle(q analytics.LifecycleQuery) []analytics.LifecyclePeriod {
	loc := mustZone(q.TimeZone)
	per := newRefPeriods(q.Interval, loc, q.From)
	n := per.count(q.To)
	out := make([]analytics.LifecyclePeriod, n)
	for p := range out {
		out[p].Start = per.start(p)
	}
	for _, u := range ref.users {
		if !u.inPopulation(q.Filters) {
			continue
		}
		active := map[int]bool{}
		var first *time.Time
		for _, t := range u.events(q.Event, q.Filters) {
			if !t.Before(q.To) {
				continue
			}
			if first == nil || t.Before(*first) {
				first = &t
			}
			// The period of t, counted from the one before the range.
			for p := -1; p < n; p++ {
				if !t.Before(per.start(p)) && t.Before(per.start(p+1)) {
					active[p] = true
				}
			}
		}
		if first == nil {
			continue
		}
		firstP := math.MinInt
		for p := -1; p < n; p++ {
			if !first.Before(per.start(p)) && first.Before(per.start(p+1)) {
				firstP = p
			}
		}
		for p := range n {
			switch {
			case active[p] && firstP == p:
				out[p].New++
			case active[p] && active[p-1]:
				out[p].Returning++
			case active[p]:
				out[p].Resurrecting++
			case active[p-1]:
				out[p].Dormant--
			}
		}
	}
	for p := range out {
		o := &out[p]
		o.Active = o.New + o.Returning + o.Resurrecting
		if o.Dormant != 0 {
			r := float64(o.New+o.Resurrecting) / float64(-o.Dormant)
			o.QuickRatio = &r
		}
	}
	return out
}

// stickinessWant is the reference's daily series and distribution.
type stickinessWant struct {
	days    []analytics.ActiveUsers
	periods []analytics.StickinessPeriod
}

func (ref *refData) stickiness(q analytics.StickinessQuery) stickinessWant {
	days := newRefDays(q.Query)
	per := newRefPeriods(q.Period, days.loc, q.From)
	np := per.count(q.To)
	daily := make([]analytics.ActiveUsers, days.n)
	for i := range daily {
		daily[i].Day = days.start(i)
	}
	periods := make([]analytics.StickinessPeriod, np)
	for p := range periods {
		end := per.start(p + 1)
		n := 0
		for d := per.start(p); d.Before(end) && d.Before(q.To); d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, days.loc) {
			n++
		}
		periods[p] = analytics.StickinessPeriod{Start: per.start(p), Days: n, Users: make([]int64, n)}
	}
	for _, u := range ref.users {
		if !u.inPopulation(q.Filters) {
			continue
		}
		active := map[time.Time]bool{}
		for _, t := range u.events(q.Event, q.Filters) {
			if t.Before(q.To) {
				active[localDay(t, days.loc)] = true
			}
		}
		if len(active) == 0 {
			continue
		}
		for i := range daily {
			d := localDay(days.start(i), days.loc)
			var dau, wau, mau bool
			for back := 0; back < analytics.MAUDays; back++ {
				if active[d.AddDate(0, 0, -back)] {
					mau = true
					wau = wau || back < analytics.WAUDays
					dau = dau || back == 0
				}
			}
			if dau {
				daily[i].DAU++
			}
			if wau {
				daily[i].WAU++
			}
			if mau {
				daily[i].MAU++
			}
		}
		for p := range periods {
			n := 0
			for d := range active {
				local := time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, days.loc)
				if !local.Before(per.start(p)) && local.Before(per.start(p+1)) {
					n++
				}
			}
			if n > 0 {
				periods[p].Users[n-1]++
				periods[p].Active++
				periods[p].MeanDays += float64(n)
			}
		}
	}
	for i := range daily {
		if daily[i].MAU > 0 {
			daily[i].DAUOverMAU = float64(daily[i].DAU) / float64(daily[i].MAU)
		}
	}
	for p := range periods {
		if periods[p].Active > 0 {
			periods[p].MeanDays /= float64(periods[p].Active)
		}
	}
	return stickinessWant{daily, periods}
}

func (ref *refData) heatmap(q analytics.HeatmapQuery) []analytics.HeatmapSeries {
	loc := mustZone(q.TimeZone)
	type cell struct {
		events int64
		users  map[int64]bool
	}
	grids := map[string]*[168]cell{}
	totals := map[string]int64{}
	add := func(key string, slot int, user int64) {
		g := grids[key]
		if g == nil {
			g = &[168]cell{}
			grids[key] = g
		}
		if g[slot].users == nil {
			g[slot].users = map[int64]bool{}
		}
		g[slot].events++
		g[slot].users[user] = true
		totals[key]++
	}
	for _, u := range ref.users {
		if !u.inPopulation(q.Filters) {
			continue
		}
		for _, ev := range u.detailed(q.Event.Kind, q.Filters) {
			if ev.at.Before(q.From) || !ev.at.Before(q.To) || !ev.matches(q.Event) {
				continue
			}
			local := ev.at.In(loc)
			slot := (int(local.Weekday())+6)%7*24 + local.Hour()
			add("", slot, u.id)
			if q.ByActivityType {
				add(ev.typ, slot, u.id)
			}
		}
	}
	series := func(key string) analytics.HeatmapSeries {
		s := analytics.HeatmapSeries{ActivityType: key, Events: totals[key]}
		for slot := range 168 {
			c := analytics.HeatmapCell{Weekday: slot/24 + 1, Hour: slot % 24}
			if g := grids[key]; g != nil {
				c.Events, c.Users = g[slot].events, int64(len(g[slot].users))
			}
			s.Cells = append(s.Cells, c)
		}
		return s
	}
	out := []analytics.HeatmapSeries{series("")}
	var types []string
	for k := range grids {
		if k != "" {
			types = append(types, k)
		}
	}
	sort.Slice(types, func(i, j int) bool {
		if totals[types[i]] != totals[types[j]] {
			return totals[types[i]] > totals[types[j]]
		}
		return types[i] < types[j]
	})
	for _, k := range types {
		out = append(out, series(k))
	}
	return out
}

// featureUsageWant is the reference's active users and figures per feature.
type featureUsageWant struct {
	active   int64
	features []analytics.FeatureUsage
}

func (ref *refData) featureUsage(q analytics.FeatureUsageQuery) featureUsageWant {
	loc := mustZone(q.TimeZone)
	per := newRefPeriods(q.Period, loc, q.From)
	n := per.count(q.To)
	start := per.start(0)
	periodOf := func(t time.Time) int {
		for p := range n {
			if t.Before(per.start(p + 1)) {
				return p
			}
		}
		return n - 1
	}
	type figures struct {
		adopters, uses int64
	}
	byFeature := map[string]*figures{}
	get := func(f string) *figures {
		if byFeature[f] == nil {
			byFeature[f] = &figures{}
		}
		return byFeature[f]
	}
	for _, f := range q.Features {
		get(f)
	}
	var active int64
	type usage struct {
		uses    int64
		periods map[int]bool
	}
	var users []map[string]*usage
	var activeSets []map[int]bool
	for _, u := range ref.users {
		if !u.inPopulation(q.Filters) {
			continue
		}
		act := map[int]bool{}
		used := map[string]*usage{}
		for _, a := range u.activities {
			if a.at.Before(start) || !a.at.Before(q.To) {
				continue
			}
			p := periodOf(a.at)
			act[p] = true
			if a.featureIsNull || (len(q.Features) > 0 && byFeature[a.feature] == nil) {
				continue
			}
			if used[a.feature] == nil {
				used[a.feature] = &usage{periods: map[int]bool{}}
			}
			used[a.feature].uses++
			used[a.feature].periods[p] = true
		}
		if len(act) == 0 {
			continue
		}
		active++
		for f, us := range used {
			fig := get(f)
			fig.adopters++
			fig.uses += us.uses
		}
		users = append(users, used)
		activeSets = append(activeSets, act)
	}
	var names []string
	if len(q.Features) > 0 {
		names = q.Features
	} else {
		for f := range byFeature {
			names = append(names, f)
		}
		sort.Slice(names, func(i, j int) bool {
			a, b := byFeature[names[i]].adopters, byFeature[names[j]].adopters
			if a != b {
				return a > b
			}
			return names[i] < names[j]
		})
	}
	div := func(a, b int64) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	var out []analytics.FeatureUsage
	for _, f := range names {
		fig := byFeature[f]
		var aBase, aKept, nBase, nKept int64
		for i, used := range users {
			act := activeSets[i]
			for p := range act {
				if p+1 >= n {
					continue
				}
				adopter := used[f] != nil && used[f].periods[p]
				back := act[p+1]
				switch {
				case adopter && back:
					aBase++
					aKept++
				case adopter:
					aBase++
				case back:
					nBase++
					nKept++
				default:
					nBase++
				}
			}
		}
		out = append(out, analytics.FeatureUsage{
			Feature: f, Adopters: fig.adopters, Adoption: div(fig.adopters, active), Uses: fig.uses, Frequency: div(fig.uses, fig.adopters),
			AdopterRetention:    analytics.PeriodReturn{Base: aBase, Retained: aKept, Ratio: div(aKept, aBase)},
			NonAdopterRetention: analytics.PeriodReturn{Base: nBase, Retained: nKept, Ratio: div(nKept, nBase)},
		})
	}
	return featureUsageWant{active, out}
}

func compareLifecycle(t *testing.T, got *analytics.LifecycleResult, want []analytics.LifecyclePeriod) {
	t.Helper()
	if len(got.Periods) != len(want) {
		t.Fatalf("%d periods, want %d", len(got.Periods), len(want))
	}
	for i, w := range want {
		g := got.Periods[i]
		if !g.Start.Equal(w.Start) || g.New != w.New || g.Returning != w.Returning || g.Resurrecting != w.Resurrecting ||
			g.Dormant != w.Dormant || g.Active != w.Active || !optEqual(g.QuickRatio, w.QuickRatio) {
			t.Fatalf("period %d = %+v, want %+v", i, g, w)
		}
	}
}

func compareStickiness(t *testing.T, got *analytics.StickinessResult, days []analytics.ActiveUsers, periods []analytics.StickinessPeriod) {
	t.Helper()
	if len(got.Days) != len(days) || len(got.Periods) != len(periods) {
		t.Fatalf("%d days and %d periods, want %d and %d", len(got.Days), len(got.Periods), len(days), len(periods))
	}
	for i, w := range days {
		g := got.Days[i]
		if !g.Day.Equal(w.Day) || g.DAU != w.DAU || g.WAU != w.WAU || g.MAU != w.MAU || !closeEnough(g.DAUOverMAU, w.DAUOverMAU) {
			t.Fatalf("day %d = %+v, want %+v", i, g, w)
		}
	}
	for i, w := range periods {
		g := got.Periods[i]
		if !g.Start.Equal(w.Start) || g.Days != w.Days || g.Active != w.Active || !slices.Equal(g.Users, w.Users) || !closeEnough(g.MeanDays, w.MeanDays) {
			t.Fatalf("period %d = %+v, want %+v", i, g, w)
		}
	}
}

func compareHeatmap(t *testing.T, got *analytics.HeatmapResult, want []analytics.HeatmapSeries) {
	t.Helper()
	if len(got.Series) != len(want) {
		t.Fatalf("%d series, want %d", len(got.Series), len(want))
	}
	for i, w := range want {
		g := got.Series[i]
		if g.ActivityType != w.ActivityType || g.Events != w.Events || !slices.Equal(g.Cells, w.Cells) {
			t.Fatalf("series %d = %q with %d events, want %q with %d (or cells differ:\n%v\n%v)", i, g.ActivityType, g.Events, w.ActivityType, w.Events, g.Cells, w.Cells)
		}
	}
}

func compareFeatureUsage(t *testing.T, got *analytics.FeatureUsageResult, active int64, want []analytics.FeatureUsage) {
	t.Helper()
	if got.ActiveUsers != active || len(got.Features) != len(want) {
		t.Fatalf("%d active users and %d features, want %d and %d", got.ActiveUsers, len(got.Features), active, len(want))
	}
	ret := func(a, b analytics.PeriodReturn) bool {
		return a.Base == b.Base && a.Retained == b.Retained && closeEnough(a.Ratio, b.Ratio)
	}
	for i, w := range want {
		g := got.Features[i]
		if g.Feature != w.Feature || g.Adopters != w.Adopters || g.Uses != w.Uses || !closeEnough(g.Adoption, w.Adoption) ||
			!closeEnough(g.Frequency, w.Frequency) || !ret(g.AdopterRetention, w.AdopterRetention) || !ret(g.NonAdopterRetention, w.NonAdopterRetention) {
			t.Fatalf("feature %d = %+v, want %+v", i, g, w)
		}
	}
}

func optEqual(a, b *float64) bool {
	return (a == nil) == (b == nil) && (a == nil || closeEnough(*a, *b))
}
