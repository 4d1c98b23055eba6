package analytics

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestSQLArgs(t *testing.T) {
	a := &sqlArgs{}
	if p := a.add("x"); p != "$1" {
		t.Fatalf("first placeholder %s", p)
	}
	if p := a.addTyped(int64(3), "bigint"); p != "$2::bigint" {
		t.Fatalf("typed placeholder %s", p)
	}
	l := a.lazy("tz", "text")
	if len(a.vals) != 2 {
		t.Fatal("a lazy value was bound before use")
	}
	first := l.String()
	if first != "$3::text" || l.String() != first || len(a.vals) != 3 {
		t.Fatalf("lazy value bound as %s then %s with %d values", first, l.String(), len(a.vals))
	}
	if got := inList(a, "b.region", []string(nil), "text"); got != "" {
		t.Fatalf("empty list gave %q", got)
	}
	if got := inList(a, "b.region", []string{"a", "b"}, "text"); got != "b.region = any($4::text[])" {
		t.Fatalf("list gave %q", got)
	}
	for _, c := range []struct{ got, want string }{
		{and(), "true"}, {and("", "x"), "x"}, {and("x", "", "y"), "(x and y)"},
		{or(), "false"}, {or("x"), "x"}, {or("x", "y", ""), "(x or y)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// checkBound verifies that the statement refers to exactly its arguments, and that no filter
// value made its way into the SQL text.
func checkBound(t testing.TB, ex Executed, values ...string) {
	t.Helper()
	seen := map[int]bool{}
	for _, m := range regexp.MustCompile(`\$(\d+)`).FindAllStringSubmatch(ex.SQL, -1) {
		n, _ := strconv.Atoi(m[1])
		seen[n] = true
	}
	if len(seen) != len(ex.Args) {
		t.Fatalf("statement uses %d placeholders for %d arguments:\n%s", len(seen), len(ex.Args), ex)
	}
	for i := 1; i <= len(ex.Args); i++ {
		if !seen[i] {
			t.Fatalf("argument $%d is never used:\n%s", i, ex)
		}
	}
	for _, v := range values {
		if strings.Contains(ex.SQL, v) {
			t.Fatalf("value %q is in the SQL text:\n%s", v, ex.SQL)
		}
	}
}

func TestValuesAreBound(t *testing.T) {
	evil := "x'); drop table bdc.users; --"
	f := Filters{Region: []string{evil}, AcquisitionChannel: []string{evil}, Gender: []string{evil},
		AgeBand: []string{"25-34"}, TrainerID: []int64{7}, AppointmentChannel: []string{evil}}
	base := Query{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Filters: f}
	target := Event{Kind: EventActivity, ActivityType: evil, Feature: evil + "2"}
	parisBase := base // ends at midnight in Paris: the rollup can hold its every day
	parisBase.To = time.Date(2026, 3, 1, 0, 0, 0, 0, platformLocation)
	for _, period := range []Period{PeriodDay, PeriodWeek, PeriodMonth} {
		for _, typ := range []RetentionType{RetentionFirstTime, RetentionRecurring} {
			for _, covered := range []*time.Time{nil, ptr(time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC))} {
				q := RetentionQuery{Query: base, Period: period, RetentionType: typ, TargetEntity: target,
					ReturningEntity: Event{Kind: EventActivity, Feature: evil + "3"}, Breakdown: BreakdownAgeBand}
				if err := q.Validate(); err != nil {
					t.Fatal(err)
				}
				checkBound(t, q.build(covered), evil)
			}
		}
	}
	for _, order := range []FunnelOrder{OrderOrdered, OrderStrict, OrderUnordered} {
		q := FunnelQuery{Query: base, FunnelOrderType: order, Breakdown: BreakdownRegion,
			Series: []Event{target, {Kind: EventAppointmentCompleted}, {Kind: EventActivity}, {Kind: EventActivity, Feature: evil}}}
		if err := q.Validate(); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*time.Time{nil, ptr(time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC))} {
			checkBound(t, q.build(c), evil)
		}
	}
	// The other kinds, with every parameter that reaches the statement set to the evil value.
	covered := ptr(time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC))
	evilEvent := Event{Kind: EventActivity, ActivityType: evil, Feature: evil + "4"}
	for _, c := range []*time.Time{nil, covered} {
		for _, q := range []interface {
			Validate() error
			build(*time.Time) Executed
		}{
			&LifecycleQuery{Query: base, Event: evilEvent},
			&HeatmapQuery{Query: base, Event: evilEvent, ByActivityType: true},
			&HeatmapQuery{Query: base, Event: Event{Kind: EventAppointmentBooked}},
			&HeatmapQuery{Query: base}, // the hourly rollup, with covered
			&StickinessQuery{Query: base, Event: evilEvent, Period: PeriodMonth},
			wholeRollup{&LifecycleQuery{Query: parisBase}},
			wholeRollup{&StickinessQuery{Query: parisBase}},
			&EngagementQuery{Query: base, Breakdown: BreakdownAgeBand},
			&SegmentsQuery{Query: base, IncludeMembers: true},
			&SegmentsQuery{Query: base, Method: SegmentKMeans},
			withBits{&FeatureUsageQuery{Query: base, Features: []string{evil, "documents"}}, []string{"messaging", "documents", evil}},
			withBits{&FeatureUsageQuery{Query: base}, []string{"messaging", evil}},
		} {
			if err := q.Validate(); err != nil {
				t.Fatal(err)
			}
			checkBound(t, q.build(c), evil)
		}
	}
	for _, q := range []interface {
		Validate() error
		build() Executed
	}{
		&PathsQuery{Query: base, StartPoint: evilEvent, EndPoint: Event{Kind: EventActivity, Feature: evil},
			ExcludeEvents: []Event{{Kind: EventActivity, ActivityType: evil}}, MinEdgeWeight: 2, MaxEdgeWeight: 3},
		&PathsQuery{Query: base, GroupBy: GroupByUser, IncludeEventTypes: EventKinds, StartPoint: Event{Kind: EventSignup},
			EndPoint: Event{Kind: EventActivity, Feature: evil}, ExcludeEvents: []Event{{Kind: EventAppointmentBooked}}},
	} {
		if err := q.Validate(); err != nil {
			t.Fatal(err)
		}
		checkBound(t, q.build(), evil)
	}
}

