package analytics_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
)

func validBase() analytics.Query { return analytics.Query{From: day(2026, 1, 1), To: day(2026, 6, 1)} }

// wantParamErr checks that err is a *ParamError about param, matched by ErrInvalidQuery.
func wantParamErr(t *testing.T, err error, param string) {
	t.Helper()
	var pe *analytics.ParamError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v, want a *ParamError about %s", err, param)
	}
	if pe.Param != param {
		t.Fatalf("error about %q (%v), want %q", pe.Param, err, param)
	}
	if !errors.Is(err, analytics.ErrInvalidQuery) || !strings.Contains(err.Error(), param) {
		t.Fatalf("error %q does not match ErrInvalidQuery or name %s", err, param)
	}
}

func TestQueryValidation(t *testing.T) {
	many := make([]string, analytics.MaxFilterValues+1)
	for i := range many {
		many[i] = "x"
	}
	cases := []struct {
		name  string
		edit  func(q *analytics.Query)
		param string
	}{
		{"no from", func(q *analytics.Query) { q.From = time.Time{} }, "from"},
		{"no to", func(q *analytics.Query) { q.To = time.Time{} }, "to"},
		{"empty range", func(q *analytics.Query) { q.To = q.From }, "to"},
		{"reversed range", func(q *analytics.Query) { q.From, q.To = q.To, q.From }, "to"},
		{"unknown zone", func(q *analytics.Query) { q.TimeZone = "Mars/Olympus_Mons" }, "timezone"},
		{"local zone", func(q *analytics.Query) { q.TimeZone = "Local" }, "timezone"},
		{"path as zone", func(q *analytics.Query) { q.TimeZone = "../../etc/passwd" }, "timezone"},
		{"empty region", func(q *analytics.Query) { q.Filters.Region = []string{"bretagne", ""} }, "filters.region[1]"},
		{"control character", func(q *analytics.Query) { q.Filters.Gender = []string{"fe\x00male"} }, "filters.gender[0]"},
		{"invalid utf-8", func(q *analytics.Query) { q.Filters.Region = []string{"\xff"} }, "filters.region[0]"},
		{"too long", func(q *analytics.Query) { q.Filters.AppointmentChannel = []string{strings.Repeat("v", 201)} }, "filters.appointmentChannel[0]"},
		{"too many values", func(q *analytics.Query) { q.Filters.AcquisitionChannel = many }, "filters.acquisitionChannel"},
		{"bad age band", func(q *analytics.Query) { q.Filters.AgeBand = []string{"25-34", "old"} }, "filters.ageBand[1]"},
		{"reversed age band", func(q *analytics.Query) { q.Filters.AgeBand = []string{"40-30"} }, "filters.ageBand[0]"},
		{"age out of range", func(q *analytics.Query) { q.Filters.AgeBand = []string{"200+"} }, "filters.ageBand[0]"},
		{"trainer id", func(q *analytics.Query) { q.Filters.TrainerID = []int64{3, 0} }, "filters.trainerId[1]"},
		{"year out of range", func(q *analytics.Query) { q.To = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "to"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := validBase()
			c.edit(&q)
			wantParamErr(t, q.Validate(), c.param)
		})
	}
}

func TestQueryDefaults(t *testing.T) {
	q := validBase()
	q.From = q.From.Add(1234 * time.Nanosecond)
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	if q.TimeZone != "Europe/Paris" || q.Location().String() != "Europe/Paris" {
		t.Errorf("time zone %q, want Europe/Paris", q.TimeZone)
	}
	if q.From.Nanosecond()%1000 != 0 {
		t.Errorf("from %s not truncated to the microsecond", q.From)
	}
}

