// Package kpitest is the reference the KPI tests compare with: every KPI computed by brute force
// in Go over the raw rows of a test database, written from the KPIs' definitions in words. It
// serves tests only.
package kpitest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

type user struct {
	ID        int64
	Role      string
	CreatedAt time.Time
}

type beneficiary struct {
	ID, UserID         int64
	TrainerID          *int64
	Status             string
	AcquisitionChannel string
	Region             string
	CreatedAt          time.Time
	CompletedAt        *time.Time
}

type appointment struct {
	ID, BeneficiaryID, TrainerID int64
	ScheduledAt                  time.Time
	DurationMinutes              int32
	Channel, Status              string
}

type evaluation struct {
	BeneficiaryID int64
	Score         *float64
	MaxScore      float64
	StartedAt     time.Time
	CompletedAt   *time.Time
}

type activity struct {
	UserID       int64
	OccurredAt   time.Time
	ActivityType string
	DurationMs   *int32
}

type availability struct {
	TrainerID        int64
	Day              time.Time
	AvailableMinutes int32
}

type payment struct {
	AmountCents int64
	Currency    string
	PaidAt      time.Time
}

type feedbackRow struct {
	Score       int16
	SubmittedAt time.Time
}

type ticket struct {
	Category   string
	OpenedAt   time.Time
	ResolvedAt *time.Time
}

// World is the raw rows of a test database, indexed for the brute-force computations.
type World struct {
	users         []user
	beneficiaries []beneficiary
	byID          map[int64]beneficiary
	byUser        map[int64][]activity
	byBeneficiary map[int64][]appointment
	appointments  []appointment
	evaluations   []evaluation
	activities    []activity
	availability  []availability
	payments      []payment
	feedback      []feedbackRow
	tickets       []ticket
}

