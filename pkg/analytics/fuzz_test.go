package analytics_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/bdc-analytics/bdc/pkg/analytics"
)

// The plugin unmarshals panel JSON from any dashboard into these queries: whatever the bytes,
// decoding and validation must not panic, a refusal must be a ParamError (or a JSON error), and
// a valid query must survive a JSON round trip unchanged.

func FuzzRetentionQuery(f *testing.F) {
	for _, s := range []string{
		`{"from":"2026-01-01T00:00:00Z","to":"2026-06-01T00:00:00Z"}`,
		`{"from":"2026-01-01T00:00:00+01:00","to":"2026-06-01T00:00:00Z","period":"Day","totalIntervals":30,"targetEntity":"activity:login","returningEntity":{"kind":"activity","feature":"documents"},"retentionType":"retention_recurring","retentionReference":"previous","cumulative":true,"breakdown":"age_band","timezone":"America/New_York","filters":{"ageBand":["25-34","65+"],"trainerId":[3]}}`,
		`{"from":"2026-01-01T00:00:00Z","to":"2026-06-01T00:00:00Z","totalIntervals":0}`,
		`{"from":"2026-01-01T00:00:00Z","to":"2026-06-01T00:00:00Z","period":"month","filters":{"region":["x'); drop table bdc.users; --"]}}`,
		`{"targetEntity":"purchase"}`, `[]`, `null`, `{"timezone":"../../etc"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var q analytics.RetentionQuery
		if json.Unmarshal(data, &q) != nil {
			return
		}
		if err := q.Validate(); err != nil {
			if !errors.Is(err, analytics.ErrInvalidQuery) {
				t.Fatalf("validation error %v is not a ParamError", err)
			}
			return
		}
		roundTrip(t, &q, &analytics.RetentionQuery{})
	})
}

func FuzzFunnelQuery(f *testing.F) {
	for _, s := range []string{
		`{"from":"2026-01-01T00:00:00Z","to":"2026-06-01T00:00:00Z","series":["signup","appointment_booked"]}`,
		`{"from":"2026-01-01T00:00:00Z","to":"2026-06-01T00:00:00Z","series":["activity:login",{"kind":"activity","activityType":"page_view","feature":"dashboard"},"feature:resources"],"funnelOrderType":"strict","funnelWindowInterval":2,"funnelWindowIntervalUnit":"hour","breakdown":"gender","filters":{"appointmentChannel":["video"]}}`,
		`{"from":"2026-01-01T00:00:00Z","to":"2026-06-01T00:00:00Z","series":["signup","activity"],"funnelWindowInterval":0}`,
		`{"series":[]}`, `{"series":["signup"]}`, `{"funnelOrderType":"UNORDERED"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var q analytics.FunnelQuery
		if json.Unmarshal(data, &q) != nil {
			return
		}
		if err := q.Validate(); err != nil {
			if !errors.Is(err, analytics.ErrInvalidQuery) {
				t.Fatalf("validation error %v is not a ParamError", err)
			}
			return
		}
		if w := q.Window(); w <= 0 || w > analytics.MaxFunnelWindow {
			t.Fatalf("valid query with window %s", w)
		}
		roundTrip(t, &q, &analytics.FunnelQuery{})
	})
}

type validator interface{ Validate() error }

// roundTrip checks that a validated query encodes, decodes and validates to the same JSON.
func roundTrip(t *testing.T, q, again validator) {
	t.Helper()
	b, err := json.Marshal(q)
	if err != nil {
		t.Fatalf("valid query does not encode: %v", err)
	}
	if err := json.Unmarshal(b, again); err != nil {
		t.Fatalf("%s does not decode: %v", b, err)
	}
	if err := again.Validate(); err != nil {
		t.Fatalf("%s no longer validates: %v", b, err)
	}
	b2, _ := json.Marshal(again)
	if string(b) != string(b2) {
		t.Fatalf("round trip changed the query:\n%s\n%s", b, b2)
	}
}

func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{"signup", "activity", "activity:login", "feature:documents", "activity:a/feature:b", "activity:", "x:y/z", "activity:a:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := analytics.ParseEvent(s)
		if err != nil {
			return
		}
		if e.String() != s {
			t.Fatalf("ParseEvent(%q).String() = %q", s, e.String())
		}
		again, err := analytics.ParseEvent(e.String())
		if err != nil || again != e {
			t.Fatalf("re-parsing %q gave %+v, %v", e.String(), again, err)
		}
	})
}