func TestRetentionValidation(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(q *analytics.RetentionQuery)
		param string
	}{
		{"period", func(q *analytics.RetentionQuery) { q.Period = "year" }, "period"},
		{"negative intervals", func(q *analytics.RetentionQuery) { q.TotalIntervals = -1 }, "totalIntervals"},
		{"too many intervals", func(q *analytics.RetentionQuery) { q.TotalIntervals = 367 }, "totalIntervals"},
		{"unknown target", func(q *analytics.RetentionQuery) { q.TargetEntity = analytics.Event{Kind: "purchase"} }, "targetEntity.kind"},
		{"target without kind", func(q *analytics.RetentionQuery) { q.TargetEntity = analytics.Event{ActivityType: "login"} }, "targetEntity.kind"},
		{"activity type on signup", func(q *analytics.RetentionQuery) {
			q.ReturningEntity = analytics.Event{Kind: "signup", ActivityType: "login"}
		}, "returningEntity.kind"},
		{"bad activity type", func(q *analytics.RetentionQuery) {
			q.TargetEntity = analytics.Event{Kind: "activity", ActivityType: "log\nin"}
		}, "targetEntity.activityType"},
		{"bad feature", func(q *analytics.RetentionQuery) {
			q.ReturningEntity = analytics.Event{Kind: "activity", Feature: strings.Repeat("f", 300)}
		}, "returningEntity.feature"},
		{"retention type", func(q *analytics.RetentionQuery) { q.RetentionType = "sometimes" }, "retentionType"},
		{"reference", func(q *analytics.RetentionQuery) { q.RetentionReference = "median" }, "retentionReference"},
		{"breakdown", func(q *analytics.RetentionQuery) { q.Breakdown = "city" }, "breakdown"},
		{"too many cohorts", func(q *analytics.RetentionQuery) { q.Period = "day"; q.From = day(2020, 1, 1) }, "from"},
		{"base checked", func(q *analytics.RetentionQuery) { q.TimeZone = "Nowhere" }, "timezone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := analytics.RetentionQuery{Query: validBase()}
			c.edit(&q)
			wantParamErr(t, q.Validate(), c.param)
			// The engine refuses it before touching the database (it has none here).
			_, err := (&analytics.Engine{}).Retention(t.Context(), q)
			wantParamErr(t, err, c.param)
		})
	}
	// Zero intervals given explicitly in JSON is an error; absent, the default applies.
	var q analytics.RetentionQuery
	if err := json.Unmarshal([]byte(`{"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "totalIntervals": 0}`), &q); err != nil {
		t.Fatal(err)
	}
	wantParamErr(t, q.Validate(), "totalIntervals")
}

func TestRetentionDefaultsAndJSON(t *testing.T) {
	q := analytics.RetentionQuery{Query: validBase()}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	if q.Period != "week" || q.TotalIntervals != 8 || q.TargetEntity != ev("signup") || q.ReturningEntity != ev("activity") ||
		q.RetentionType != analytics.RetentionFirstTime || q.RetentionReference != analytics.ReferenceTotal || q.TimeZone != "Europe/Paris" {
		t.Fatalf("defaults: %+v", q)
	}

	// A Grafana panel's query, with PostHog's names and the plugin's own fields around them.
	panel := `{
		"refId": "A", "queryType": "retention", "datasource": {"uid": "bdc"},
		"from": "2026-01-01T00:00:00+01:00", "to": "2026-06-01T00:00:00+02:00", "timezone": "UTC",
		"period": "Month", "totalIntervals": 4,
		"targetEntity": "activity:login",
		"returningEntity": {"kind": "activity", "feature": "documents"},
		"retentionType": "retention_recurring", "retentionReference": "previous", "cumulative": true,
		"breakdown": "region",
		"filters": {"region": ["bretagne"], "acquisitionChannel": ["cpf"], "gender": ["female"],
			"ageBand": ["25-34", "65+"], "trainerId": [1, 2], "appointmentChannel": ["video"]}
	}`
	var got analytics.RetentionQuery
	if err := json.Unmarshal([]byte(panel), &got); err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	if got.Period != "month" || got.TotalIntervals != 4 || got.TargetEntity != ev("activity:login") ||
		got.ReturningEntity != ev("feature:documents") || got.RetentionType != analytics.RetentionRecurring ||
		got.RetentionReference != analytics.ReferencePrevious || !got.Cumulative || got.Breakdown != "region" ||
		got.TimeZone != "UTC" || !got.From.Equal(day(2026, 1, 1)) || len(got.Filters.TrainerID) != 2 ||
		got.Filters.AgeBand[1] != "65+" || got.Filters.AppointmentChannel[0] != "video" {
		t.Fatalf("decoded %+v", got)
	}
	// It survives a round trip through JSON.
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var again analytics.RetentionQuery
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	if err := again.Validate(); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(again)
	if string(b) != string(b2) {
		t.Fatalf("round trip changed the query:\n%s\n%s", b, b2)
	}
	// An unknown event kind in the short form fails at decoding, naming the event.
	err = json.Unmarshal([]byte(`{"targetEntity": "purchase:shoes"}`), &again)
	if err == nil || !strings.Contains(err.Error(), "purchase:shoes") {
		t.Fatalf("decoding an unknown event: %v", err)
	}
}