func load[T any](t testing.TB, d *testdb.Database, sql string) []T {
	t.Helper()
	rows, err := d.DB.Pool.Query(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[T])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// Load reads the raw rows of every canonical table of d.
func Load(t testing.TB, d *testdb.Database) *World {
	w := &World{
		users:         load[user](t, d, "select id, role, created_at from bdc.users"),
		beneficiaries: load[beneficiary](t, d, "select id, user_id, trainer_id, status, acquisition_channel, region, created_at, completed_at from bdc.beneficiaries"),
		appointments:  load[appointment](t, d, "select id, beneficiary_id, trainer_id, scheduled_at, duration_minutes, channel, status from bdc.appointments"),
		evaluations:   load[evaluation](t, d, "select beneficiary_id, score, max_score, started_at, completed_at from bdc.evaluations"),
		activities:    load[activity](t, d, "select user_id, occurred_at, activity_type, duration_ms from bdc.user_activities"),
		availability:  load[availability](t, d, "select trainer_id, day::timestamp, available_minutes from bdc.trainer_availability"),
		payments:      load[payment](t, d, "select amount_cents, currency, paid_at from bdc.payments"),
		feedback:      load[feedbackRow](t, d, "select score, submitted_at from bdc.feedback"),
		tickets:       load[ticket](t, d, "select category, opened_at, resolved_at from bdc.support_tickets"),
	}
	w.byUser = map[int64][]activity{}
	for _, a := range w.activities {
		w.byUser[a.UserID] = append(w.byUser[a.UserID], a)
	}
	w.byBeneficiary = map[int64][]appointment{}
	for _, a := range w.appointments {
		w.byBeneficiary[a.BeneficiaryID] = append(w.byBeneficiary[a.BeneficiaryID], a)
	}
	w.byID = map[int64]beneficiary{}
	for _, b := range w.beneficiaries {
		w.byID[b.ID] = b
	}
	return w
}

// in reports whether t is in (from, to].
func in(t, from, to time.Time) bool { return t.After(from) && !t.After(to) }

func (w *World) keep(b beneficiary, p kpi.Params) bool {
	if len(p.Region) > 0 && !slices.Contains(p.Region, b.Region) {
		return false
	}
	if len(p.AcquisitionChannel) > 0 && !slices.Contains(p.AcquisitionChannel, b.AcquisitionChannel) {
		return false
	}
	if len(p.TrainerID) > 0 && (b.TrainerID == nil || !slices.Contains(p.TrainerID, *b.TrainerID)) {
		return false
	}
	if len(p.AppointmentChannel) > 0 {
		for _, a := range w.byBeneficiary[b.ID] {
			if slices.Contains(p.AppointmentChannel, a.Channel) {
				return true
			}
		}
		return false
	}
	return true
}

func ratio(n, d int) float64 {
	if d == 0 {
		return math.NaN()
	}
	return float64(n) / float64(d)
}

// Hist is a histogram: cumulative bucket counts, sum and count.
type Hist struct {
	Buckets []uint64
	Sum     float64
	Count   uint64
}

func histogram(values []float64, bounds []float64) Hist {
	h := Hist{Buckets: make([]uint64, len(bounds))}
	for _, v := range values {
		for i, b := range bounds {
			if v <= b {
				h.Buckets[i]++
			}
		}
		h.Sum += v
		h.Count++
	}
	return h
}

// Expected computes every KPI at p by brute force, from the KPIs' help texts: it maps
// "name{label values}" to a float64, or a Hist for histograms.
func (w *World) Expected(p kpi.Params) map[string]any {
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		panic(err)
	}
	at := p.At
	out := map[string]any{}
	put := func(name string, v any, labels ...string) {
		out[name+"{"+strings.Join(labels, ",")+"}"] = v
	}
	local := at.In(loc)
	dayStart := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	dayEnd := time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, loc)

	// Real time.
	online := map[int64]bool{}
	byType := map[string]int{}
	for _, a := range w.activities {
		if in(a.OccurredAt, at.Add(-5*time.Minute), at) {
			online[a.UserID] = true
		}
		if !a.OccurredAt.After(at) {
			byType[a.ActivityType]++
		}
	}
	put("bdc_users_online", float64(len(online)))
	for typ, n := range byType {
		put("bdc_activity_events_total", float64(n), typ)
	}
	today := map[string]int{"scheduled": 0, "completed": 0, "cancelled": 0, "no_show": 0}
	nextHour := 0
	for _, a := range w.appointments {
		if !a.ScheduledAt.Before(dayStart) && a.ScheduledAt.Before(dayEnd) {
			today[a.Status]++
		}
		if a.Status == "scheduled" && in(a.ScheduledAt, at, at.Add(time.Hour)) {
			nextHour++
		}
	}
	for s, n := range today {
		put("bdc_appointments_today", float64(n), s)
	}
	put("bdc_appointments_next_hour", float64(nextHour))

	// Business.
	for _, win := range []struct {
		name string
		d    time.Duration
	}{{"1d", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}} {
		active := map[int64]bool{}
		for _, a := range w.activities {
			if in(a.OccurredAt, at.Add(-win.d), at) {
				active[a.UserID] = true
			}
		}
		put("bdc_users_active", float64(len(active)), win.name)
	}
	roles := map[string]int{"beneficiary": 0, "trainer": 0, "admin": 0}
	for _, u := range w.users {
		if !u.CreatedAt.After(at) {
			roles[u.Role]++
		}
	}
	for r, n := range roles {
		put("bdc_users", float64(n), r)
	}
	statuses := map[string]int{"prospect": 0, "active": 0, "completed": 0, "abandoned": 0}
	for _, b := range w.beneficiaries {
		if !b.CreatedAt.After(at) && w.keep(b, p) {
			statuses[b.Status]++
		}
	}
	for s, n := range statuses {
		put("bdc_beneficiaries", float64(n), s)
	}
	userActive := func(userID int64, from, to time.Time) bool { // [from, to)
		for _, a := range w.byUser[userID] {
			if !a.OccurredAt.Before(from) && a.OccurredAt.Before(to) {
				return true
			}
		}
		return false
	}
	for _, r := range []struct {
		period string
		ages   []int
	}{{"week", []int{1, 2, 4, 8, 12}}, {"month", []int{1, 2, 3, 6}}} {
		for _, age := range r.ages {
			// The current period's first day, then whole periods back from it, in local time.
			var shift func(n int) time.Time
			if r.period == "week" {
				monday := local.Day() - (int(local.Weekday())+6)%7
				shift = func(n int) time.Time { return time.Date(local.Year(), local.Month(), monday-7*n, 0, 0, 0, 0, loc) }
			} else {
				shift = func(n int) time.Time { return time.Date(local.Year(), local.Month()-time.Month(n), 1, 0, 0, 0, 0, loc) }
			}
			cohortFrom, cohortTo, backFrom, backTo := shift(age+1), shift(age), shift(1), shift(0)
			size, back := 0, 0
			for _, b := range w.beneficiaries {
				if b.CreatedAt.Before(cohortFrom) || !b.CreatedAt.Before(cohortTo) || !w.keep(b, p) {
					continue
				}
				size++
				if userActive(b.UserID, backFrom, backTo) {
					back++
				}
			}
			put("bdc_retention_ratio", ratio(back, size), r.period, fmt.Sprint(age))
		}
	}
	var registered, firstAppt, evalDone, progDone int
	for _, b := range w.beneficiaries {
		if b.CreatedAt.Before(at.Add(-120*24*time.Hour)) || !b.CreatedAt.Before(at.Add(-30*24*time.Hour)) || !w.keep(b, p) {
			continue
		}
		registered++
		for _, a := range w.byBeneficiary[b.ID] {
			if a.Status == "completed" && !a.ScheduledAt.After(at) {
				firstAppt++
				break
			}
		}
		for _, e := range w.evaluations {
			if e.BeneficiaryID == b.ID && e.CompletedAt != nil && !e.CompletedAt.After(at) {
				evalDone++
				break
			}
		}
		if b.CompletedAt != nil && !b.CompletedAt.After(at) {
			progDone++
		}
	}
	put("bdc_conversion_ratio", ratio(firstAppt, registered), "first_appointment")
	put("bdc_conversion_ratio", ratio(evalDone, registered), "evaluation_completed")
	put("bdc_conversion_ratio", ratio(progDone, registered), "programme_completed")
	active30 := map[int64]bool{}
	for _, a := range w.activities {
		if in(a.OccurredAt, at.Add(-30*24*time.Hour), at) {
			active30[a.UserID] = true
		}
	}
	revenue := map[string]int64{}
	for _, pay := range w.payments {
		if in(pay.PaidAt, at.Add(-30*24*time.Hour), at) {
			revenue[pay.Currency] += pay.AmountCents
		}
	}
	for cur, cents := range revenue {
		v := math.NaN()
		if len(active30) > 0 {
			v = float64(cents) / 100 / float64(len(active30))
		}
		put("bdc_revenue_per_active_user", v, cur)
	}

	// Operational.
	for _, win := range []struct {
		name string
		d    time.Duration
	}{{"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}} {
		counts := map[string]int{}
		for _, a := range w.appointments {
			if !in(a.ScheduledAt, at.Add(-win.d), at) || !w.keep(w.byID[a.BeneficiaryID], p) {
				continue
			}
			if len(p.AppointmentChannel) > 0 && !slices.Contains(p.AppointmentChannel, a.Channel) {
				continue
			}
			counts[a.Status]++
		}
		put("bdc_appointment_completion_ratio", ratio(counts["completed"], counts["completed"]+counts["no_show"]+counts["cancelled"]), win.name)
		put("bdc_appointment_noshow_ratio", ratio(counts["no_show"], counts["completed"]+counts["no_show"]), win.name)
	}
	var scores []float64
	started, completed := 0, 0
	for _, e := range w.evaluations {
		if !w.keep(w.byID[e.BeneficiaryID], p) {
			continue
		}
		if e.CompletedAt != nil && e.Score != nil && in(*e.CompletedAt, at.Add(-90*24*time.Hour), at) {
			scores = append(scores, 100**e.Score/e.MaxScore)
		}
		if in(e.StartedAt, at.Add(-90*24*time.Hour), at.Add(-7*24*time.Hour)) {
			started++
			if e.CompletedAt != nil && !e.CompletedAt.After(at) {
				completed++
			}
		}
	}
	def, _ := kpi.ByName("bdc_evaluation_score")
	put("bdc_evaluation_score", histogram(scores, def.Buckets))
	put("bdc_evaluation_completion_ratio", ratio(completed, started))
	localDay := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	for _, win := range []struct {
		name        string
		first, last int
	}{{"7d", -7, -1}, {"next_7d", 0, 6}} {
		first, last := localDay.AddDate(0, 0, win.first), localDay.AddDate(0, 0, win.last)
		from := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, loc)
		to := time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, loc)
		booked, avail := 0, 0
		for _, a := range w.appointments {
			if len(p.TrainerID) > 0 && !slices.Contains(p.TrainerID, a.TrainerID) {
				continue // utilization is per trainer: only the trainer filter applies
			}
			if a.Status != "cancelled" && !a.ScheduledAt.Before(from) && a.ScheduledAt.Before(to) {
				booked += int(a.DurationMinutes)
			}
		}
		for _, av := range w.availability {
			if len(p.TrainerID) > 0 && !slices.Contains(p.TrainerID, av.TrainerID) {
				continue
			}
			if !av.Day.Before(first) && !av.Day.After(last) {
				avail += int(av.AvailableMinutes)
			}
		}
		put("bdc_trainer_utilization_ratio", ratio(booked, avail), win.name)
	}

	// Experience.
	sum, n := 0, 0
	for _, f := range w.feedback {
		if in(f.SubmittedAt, at.Add(-30*24*time.Hour), at) {
			sum += int(f.Score)
			n++
		}
	}
	put("bdc_satisfaction_score", ratio(sum, n))
	var resolution []float64
	open := map[string]int{}
	for _, tk := range w.tickets {
		if tk.ResolvedAt != nil && in(*tk.ResolvedAt, at.Add(-30*24*time.Hour), at) {
			resolution = append(resolution, tk.ResolvedAt.Sub(tk.OpenedAt).Seconds())
		}
		if !tk.OpenedAt.After(at) && (tk.ResolvedAt == nil || tk.ResolvedAt.After(at)) {
			open[tk.Category]++
		}
	}
	def, _ = kpi.ByName("bdc_support_resolution_seconds")
	put("bdc_support_resolution_seconds", histogram(resolution, def.Buckets))
	for c, k := range open {
		put("bdc_support_tickets_open", float64(k), c)
	}
	var loads []float64
	for _, a := range w.activities {
		if (a.ActivityType == "page_view" || a.ActivityType == "resource_view") && a.DurationMs != nil && in(a.OccurredAt, at.Add(-time.Hour), at) {
			loads = append(loads, float64(*a.DurationMs)/1000)
		}
	}
	def, _ = kpi.ByName("bdc_page_load_seconds")
	put("bdc_page_load_seconds", histogram(loads, def.Buckets))
	return out
}

// SameFloat compares with a relative tolerance of 1e-9; NaN equals NaN (no data on both sides).
func SameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

// Compare reports every difference between got and the reference want.
func Compare(t testing.TB, got, want map[string]any) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: missing, want %v", k, want[k])
			continue
		}
		switch w := want[k].(type) {
		case float64:
			if gf, ok := g.(float64); !ok || !SameFloat(gf, w) {
				t.Errorf("%s = %v, want %v", k, g, w)
			}
		case Hist:
			if gh, ok := g.(Hist); !ok || !slices.Equal(gh.Buckets, w.Buckets) || gh.Count != w.Count || !SameFloat(gh.Sum, w.Sum) {
				t.Errorf("%s = %+v, want %+v", k, g, w)
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected sample %v", k, got[k])
		}
	}
}

// LastActivityBefore is the time of the latest activity before t: a minute after it, someone is
// online.
func (w *World) LastActivityBefore(t time.Time) time.Time {
	var last time.Time
	for _, a := range w.activities {
		if a.OccurredAt.Before(t) && a.OccurredAt.After(last) {
			last = a.OccurredAt
		}
	}
	return last
}