func FuzzParseAgeBand(f *testing.F) {
	for _, s := range []string{"25-34", "65+", "0-0", "150+", "151+", "34-25", "-", "+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := analytics.ParseAgeBand(s)
		if err != nil {
			return
		}
		if b.Min < 0 || b.Max > analytics.MaxAge || b.Min > b.Max {
			t.Fatalf("ParseAgeBand(%q) = %+v", s, b)
		}
		if again, err := analytics.ParseAgeBand(b.String()); err != nil || again != b {
			t.Fatalf("re-parsing %q gave %+v, %v", b.String(), again, err)
		}
	})
}

// fuzzQuery is the property every query kind's JSON must have: decoding and validation never
// panic, a refusal is a ParamError, and a valid query survives a JSON round trip.
func fuzzQuery[Q any, P interface {
	*Q
	validator
}](f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		q := P(new(Q))
		if json.Unmarshal(data, q) != nil {
			return
		}
		if err := q.Validate(); err != nil {
			if !errors.Is(err, analytics.ErrInvalidQuery) {
				t.Fatalf("validation error %v is not a ParamError", err)
			}
			return
		}
		roundTrip(t, q, P(new(Q)))
	})
}

const fuzzRange = `"from":"2026-01-01T00:00:00Z","to":"2026-06-01T00:00:00Z"`

func FuzzPathsQuery(f *testing.F) {
	fuzzQuery[analytics.PathsQuery](f,
		`{`+fuzzRange+`}`,
		`{`+fuzzRange+`,"includeEventTypes":["activity","appointment_booked"],"groupBy":"user","startPoint":"activity:login","endPoint":{"kind":"appointment_booked"},"stepLimit":6,"edgeLimit":700,"minEdgeWeight":2,"maxEdgeWeight":10,"excludeEvents":["feature:profile"],"nodeLabel":"activity_type_feature","journeyLimit":100}`,
		`{`+fuzzRange+`,"stepLimit":0}`, `{`+fuzzRange+`,"includeEventTypes":["signup"]}`, `{"startPoint":"signup"}`, `{"excludeEvents":[{}]}`)
}

func FuzzLifecycleQuery(f *testing.F) {
	fuzzQuery[analytics.LifecycleQuery](f,
		`{`+fuzzRange+`}`, `{`+fuzzRange+`,"interval":"Day","event":"activity:login","timezone":"Asia/Kolkata"}`,
		`{`+fuzzRange+`,"interval":"month","event":{"kind":"appointment_completed"},"filters":{"appointmentChannel":["video"]}}`, `{"interval":"year"}`)
}

func FuzzStickinessQuery(f *testing.F) {
	fuzzQuery[analytics.StickinessQuery](f,
		`{`+fuzzRange+`}`, `{`+fuzzRange+`,"period":"month","event":"feature:documents"}`, `{`+fuzzRange+`,"period":"day"}`)
}

func FuzzEngagementQuery(f *testing.F) {
	fuzzQuery[analytics.EngagementQuery](f,
		`{`+fuzzRange+`}`, `{`+fuzzRange+`,"limit":0,"breakdown":"region"}`, `{`+fuzzRange+`,"limit":100,"breakdown":"age_band","filters":{"ageBand":["18-24"]}}`, `{"limit":-1}`)
}

func FuzzSegmentsQuery(f *testing.F) {
	fuzzQuery[analytics.SegmentsQuery](f,
		`{`+fuzzRange+`}`, `{`+fuzzRange+`,"method":"kmeans","k":4,"seed":"42","nInit":2,"includeMembers":true}`,
		`{`+fuzzRange+`,"method":"kmeans","kMin":3,"kMax":9,"seed":7}`, `{`+fuzzRange+`,"method":"rfm","k":3}`, `{"seed":-1}`)
}

func FuzzFeatureUsageQuery(f *testing.F) {
	fuzzQuery[analytics.FeatureUsageQuery](f,
		`{`+fuzzRange+`}`, `{`+fuzzRange+`,"features":["documents","messaging"],"period":"day"}`, `{"features":["a","a"]}`)
}

func FuzzHeatmapQuery(f *testing.F) {
	fuzzQuery[analytics.HeatmapQuery](f,
		`{`+fuzzRange+`}`, `{`+fuzzRange+`,"event":"activity","byActivityType":true,"timezone":"Australia/Lord_Howe"}`,
		`{`+fuzzRange+`,"event":"appointment_completed","byActivityType":true}`)
}