func TestFunnelValidation(t *testing.T) {
	steps := evs("signup", "appointment_booked")
	huge := make([]analytics.Event, 10_000)
	for i := range huge {
		huge[i] = ev("activity")
	}
	cases := []struct {
		name  string
		edit  func(q *analytics.FunnelQuery)
		param string
	}{
		{"one step", func(q *analytics.FunnelQuery) { q.Series = steps[:1] }, "series"},
		{"no steps", func(q *analytics.FunnelQuery) { q.Series = nil }, "series"},
		{"10,000 steps", func(q *analytics.FunnelQuery) { q.Series = huge }, "series"},
		{"unknown step", func(q *analytics.FunnelQuery) {
			q.Series = append(evs("signup", "activity"), analytics.Event{Kind: "purchase"})
		}, "series[2].kind"},
		{"bad step type", func(q *analytics.FunnelQuery) {
			q.Series = []analytics.Event{ev("signup"), {Kind: "activity", ActivityType: "\t"}}
		}, "series[1].activityType"},
		{"negative window", func(q *analytics.FunnelQuery) { q.FunnelWindowInterval = -3 }, "funnelWindowInterval"},
		{"window too long", func(q *analytics.FunnelQuery) { q.FunnelWindowInterval = 60; q.FunnelWindowIntervalUnit = "week" }, "funnelWindowInterval"},
		{"window unit", func(q *analytics.FunnelQuery) { q.FunnelWindowIntervalUnit = "fortnight" }, "funnelWindowIntervalUnit"},
		{"order", func(q *analytics.FunnelQuery) { q.FunnelOrderType = "random" }, "funnelOrderType"},
		{"breakdown", func(q *analytics.FunnelQuery) { q.Breakdown = "trainer" }, "breakdown"},
		{"base checked", func(q *analytics.FunnelQuery) { q.Filters.TrainerID = []int64{-1} }, "filters.trainerId[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := analytics.FunnelQuery{Query: validBase(), Series: steps}
			c.edit(&q)
			wantParamErr(t, q.Validate(), c.param)
			_, err := (&analytics.Engine{}).Funnel(t.Context(), q)
			wantParamErr(t, err, c.param)
		})
	}
	var q analytics.FunnelQuery
	if err := json.Unmarshal([]byte(`{"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z",
		"series": ["signup", "activity"], "funnelWindowInterval": 0}`), &q); err != nil {
		t.Fatal(err)
	}
	wantParamErr(t, q.Validate(), "funnelWindowInterval")
}

func TestFunnelDefaultsAndJSON(t *testing.T) {
	panel := `{"refId": "B", "queryType": "funnel",
		"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z",
		"series": ["signup", {"kind": "activity", "activityType": "booking"}, "appointment_completed"],
		"funnelOrderType": "strict", "funnelWindowInterval": 36, "funnelWindowIntervalUnit": "Hour",
		"breakdown": "age_band", "filters": {"region": ["normandie"]}}`
	var q analytics.FunnelQuery
	if err := json.Unmarshal([]byte(panel), &q); err != nil {
		t.Fatal(err)
	}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(q.Series) != 3 || q.Series[1] != ev("activity:booking") || q.FunnelOrderType != analytics.OrderStrict ||
		q.Window() != 36*time.Hour || q.Breakdown != "age_band" || q.Filters.Region[0] != "normandie" {
		t.Fatalf("decoded %+v", q)
	}
	d := analytics.FunnelQuery{Query: validBase(), Series: evs("signup", "activity")}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.FunnelOrderType != analytics.OrderOrdered || d.Window() != 14*24*time.Hour {
		t.Fatalf("defaults: %+v", d)
	}
}