// wholeRollup builds a query with the daily rollup covering its whole range.
type wholeRollup struct {
	q interface {
		Validate() error
		build(*time.Time) Executed
	}
}

func (w wholeRollup) Validate() error { return w.q.Validate() }
func (w wholeRollup) build(*time.Time) Executed {
	return w.q.build(ptr(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)))
}

// withBits builds a feature usage query with the features of the dictionary of bits given.
type withBits struct {
	q     *FeatureUsageQuery
	known []string
}

func (w withBits) Validate() error { return w.q.Validate() }
func (w withBits) build(covered *time.Time) Executed {
	return w.q.build(covered, w.known)
}

// sessionPaths builds a paths query from the session rollup.
type sessionPaths struct{ *PathsQuery }

func (q sessionPaths) build(covered *time.Time) Executed { return q.buildSessions(covered) }

// TestGoldenSQL keeps the statements under review: `go test -run TestGoldenSQL -update`
// rewrites testdata/*.sql after a deliberate change.
func TestGoldenSQL(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	parisTo := time.Date(2026, 6, 1, 0, 0, 0, 0, platformLocation) // the rollup's whole last day
	filters := Filters{Region: []string{"bretagne"}, AgeBand: []string{"25-34", "65+"}, AppointmentChannel: []string{"video"}}
	steps := []Event{{Kind: EventSignup}, {Kind: EventActivity, ActivityType: "booking"}, {Kind: EventAppointmentBooked}, {Kind: EventAppointmentCompleted}}
	golden := map[string]func() (Executed, error){
		"retention_weekly_first_time_rollup": func() (Executed, error) {
			q := RetentionQuery{Query: Query{From: from, To: to}}
			err := q.Validate()
			return q.build(ptr(time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC))), err
		},
		"retention_monthly_first_time_lookup": func() (Executed, error) {
			q := RetentionQuery{Query: Query{From: from, To: time.Date(2026, 3, 1, 0, 0, 0, 0, platformLocation), Filters: filters},
				Period: PeriodMonth, ReturningEntity: Event{Kind: EventActivity, Feature: "documents"}, Breakdown: BreakdownGender}
			err := q.Validate()
			return q.build(ptr(time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC))), err
		},
		"retention_monthly_recurring_filtered_raw": func() (Executed, error) {
			q := RetentionQuery{Query: Query{From: from, To: to, TimeZone: "America/New_York", Filters: filters}, Period: PeriodMonth,
				RetentionType: RetentionRecurring, TargetEntity: Event{Kind: EventActivity, Feature: "documents"},
				ReturningEntity: Event{Kind: EventAppointmentCompleted}, Breakdown: BreakdownAgeBand}
			err := q.Validate()
			return q.build(nil), err
		},
		"funnel_ordered": func() (Executed, error) {
			q := FunnelQuery{Query: Query{From: from, To: to, Filters: filters}, Series: steps, Breakdown: BreakdownAcquisitionChannel}
			err := q.Validate()
			return q.build(nil), err
		},
		"funnel_ordered_windows": func() (Executed, error) {
			// A first step that happens many times per user: the window plan.
			q := FunnelQuery{Query: Query{From: from, To: to, Filters: filters}, Series: append([]Event{{Kind: EventActivity, ActivityType: "login"}}, steps[1:]...),
				Breakdown: BreakdownAcquisitionChannel}
			err := q.Validate()
			return q.build(nil), err
		},
		"funnel_ordered_instants_rollup": func() (Executed, error) {
			// Activity steps read from the instants rollup, cut to a range inside months, with
			// raw rows after its coverage; the appointment step reads its table.
			q := FunnelQuery{Query: Query{From: from.Add(36 * time.Hour), To: to.Add(-50 * time.Hour), Filters: filters},
				Series: []Event{{Kind: EventActivity, ActivityType: "login"}, {Kind: EventActivity, Feature: "calendar"},
					{Kind: EventAppointmentBooked}, {Kind: EventActivity, ActivityType: "login"}}}
			err := q.Validate()
			return q.build(ptr(time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC))), err
		},
		"funnel_strict": func() (Executed, error) {
			q := FunnelQuery{Query: Query{From: from, To: to}, Series: steps, FunnelOrderType: OrderStrict}
			err := q.Validate()
			return q.build(nil), err
		},
		"funnel_unordered": func() (Executed, error) {
			q := FunnelQuery{Query: Query{From: from, To: to}, Series: steps, FunnelOrderType: OrderUnordered}
			err := q.Validate()
			return q.build(nil), err
		},
	}
	covered := ptr(time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC))
	for name, q := range map[string]interface {
		Validate() error
		build(*time.Time) Executed
	}{
		"lifecycle_weekly_rollup":            &LifecycleQuery{Query: Query{From: from, To: to}},
		"lifecycle_monthly_appointments_raw": &LifecycleQuery{Query: Query{From: from, To: to, TimeZone: "UTC", Filters: filters}, Interval: PeriodMonth, Event: Event{Kind: EventAppointmentCompleted}},
		"stickiness_weekly_rollup":           &StickinessQuery{Query: Query{From: from, To: to}},
		"stickiness_monthly_rollup":          &StickinessQuery{Query: Query{From: from, To: to}, Period: PeriodMonth},
		"lifecycle_monthly_prev_days":        wholeRollup{&LifecycleQuery{Query: Query{From: from, To: parisTo, Filters: filters}, Interval: PeriodMonth}},
		"stickiness_weekly_prev_days":        wholeRollup{&StickinessQuery{Query: Query{From: from, To: parisTo}}},
		"engagement_by_channel_rollup":       &EngagementQuery{Query: Query{From: from, To: to, Filters: filters}, Breakdown: BreakdownAcquisitionChannel},
		"segments_rfm_members_rollup":        &SegmentsQuery{Query: Query{From: from, To: to}, IncludeMembers: true},
		"segments_kmeans_raw":                &SegmentsQuery{Query: Query{From: from, To: to, TimeZone: "America/New_York"}, Method: SegmentKMeans},
		"feature_usage_weekly_rollup": withBits{&FeatureUsageQuery{Query: Query{From: from, To: to}, Features: []string{"documents", "messaging"}},
			[]string{"messaging", "dashboard", "documents"}},
		"heatmap_by_activity_type": &HeatmapQuery{Query: Query{From: from, To: to, TimeZone: "America/New_York", Filters: filters}, ByActivityType: true},
		"heatmap_hourly_rollup": &HeatmapQuery{Query: Query{From: from.Add(17 * time.Minute), To: to.Add(-15 * time.Minute),
			TimeZone: "America/New_York", Filters: filters}},
		"paths_session_rollup": sessionPaths{&PathsQuery{Query: Query{From: from, To: to, Filters: filters},
			StartPoint: Event{Kind: EventActivity, ActivityType: "login"}, EndPoint: Event{Kind: EventActivity, ActivityType: "booking"}}},
	} {
		golden[name] = func() (Executed, error) {
			err := q.Validate()
			return q.build(covered), err
		}
	}
	for name, q := range map[string]interface {
		Validate() error
		build() Executed
	}{
		"paths_sessions": &PathsQuery{Query: Query{From: from, To: to}, ExcludeEvents: []Event{{Kind: EventActivity, Feature: "profile"}}, MinEdgeWeight: 3},
		"paths_users_start_end": &PathsQuery{Query: Query{From: from, To: to, Filters: filters}, GroupBy: GroupByUser,
			IncludeEventTypes: []EventKind{EventActivity, EventAppointmentBooked}, StartPoint: Event{Kind: EventActivity, ActivityType: "login"},
			EndPoint: Event{Kind: EventAppointmentBooked}, NodeLabel: LabelActivityTypeFeature},
		"paths_users_end_only": &PathsQuery{Query: Query{From: from, To: to}, GroupBy: GroupByUser,
			IncludeEventTypes: []EventKind{EventActivity, EventAppointmentCompleted}, EndPoint: Event{Kind: EventAppointmentCompleted}},
	} {
		golden[name] = func() (Executed, error) {
			err := q.Validate()
			return q.build(), err
		}
	}
	for name, build := range golden {
		t.Run(name, func(t *testing.T) {
			ex, err := build()
			if err != nil {
				t.Fatal(err)
			}
			checkBound(t, ex)
			got := ex.String() + "\n"
			path := filepath.Join("testdata", name+".sql")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("statement differs from %s (run with -update after a deliberate change):\n%s", path, got)
			}
		})
	}
}
