package analytics_test

// An independent reference for the analytics: it loads the raw rows of the test database into Go
// and computes each result per user with plain loops, the obvious way, sharing no code with the
// package (periods, filters and orders are all re-derived here from their documented meaning).

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

var paris = mustZone("Europe/Paris")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

type refActivity struct {
	id            int64
	at            time.Time
	typ, feature  string
	featureIsNull bool
	session       *string
}

type refAppointment struct {
	id                int64
	booked, scheduled time.Time
	channel, status   string
}

type refEvaluation struct {
	id        int64
	started   time.Time
	completed *time.Time
}

type refPayment struct {
	at    time.Time
	cents int64
}

type refUser struct {
	id          int64
	created     time.Time
	beneficiary bool
	trainer     *int64
	channel     string
	region      string
	gender      string
	birthYear   int
	benID       int64
	benCreated  time.Time
	completed   *time.Time
	activities  []refActivity
	appts       []refAppointment
	evals       []refEvaluation
	payments    []refPayment
}

// refData is every row the analytics read, by user.
type refData struct {
	users []*refUser // beneficiaries and staff, by id
	byID  map[int64]*refUser
}

func loadRef(t testing.TB, d *testdb.Database) *refData {
	t.Helper()
	ctx := t.Context()
	conn := d.DB.Pool
	ref := &refData{byID: map[int64]*refUser{}}
	each := func(sql string, scan func(pgx.Rows) error) {
		rows, err := conn.Query(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	each("select id, created_at from bdc.users order by id", func(r pgx.Rows) error {
		u := &refUser{}
		if err := r.Scan(&u.id, &u.created); err != nil {
			return err
		}
		ref.users = append(ref.users, u)
		ref.byID[u.id] = u
		return nil
	})
	benByID := map[int64]*refUser{}
	each(`select id, user_id, trainer_id, acquisition_channel, region, gender, birth_year, created_at, completed_at
		from bdc.beneficiaries`, func(r pgx.Rows) error {
		var id, uid int64
		var b refUser
		if err := r.Scan(&id, &uid, &b.trainer, &b.channel, &b.region, &b.gender, &b.birthYear, &b.benCreated, &b.completed); err != nil {
			return err
		}
		u := ref.byID[uid]
		u.beneficiary, u.trainer, u.channel, u.region, u.gender, u.birthYear, u.benID, u.benCreated, u.completed =
			true, b.trainer, b.channel, b.region, b.gender, b.birthYear, id, b.benCreated, b.completed
		benByID[id] = u
		return nil
	})
	each("select id, user_id, occurred_at, activity_type, feature, session_id from bdc.user_activities", func(r pgx.Rows) error {
		var uid int64
		var a refActivity
		var feature *string
		if err := r.Scan(&a.id, &uid, &a.at, &a.typ, &feature, &a.session); err != nil {
			return err
		}
		if feature == nil {
			a.featureIsNull = true
		} else {
			a.feature = *feature
		}
		u := ref.byID[uid]
		u.activities = append(u.activities, a)
		return nil
	})
	each("select id, beneficiary_id, booked_at, scheduled_at, channel, status from bdc.appointments", func(r pgx.Rows) error {
		var bid int64
		var a refAppointment
		if err := r.Scan(&a.id, &bid, &a.booked, &a.scheduled, &a.channel, &a.status); err != nil {
			return err
		}
		u := benByID[bid]
		u.appts = append(u.appts, a)
		return nil
	})
	each("select id, beneficiary_id, started_at, completed_at from bdc.evaluations", func(r pgx.Rows) error {
		var bid int64
		var e refEvaluation
		if err := r.Scan(&e.id, &bid, &e.started, &e.completed); err != nil {
			return err
		}
		u := benByID[bid]
		u.evals = append(u.evals, e)
		return nil
	})
	each("select beneficiary_id, paid_at, amount_cents from bdc.payments", func(r pgx.Rows) error {
		var bid int64
		var p refPayment
		if err := r.Scan(&bid, &p.at, &p.cents); err != nil {
			return err
		}
		u := benByID[bid]
		u.payments = append(u.payments, p)
		return nil
	})
	return ref
}

// age is the beneficiary's age at registration: registration year in Paris minus birth year.
func (u *refUser) age() int { return u.benCreated.In(paris).Year() - u.birthYear }

func (u *refUser) attr(bd analytics.Breakdown) string {
	switch bd {
	case analytics.BreakdownAcquisitionChannel:
		return u.channel
	case analytics.BreakdownRegion:
		return u.region
	case analytics.BreakdownGender:
		return u.gender
	case analytics.BreakdownAgeBand:
		a := u.age()
		switch {
		case a < 18:
			return "0-17"
		case a < 25:
			return "18-24"
		case a < 35:
			return "25-34"
		case a < 45:
			return "35-44"
		case a < 55:
			return "45-54"
		case a < 65:
			return "55-64"
		}
		return "65+"
	}
	return ""
}

func anyOf(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }

// inPopulation applies the filters as documented on analytics.Filters.
func (u *refUser) inPopulation(f analytics.Filters) bool {
	if !u.beneficiary || !anyOf(f.Region, u.region) || !anyOf(f.AcquisitionChannel, u.channel) || !anyOf(f.Gender, u.gender) {
		return false
	}
	if len(f.TrainerID) > 0 && (u.trainer == nil || !slices.Contains(f.TrainerID, *u.trainer)) {
		return false
	}
	if len(f.AgeBand) > 0 {
		ok := false
		for _, band := range f.AgeBand {
			var lo, hi int
			if s, open := strings.CutSuffix(band, "+"); open {
				lo, _ = strconv.Atoi(s)
				hi = 1000
			} else {
				a, b, _ := strings.Cut(band, "-")
				lo, _ = strconv.Atoi(a)
				hi, _ = strconv.Atoi(b)
			}
			ok = ok || (u.age() >= lo && u.age() <= hi)
		}
		if !ok {
			return false
		}
	}
	if len(f.AppointmentChannel) > 0 {
		ok := false
		for _, a := range u.appts {
			ok = ok || slices.Contains(f.AppointmentChannel, a.channel)
		}
		return ok
	}
	return true
}

// events lists the instants of the user's events e, over all time.
func (u *refUser) events(e analytics.Event, f analytics.Filters) []time.Time {
	var out []time.Time
	for _, ev := range u.detailed(e.Kind, f) {
		if ev.matches(e) {
			out = append(out, ev.at)
		}
	}
	return out
}

// refEvent is one event with what paths and heatmaps need to know of it.
type refEvent struct {
	kind          analytics.EventKind
	at            time.Time
	id            int64
	typ, feature  string // activity only
	featureIsNull bool
	session       *string
}

// detailed lists the user's events of kind over all time, as the kind defines them.
func (u *refUser) detailed(kind analytics.EventKind, f analytics.Filters) []refEvent {
	var out []refEvent
	switch kind {
	case analytics.EventSignup:
		out = append(out, refEvent{kind: kind, at: u.created, id: u.id})
	case analytics.EventActivity:
		for _, a := range u.activities {
			out = append(out, refEvent{kind: kind, at: a.at, id: a.id, typ: a.typ, feature: a.feature, featureIsNull: a.featureIsNull, session: a.session})
		}
	case analytics.EventAppointmentBooked, analytics.EventAppointmentCompleted:
		for _, a := range u.appts {
			if !anyOf(f.AppointmentChannel, a.channel) {
				continue
			}
			if kind == analytics.EventAppointmentBooked {
				out = append(out, refEvent{kind: kind, at: a.booked, id: a.id})
			} else if a.status == "completed" {
				out = append(out, refEvent{kind: kind, at: a.scheduled, id: a.id})
			}
		}
	case analytics.EventEvaluationStarted:
		for _, e := range u.evals {
			out = append(out, refEvent{kind: kind, at: e.started, id: e.id})
		}
	case analytics.EventEvaluationCompleted:
		for _, e := range u.evals {
			if e.completed != nil {
				out = append(out, refEvent{kind: kind, at: *e.completed, id: e.id})
			}
		}
	case analytics.EventProgrammeCompleted:
		if u.completed != nil {
			out = append(out, refEvent{kind: kind, at: *u.completed, id: u.benID})
		}
	default:
		panic("reference: unknown event " + kind)
	}
	return out
}

// matches reports whether ev is an event e selects.
func (ev refEvent) matches(e analytics.Event) bool {
	if ev.kind != e.Kind {
		return false
	}
	return (e.ActivityType == "" || ev.typ == e.ActivityType) && (e.Feature == "" || (!ev.featureIsNull && ev.feature == e.Feature))
}

// refPeriods re-derives the cohort periods: calendar days, Monday weeks or months in loc.
type refPeriods struct {
	period analytics.Period
	loc    *time.Location
	first  time.Time // local midnight of the first period
}

func newRefPeriods(p analytics.Period, loc *time.Location, from time.Time) refPeriods {
	l := from.In(loc)
	y, m, d := l.Date()
	switch p {
	case analytics.PeriodMonth:
		d = 1
	case analytics.PeriodWeek:
		for time.Date(y, m, d, 12, 0, 0, 0, loc).Weekday() != time.Monday {
			d--
		}
	}
	return refPeriods{period: p, loc: loc, first: time.Date(y, m, d, 0, 0, 0, 0, loc)}
}

// start is the local midnight that begins period n.
func (r refPeriods) start(n int) time.Time {
	y, m, d := r.first.Date()
	switch r.period {
	case analytics.PeriodMonth:
		return time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, r.loc)
	case analytics.PeriodWeek:
		return time.Date(y, m, d+7*n, 0, 0, 0, 0, r.loc)
	}
	return time.Date(y, m, d+n, 0, 0, 0, 0, r.loc)
}

// index finds the period holding t by walking the periods: -1 before the first.
func (r refPeriods) index(t time.Time) int {
	if t.Before(r.first) {
		return -1
	}
	// Jump close below, then walk: the estimate never overshoots by two periods.
	est := int(t.Sub(r.first).Hours() / 24)
	switch r.period {
	case analytics.PeriodWeek:
		est /= 7
	case analytics.PeriodMonth:
		est /= 31
	}
	n := max(0, est-2)
	for !t.Before(r.start(n + 1)) {
		n++
	}
	return n
}

type refCohortKey struct {
	bd string
	c  int
}

// refRetention computes a retention table per user.
func (ref *refData) retention(q analytics.RetentionQuery) []analytics.RetentionCohort {
	loc := mustZone(q.TimeZone)
	per := newRefPeriods(q.Period, loc, q.From)
	nc := 0
	for per.start(nc).Before(q.To) {
		nc++
	}
	rangeStart := per.start(0)
	sizes := map[refCohortKey]int64{}
	back := map[refCohortKey][]int64{}
	totals := map[string]int64{}
	for _, u := range ref.users {
		if !u.inPopulation(q.Filters) {
			continue
		}
		bd := u.attr(q.Breakdown)
		var cohorts []int
		targets := u.events(q.TargetEntity, q.Filters)
		if q.RetentionType == analytics.RetentionFirstTime {
			var first *time.Time
			for _, t := range targets {
				if t.Before(q.To) && (first == nil || t.Before(*first)) {
					first = &t
				}
			}
			if first != nil && !first.Before(rangeStart) {
				cohorts = append(cohorts, per.index(*first))
			}
		} else {
			seen := map[int]bool{}
			for _, t := range targets {
				if !t.Before(rangeStart) && t.Before(q.To) && !seen[per.index(t)] {
					seen[per.index(t)] = true
					cohorts = append(cohorts, per.index(t))
				}
			}
		}
		returned := map[int]bool{}
		for _, t := range u.events(q.ReturningEntity, q.Filters) {
			if !t.Before(rangeStart) && t.Before(q.To) {
				returned[per.index(t)] = true
			}
		}
		for _, c := range cohorts {
			k := refCohortKey{bd, c}
			sizes[k]++
			totals[bd]++
			last := min(q.TotalIntervals-1, nc-1-c)
			if back[k] == nil {
				back[k] = make([]int64, last+1)
			}
			for i := 1; i <= last; i++ {
				came := returned[c+i]
				if q.Cumulative {
					came = false
					for j := i; j <= last; j++ {
						came = came || returned[c+j]
					}
				}
				if came {
					back[k][i]++
				}
			}
		}
	}
	var bds []string
	for bd := range totals {
		bds = append(bds, bd)
	}
	if q.Breakdown == analytics.BreakdownNone && len(bds) == 0 {
		bds = []string{""}
	}
	sort.Slice(bds, func(i, j int) bool {
		if totals[bds[i]] != totals[bds[j]] {
			return totals[bds[i]] > totals[bds[j]]
		}
		return bds[i] < bds[j]
	})
	var out []analytics.RetentionCohort
	for _, bd := range bds {
		for c := 0; c < nc; c++ {
			k := refCohortKey{bd, c}
			size := sizes[k]
			co := analytics.RetentionCohort{Breakdown: bd, Start: per.start(c), Size: size}
			last := min(q.TotalIntervals-1, nc-1-c)
			prev := size
			for i := 0; i <= last; i++ {
				n := size
				if i > 0 && back[k] != nil {
					n = back[k][i]
				} else if i > 0 {
					n = 0
				}
				den := size
				if q.RetentionReference == analytics.ReferencePrevious {
					den = prev
				}
				r := 0.0
				if den > 0 {
					r = float64(n) / float64(den)
				}
				co.Intervals = append(co.Intervals, analytics.RetentionInterval{Index: i, Start: per.start(c + i), Count: n, Ratio: r})
				prev = n
			}
			out = append(out, co)
		}
	}
	return out
}

// refStep is a user's instants with the steps their events match there.
type refInstant struct {
	at    time.Time
	steps []bool
}

// funnel computes a funnel per user, following the documented definition of each order.
func (ref *refData) funnel(q analytics.FunnelQuery) []analytics.FunnelSeries {
	n := len(q.Series)
	w := q.Window()
	type userResult struct {
		reached int
		times   []time.Time // instants of steps 1..reached, in step order (unordered: sorted)
	}
	perBD := map[string][]userResult{}
	for _, u := range ref.users {
		if !u.inPopulation(q.Filters) {
			continue
		}
		byInstant := map[time.Time][]bool{}
		for s, e := range q.Series {
			for _, t := range u.events(e, q.Filters) {
				if t.Before(q.From) || !t.Before(q.To) {
					continue
				}
				t = t.UTC()
				if byInstant[t] == nil {
					byInstant[t] = make([]bool, n)
				}
				byInstant[t][s] = true
			}
		}
		var seq []refInstant
		for t, steps := range byInstant {
			seq = append(seq, refInstant{t, steps})
		}
		sort.Slice(seq, func(i, j int) bool { return seq[i].at.Before(seq[j].at) })

		best := userResult{}
		for i, anchor := range seq {
			var r userResult
			switch q.FunnelOrderType {
			case analytics.OrderOrdered:
				if !anchor.steps[0] {
					continue
				}
				r = userResult{reached: 1, times: []time.Time{anchor.at}}
				prev := i
				for s := 1; s < n; s++ {
					next := -1
					for j := prev + 1; j < len(seq); j++ {
						if seq[j].steps[s] {
							next = j
							break
						}
					}
					if next < 0 || seq[next].at.Sub(anchor.at) > w {
						break
					}
					r.reached++
					r.times = append(r.times, seq[next].at)
					prev = next
				}
			case analytics.OrderStrict:
				if !anchor.steps[0] {
					continue
				}
				r = userResult{reached: 1, times: []time.Time{anchor.at}}
				for s := 1; s < n; s++ {
					j := i + s
					if j >= len(seq) || !seq[j].steps[s] || seq[j].at.Sub(anchor.at) > w {
						break
					}
					r.reached++
					r.times = append(r.times, seq[j].at)
				}
			case analytics.OrderUnordered:
				for s := 0; s < n; s++ {
					for j := i; j < len(seq); j++ {
						if seq[j].at.Sub(anchor.at) > w {
							break
						}
						if seq[j].steps[s] {
							r.reached++
							r.times = append(r.times, seq[j].at)
							break
						}
					}
				}
				sort.Slice(r.times, func(a, b int) bool { return r.times[a].Before(r.times[b]) })
			}
			if r.reached > best.reached { // anchors ascend, so a tie keeps the earliest
				best = r
			}
		}
		if best.reached > 0 {
			bd := u.attr(q.Breakdown)
			perBD[bd] = append(perBD[bd], best)
		}
	}
	var bds []string
	for bd := range perBD {
		bds = append(bds, bd)
	}
	if q.Breakdown == analytics.BreakdownNone && len(bds) == 0 {
		bds = []string{""}
	}
	sort.Slice(bds, func(i, j int) bool {
		a, b := len(perBD[bds[i]]), len(perBD[bds[j]])
		if a != b {
			return a > b
		}
		return bds[i] < bds[j]
	})
	var out []analytics.FunnelSeries
	for _, bd := range bds {
		s := analytics.FunnelSeries{Breakdown: bd}
		users := perBD[bd]
		for k := 1; k <= n; k++ {
			var count int64
			var secs []float64
			for _, r := range users {
				if r.reached >= k {
					count++
					if k > 1 {
						secs = append(secs, r.times[k-1].Sub(r.times[k-2]).Seconds())
					}
				}
			}
			step := analytics.FunnelStep{Order: k - 1, Name: q.Series[k-1].String(), Count: count}
			if q.FunnelOrderType == analytics.OrderUnordered {
				step.Name = fmt.Sprintf("%d of %d steps", k, n)
			}
			first := int64(len(users))
			if first > 0 {
				step.ConversionFromFirst = float64(count) / float64(first)
				step.ConversionFromPrevious = step.ConversionFromFirst
			}
			if k > 1 {
				prev := s.Steps[k-2].Count
				step.ConversionFromPrevious = 0
				if prev > 0 {
					step.ConversionFromPrevious = float64(count) / float64(prev)
				}
				if len(secs) > 0 {
					sort.Float64s(secs)
					m := secs[len(secs)/2]
					if len(secs)%2 == 0 {
						m = (secs[len(secs)/2-1] + secs[len(secs)/2]) / 2
					}
					sum := 0.0
					for _, x := range secs {
						sum += x
					}
					avg := sum / float64(len(secs))
					step.MedianConversionTime, step.AverageConversionTime = &m, &avg
				}
			}
			s.Steps = append(s.Steps, step)
		}
		out = append(out, s)
	}
	return out
}

func closeEnough(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func compareRetention(t *testing.T, got *analytics.RetentionResult, want []analytics.RetentionCohort) {
	t.Helper()
	if len(got.Cohorts) != len(want) {
		t.Fatalf("%d cohorts, want %d", len(got.Cohorts), len(want))
	}
	for i, w := range want {
		g := got.Cohorts[i]
		if g.Breakdown != w.Breakdown || !g.Start.Equal(w.Start) || g.Size != w.Size || len(g.Intervals) != len(w.Intervals) {
			t.Fatalf("cohort %d = {%q %s size %d, %d intervals}, want {%q %s size %d, %d intervals}", i,
				g.Breakdown, g.Start, g.Size, len(g.Intervals), w.Breakdown, w.Start, w.Size, len(w.Intervals))
		}
		for k, wi := range w.Intervals {
			gi := g.Intervals[k]
			if gi.Index != wi.Index || !gi.Start.Equal(wi.Start) || gi.Count != wi.Count || !closeEnough(gi.Ratio, wi.Ratio) {
				t.Fatalf("cohort %d (%q %s) interval %d = %+v, want %+v", i, w.Breakdown, w.Start, k, gi, wi)
			}
		}
	}
}

func compareFunnel(t *testing.T, got *analytics.FunnelResult, want []analytics.FunnelSeries) {
	t.Helper()
	if len(got.Series) != len(want) {
		t.Fatalf("%d series, want %d", len(got.Series), len(want))
	}
	optEq := func(a, b *float64) bool {
		return (a == nil) == (b == nil) && (a == nil || closeEnough(*a, *b))
	}
	show := func(p *float64) string {
		if p == nil {
			return "nil"
		}
		return strconv.FormatFloat(*p, 'f', 3, 64)
	}
	for i, w := range want {
		g := got.Series[i]
		if g.Breakdown != w.Breakdown || len(g.Steps) != len(w.Steps) {
			t.Fatalf("series %d = %q with %d steps, want %q with %d", i, g.Breakdown, len(g.Steps), w.Breakdown, len(w.Steps))
		}
		for k, ws := range w.Steps {
			gs := g.Steps[k]
			if gs.Order != ws.Order || gs.Name != ws.Name || gs.Count != ws.Count ||
				!closeEnough(gs.ConversionFromFirst, ws.ConversionFromFirst) ||
				!closeEnough(gs.ConversionFromPrevious, ws.ConversionFromPrevious) ||
				!optEq(gs.MedianConversionTime, ws.MedianConversionTime) || !optEq(gs.AverageConversionTime, ws.AverageConversionTime) {
				t.Fatalf("series %q step %d = {%s n=%d first=%.6f prev=%.6f median=%s avg=%s}, want {%s n=%d first=%.6f prev=%.6f median=%s avg=%s}",
					w.Breakdown, k, gs.Name, gs.Count, gs.ConversionFromFirst, gs.ConversionFromPrevious, show(gs.MedianConversionTime), show(gs.AverageConversionTime),
					ws.Name, ws.Count, ws.ConversionFromFirst, ws.ConversionFromPrevious, show(ws.MedianConversionTime), show(ws.AverageConversionTime))
			}
		}
	}
}

// resetRollup empties the rollup and its watermark, as before the first refresh.
func resetRollup(ctx context.Context, t testing.TB, d *testdb.Database) {
	t.Helper()
	if _, err := d.DB.Pool.Exec(ctx, "delete from bdc_analytics.user_activity_daily; delete from bdc_analytics.rollup_watermark"); err != nil {
		t.Fatal(err)
	}
}