func TestParseEvent(t *testing.T) {
	good := map[string]analytics.Event{
		"signup":                          {Kind: "signup"},
		"activity":                        {Kind: "activity"},
		"activity:login":                  {Kind: "activity", ActivityType: "login"},
		"feature:documents":               {Kind: "activity", Feature: "documents"},
		"activity:page_view/feature:cal":  {Kind: "activity", ActivityType: "page_view", Feature: "cal"},
		"appointment_completed":           {Kind: "appointment_completed"},
		"programme_completed":             {Kind: "programme_completed"},
		"activity:a:b":                    {Kind: "activity", ActivityType: "a:b"},
		"activity:x/feature:with/a/slash": {Kind: "activity", ActivityType: "x", Feature: "with/a/slash"},
	}
	for s, want := range good {
		got, err := analytics.ParseEvent(s)
		if err != nil || got != want {
			t.Errorf("ParseEvent(%q) = %+v, %v; want %+v", s, got, err, want)
		}
		if got.String() != s {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), s)
		}
	}
	for _, s := range []string{"", "purchase", "activity:", "feature:", "signup:x", "feature:a/b", "activity:x/y",
		"activity:x/feature:", "appointment_booked/feature:x", "activity:\x01", "activity:login/", "signup/"} {
		if e, err := analytics.ParseEvent(s); err == nil {
			t.Errorf("ParseEvent(%q) = %+v, want an error", s, e)
		}
	}
}

func TestParseAgeBand(t *testing.T) {
	good := map[string]analytics.AgeBand{"25-34": {25, 34}, "0-17": {0, 17}, "65+": {65, analytics.MaxAge}, "30-30": {30, 30}}
	for s, want := range good {
		got, err := analytics.ParseAgeBand(s)
		if err != nil || got != want || got.String() != s {
			t.Errorf("ParseAgeBand(%q) = %+v (%s), %v; want %+v", s, got, got.String(), err, want)
		}
	}
	for _, s := range []string{"", "25", "-5", "34-25", "25-", "+", "151+", "1000-2000", "2x-30", "25 - 34", "65++"} {
		if b, err := analytics.ParseAgeBand(s); err == nil {
			t.Errorf("ParseAgeBand(%q) = %+v, want an error", s, b)
		}
	}
}

// validationCase edits a valid query of some kind into one the kind must refuse, naming param.
type validationCase[Q any] struct {
	name  string
	edit  func(q *Q)
	param string
}

// checkValidation runs the cases on fresh valid queries, through Validate and through the engine
// (which has no database here, so it must refuse before reaching one).
func checkValidation[Q any](t *testing.T, valid func() Q, validate func(*Q) error, run func(Q) error, cases []validationCase[Q]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := valid()
			c.edit(&q)
			wantParamErr(t, validate(&q), c.param)
			wantParamErr(t, run(q), c.param)
		})
	}
	q := valid()
	if err := validate(&q); err != nil {
		t.Fatalf("the valid query is refused: %v", err)
	}
}

func TestPathsValidation(t *testing.T) {
	kinds := func(ks ...analytics.EventKind) []analytics.EventKind { return ks }
	many := make([]analytics.Event, analytics.MaxExcludeEvents+1)
	for i := range many {
		many[i] = ev("activity:login")
	}
	e := &analytics.Engine{}
	checkValidation(t, func() analytics.PathsQuery { return analytics.PathsQuery{Query: validBase()} },
		(*analytics.PathsQuery).Validate,
		func(q analytics.PathsQuery) error { _, err := e.Paths(t.Context(), q); return err },
		[]validationCase[analytics.PathsQuery]{
			{"unknown event type", func(q *analytics.PathsQuery) { q.IncludeEventTypes = kinds("activity", "pageview") }, "includeEventTypes[1]"},
			{"duplicate event type", func(q *analytics.PathsQuery) {
				q.IncludeEventTypes = kinds("activity", "signup", "activity")
				q.GroupBy = "user"
			}, "includeEventTypes[2]"},
			{"sessions of appointments", func(q *analytics.PathsQuery) { q.IncludeEventTypes = kinds("activity", "appointment_booked") }, "groupBy"},
			{"grouping", func(q *analytics.PathsQuery) { q.GroupBy = "device" }, "groupBy"},
			{"label", func(q *analytics.PathsQuery) { q.NodeLabel = "url" }, "nodeLabel"},
			{"start point kind", func(q *analytics.PathsQuery) { q.StartPoint = analytics.Event{Kind: "purchase"} }, "startPoint.kind"},
			{"start point not included", func(q *analytics.PathsQuery) { q.StartPoint = ev("signup") }, "startPoint.kind"},
			{"end point feature", func(q *analytics.PathsQuery) { q.EndPoint = analytics.Event{Kind: "activity", Feature: "a\x00b"} }, "endPoint.feature"},
			{"excluded event", func(q *analytics.PathsQuery) { q.ExcludeEvents = []analytics.Event{ev("activity:login"), {}} }, "excludeEvents[1].kind"},
			{"too many exclusions", func(q *analytics.PathsQuery) { q.ExcludeEvents = many }, "excludeEvents"},
			{"one step", func(q *analytics.PathsQuery) { q.StepLimit = 1 }, "stepLimit"},
			{"too many steps", func(q *analytics.PathsQuery) { q.StepLimit = 21 }, "stepLimit"},
			{"edges over the node graph's limit", func(q *analytics.PathsQuery) { q.EdgeLimit = 701 }, "edgeLimit"},
			{"negative edges", func(q *analytics.PathsQuery) { q.EdgeLimit = -1 }, "edgeLimit"},
			{"journeys", func(q *analytics.PathsQuery) { q.JourneyLimit = 101 }, "journeyLimit"},
			{"negative weight", func(q *analytics.PathsQuery) { q.MinEdgeWeight = -1 }, "minEdgeWeight"},
			{"max below min", func(q *analytics.PathsQuery) { q.MinEdgeWeight, q.MaxEdgeWeight = 10, 5 }, "maxEdgeWeight"},
			{"base checked", func(q *analytics.PathsQuery) { q.TimeZone = "Local" }, "timezone"},
		})
	for _, key := range []string{"stepLimit", "edgeLimit", "journeyLimit"} {
		var q analytics.PathsQuery
		if err := json.Unmarshal([]byte(`{"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "`+key+`": 0}`), &q); err != nil {
			t.Fatal(err)
		}
		wantParamErr(t, q.Validate(), key)
	}
}

func TestPathsDefaultsAndJSON(t *testing.T) {
	panel := `{"refId": "C", "queryType": "paths", "from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z",
		"includeEventTypes": ["activity", "appointment_booked"], "groupBy": "user",
		"startPoint": "activity:login", "endPoint": {"kind": "appointment_booked"},
		"stepLimit": 6, "edgeLimit": 40, "minEdgeWeight": 2, "maxEdgeWeight": 900,
		"excludeEvents": ["feature:profile"], "nodeLabel": "activity_type_feature", "journeyLimit": 15}`
	var q analytics.PathsQuery
	if err := json.Unmarshal([]byte(panel), &q); err != nil {
		t.Fatal(err)
	}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(q.IncludeEventTypes) != 2 || q.StartPoint != ev("activity:login") || q.EndPoint != ev("appointment_booked") ||
		q.StepLimit != 6 || q.EdgeLimit != 40 || q.MinEdgeWeight != 2 || q.MaxEdgeWeight != 900 || q.ExcludeEvents[0] != ev("feature:profile") ||
		q.GroupBy != "user" || q.NodeLabel != "activity_type_feature" || q.JourneyLimit != 15 {
		t.Fatalf("decoded %+v", q)
	}
	d := analytics.PathsQuery{Query: validBase()}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.IncludeEventTypes, []analytics.EventKind{"activity"}) || d.GroupBy != "session" || d.NodeLabel != "activity_type" ||
		d.StepLimit != 5 || d.EdgeLimit != 50 || d.JourneyLimit != 10 || d.MinEdgeWeight != 0 || d.MaxEdgeWeight != 0 {
		t.Fatalf("defaults: %+v", d)
	}
	if analytics.MaxPathNodes > 1500 {
		t.Fatalf("up to %d nodes, over Grafana's node graph limit", analytics.MaxPathNodes)
	}
}

func TestLifecycleValidation(t *testing.T) {
	e := &analytics.Engine{}
	checkValidation(t, func() analytics.LifecycleQuery { return analytics.LifecycleQuery{Query: validBase()} },
		(*analytics.LifecycleQuery).Validate,
		func(q analytics.LifecycleQuery) error { _, err := e.Lifecycle(t.Context(), q); return err },
		[]validationCase[analytics.LifecycleQuery]{
			{"interval", func(q *analytics.LifecycleQuery) { q.Interval = "hour" }, "interval"},
			{"event", func(q *analytics.LifecycleQuery) { q.Event = analytics.Event{Kind: "login"} }, "event.kind"},
			{"event type on appointment", func(q *analytics.LifecycleQuery) {
				q.Event = analytics.Event{Kind: "appointment_booked", Feature: "calendar"}
			}, "event.kind"},
			{"too many days", func(q *analytics.LifecycleQuery) { q.Interval = "day"; q.From = day(2021, 1, 1) }, "from"},
			{"base checked", func(q *analytics.LifecycleQuery) { q.Filters.AgeBand = []string{"old"} }, "filters.ageBand[0]"},
		})
	q := analytics.LifecycleQuery{Query: validBase()}
	if err := q.Validate(); err != nil || q.Interval != "week" || q.Event != ev("activity") {
		t.Fatalf("defaults: %+v, %v", q, err)
	}
}

func TestStickinessValidation(t *testing.T) {
	e := &analytics.Engine{}
	checkValidation(t, func() analytics.StickinessQuery { return analytics.StickinessQuery{Query: validBase()} },
		(*analytics.StickinessQuery).Validate,
		func(q analytics.StickinessQuery) error { _, err := e.Stickiness(t.Context(), q); return err },
		[]validationCase[analytics.StickinessQuery]{
			{"day period", func(q *analytics.StickinessQuery) { q.Period = "day" }, "period"},
			{"unknown period", func(q *analytics.StickinessQuery) { q.Period = "quarter" }, "period"},
			{"event", func(q *analytics.StickinessQuery) {
				q.Event = analytics.Event{Kind: "activity", ActivityType: strings.Repeat("x", 201)}
			}, "event.activityType"},
			{"too many days", func(q *analytics.StickinessQuery) { q.From = day(2023, 1, 1) }, "from"},
			{"base checked", func(q *analytics.StickinessQuery) { q.To = q.From }, "to"},
		})
	q := analytics.StickinessQuery{Query: validBase()}
	if err := q.Validate(); err != nil || q.Period != "week" || q.Event != ev("activity") {
		t.Fatalf("defaults: %+v, %v", q, err)
	}
}

func TestEngagementValidation(t *testing.T) {
	e := &analytics.Engine{}
	checkValidation(t, func() analytics.EngagementQuery { return analytics.EngagementQuery{Query: validBase()} },
		(*analytics.EngagementQuery).Validate,
		func(q analytics.EngagementQuery) error { _, err := e.Engagement(t.Context(), q); return err },
		[]validationCase[analytics.EngagementQuery]{
			{"negative limit", func(q *analytics.EngagementQuery) { q.Limit = -1 }, "limit"},
			{"limit too long", func(q *analytics.EngagementQuery) { q.Limit = 101 }, "limit"},
			{"breakdown", func(q *analytics.EngagementQuery) { q.Breakdown = "email" }, "breakdown"},
			{"too many days", func(q *analytics.EngagementQuery) { q.From = day(2023, 1, 1) }, "from"},
			{"base checked", func(q *analytics.EngagementQuery) { q.Filters.TrainerID = []int64{0} }, "filters.trainerId[0]"},
		})
	q := analytics.EngagementQuery{Query: validBase()}
	if err := q.Validate(); err != nil || q.Limit != analytics.DefaultEngagementLimit {
		t.Fatalf("defaults: %+v, %v", q, err)
	}
	// An explicit 0 in JSON means no lists, and survives a round trip.
	var z analytics.EngagementQuery
	if err := json.Unmarshal([]byte(`{"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "limit": 0}`), &z); err != nil {
		t.Fatal(err)
	}
	if err := z.Validate(); err != nil || z.Limit != 0 {
		t.Fatalf("explicit 0: %+v, %v", z, err)
	}
	roundTrip(t, &z, &analytics.EngagementQuery{})
}

func TestSegmentsValidation(t *testing.T) {
	e := &analytics.Engine{}
	checkValidation(t, func() analytics.SegmentsQuery { return analytics.SegmentsQuery{Query: validBase(), Method: "kmeans"} },
		(*analytics.SegmentsQuery).Validate,
		func(q analytics.SegmentsQuery) error { _, err := e.Segments(t.Context(), q); return err },
		[]validationCase[analytics.SegmentsQuery]{
			{"method", func(q *analytics.SegmentsQuery) { q.Method = "dbscan" }, "method"},
			{"k on rfm", func(q *analytics.SegmentsQuery) { q.Method = "rfm"; q.K = 3 }, "k"},
			{"seed on rfm", func(q *analytics.SegmentsQuery) { q.Method = "rfm"; q.Seed = 3 }, "seed"},
			{"k of one", func(q *analytics.SegmentsQuery) { q.K = 1 }, "k"},
			{"k too large", func(q *analytics.SegmentsQuery) { q.K = 21 }, "k"},
			{"k and a range", func(q *analytics.SegmentsQuery) { q.K = 3; q.KMin = 2 }, "kMin"},
			{"kMin", func(q *analytics.SegmentsQuery) { q.KMin = 1 }, "kMin"},
			{"kMax below kMin", func(q *analytics.SegmentsQuery) { q.KMin, q.KMax = 5, 4 }, "kMax"},
			{"kMax too large", func(q *analytics.SegmentsQuery) { q.KMax = 50 }, "kMax"},
			{"nInit", func(q *analytics.SegmentsQuery) { q.NInit = 21 }, "nInit"},
			{"negative nInit", func(q *analytics.SegmentsQuery) { q.NInit = -2 }, "nInit"},
			{"too many days", func(q *analytics.SegmentsQuery) { q.From = day(2023, 1, 1) }, "from"},
			{"base checked", func(q *analytics.SegmentsQuery) { q.Filters.Region = []string{""} }, "filters.region[0]"},
		})
	q := analytics.SegmentsQuery{Query: validBase()}
	if err := q.Validate(); err != nil || q.Method != "rfm" {
		t.Fatalf("defaults: %+v, %v", q, err)
	}
	q = analytics.SegmentsQuery{Query: validBase(), Method: "KMeans"}
	if err := q.Validate(); err != nil || q.Method != "kmeans" || q.KMin != 2 || q.KMax != 8 || q.NInit != 4 {
		t.Fatalf("k-means defaults: %+v, %v", q, err)
	}
	// A seed may come from a template variable, as a string.
	if err := json.Unmarshal([]byte(`{"method": "kmeans", "seed": "18446744073709551615"}`), &q); err != nil || q.Seed != 1<<64-1 {
		t.Fatalf("string seed: %d, %v", q.Seed, err)
	}
	if err := json.Unmarshal([]byte(`{"method": "kmeans", "seed": "-1"}`), &q); err == nil {
		t.Fatal("a negative seed was accepted")
	}
}

func TestFeatureUsageValidation(t *testing.T) {
	many := make([]string, analytics.MaxFeatures+1)
	for i := range many {
		many[i] = fmt.Sprint("f", i)
	}
	e := &analytics.Engine{}
	checkValidation(t, func() analytics.FeatureUsageQuery { return analytics.FeatureUsageQuery{Query: validBase()} },
		(*analytics.FeatureUsageQuery).Validate,
		func(q analytics.FeatureUsageQuery) error { _, err := e.FeatureUsage(t.Context(), q); return err },
		[]validationCase[analytics.FeatureUsageQuery]{
			{"empty feature", func(q *analytics.FeatureUsageQuery) { q.Features = []string{"documents", ""} }, "features[1]"},
			{"duplicate feature", func(q *analytics.FeatureUsageQuery) { q.Features = []string{"documents", "messaging", "documents"} }, "features[2]"},
			{"too many features", func(q *analytics.FeatureUsageQuery) { q.Features = many }, "features"},
			{"period", func(q *analytics.FeatureUsageQuery) { q.Period = "fortnight" }, "period"},
			{"too many periods", func(q *analytics.FeatureUsageQuery) { q.Period = "day"; q.From = day(2020, 1, 1) }, "from"},
			{"base checked", func(q *analytics.FeatureUsageQuery) { q.From = time.Time{} }, "from"},
		})
}

func TestHeatmapValidation(t *testing.T) {
	e := &analytics.Engine{}
	checkValidation(t, func() analytics.HeatmapQuery { return analytics.HeatmapQuery{Query: validBase()} },
		(*analytics.HeatmapQuery).Validate,
		func(q analytics.HeatmapQuery) error { _, err := e.Heatmap(t.Context(), q); return err },
		[]validationCase[analytics.HeatmapQuery]{
			{"event", func(q *analytics.HeatmapQuery) { q.Event = analytics.Event{Kind: "click"} }, "event.kind"},
			{"by type of appointments", func(q *analytics.HeatmapQuery) { q.Event = ev("appointment_completed"); q.ByActivityType = true }, "byActivityType"},
			{"zone", func(q *analytics.HeatmapQuery) { q.TimeZone = "Europe/Atlantis" }, "timezone"},
		})
}
