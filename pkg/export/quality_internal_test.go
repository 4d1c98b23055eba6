package export

import (
	"math"
	"testing"
	"time"
)

// TestQualityFormulas feeds the meter plain rows and checks each figure against the formulas of
// Quality's documentation.
func TestQualityFormulas(t *testing.T) {
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	src, err := LookupSource("feedback")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(Spec{Source: "feedback", Format: "csv"}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	// feedback: id, user_id, appointment_id (nullable), score (1 to 5), submitted_at.
	rows := []Row{
		{int64(1), int64(10), int64(100), int64(5), at.Add(-48 * time.Hour)},
		{int64(2), int64(11), nil, int64(9), at.Add(-72 * time.Hour)},            // null, invalid score
		{int64(2), int64(12), int64(102), int64(3), at.Add(-5 * 24 * time.Hour)}, // duplicate key
		{int64(3), int64(13), nil, int64(4), at.Add(400 * 24 * time.Hour)},       // null, implausible time
		{int64(4), int64(14), int64(104), int64(1), at.Add(-3 * 24 * time.Hour)},
	}
	m := newQualityMeter(p, at)
	for _, r := range rows {
		m.observe(r)
	}
	q := m.result(src.Key, src.freshColumn(), at)
	cells := 5.0 * 5
	want := Quality{
		Completeness: 1 - 2/cells,
		Validity:     1 - 2/(cells-2),
		Uniqueness:   1 - 1.0/5,
	}
	// The newest submitted_at is 400 days ahead: age is negative, freshness 1.
	fresh := 1.0
	want.Score = (want.Completeness + want.Validity + want.Uniqueness + fresh) / 4
	for name, pair := range map[string][2]float64{
		"completeness": {q.Completeness, want.Completeness},
		"validity":     {q.Validity, want.Validity},
		"uniqueness":   {q.Uniqueness, want.Uniqueness},
		"freshness":    {*q.Freshness, fresh},
		"score":        {q.Score, want.Score},
	} {
		if math.Abs(pair[0]-pair[1]) > 1e-12 {
			t.Errorf("%s = %v, want %v", name, pair[0], pair[1])
		}
	}
	if q.Duplicates != 1 || q.Columns[2].Nulls != 2 || q.Columns[3].Invalid != 1 || q.Columns[4].Invalid != 1 {
		t.Errorf("details: %+v", q)
	}

	// Freshness falls linearly from 1 at FreshnessGrace to 0 at FreshnessHorizon.
	for age, want := range map[time.Duration]float64{
		0: 1, FreshnessGrace: 1, FreshnessGrace + (FreshnessHorizon-FreshnessGrace)/2: 0.5, FreshnessHorizon: 0, 2 * FreshnessHorizon: 0,
	} {
		m := newQualityMeter(p, at)
		m.observe(Row{int64(1), int64(1), nil, int64(3), at.Add(-age)})
		if got := *m.result(src.Key, src.freshColumn(), at).Freshness; math.Abs(got-want) > 1e-12 {
			t.Errorf("freshness at age %s = %v, want %v", age, got, want)
		}
	}

	// No rows: the first three are 1 and freshness is absent.
	empty := newQualityMeter(p, at).result(src.Key, src.freshColumn(), at)
	if empty.Completeness != 1 || empty.Validity != 1 || empty.Uniqueness != 1 || empty.Freshness != nil || empty.Score != 1 {
		t.Errorf("empty export: %+v", empty)
	}
}

// TestTimeRanges resolves relative ranges at instants around DST changes in Paris.
func TestTimeRanges(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	at := time.Date(2026, 3, 30, 2, 30, 0, 0, paris) // the Monday after the spring change
	cases := []struct {
		r        TimeRange
		from, to time.Time
	}{
		{TimeRange{Period: "day"}, time.Date(2026, 3, 29, 0, 0, 0, 0, paris), time.Date(2026, 3, 30, 0, 0, 0, 0, paris)},
		{TimeRange{Period: "week"}, time.Date(2026, 3, 23, 0, 0, 0, 0, paris), time.Date(2026, 3, 30, 0, 0, 0, 0, paris)},
		{TimeRange{Period: "month"}, time.Date(2026, 2, 1, 0, 0, 0, 0, paris), time.Date(2026, 3, 1, 0, 0, 0, 0, paris)},
		{TimeRange{Last: 24 * 60 * 60 * 1e9}, at.Add(-24 * time.Hour), at},
		{TimeRange{From: "2026-01-01", To: "2026-02-01T12:00:00Z"}, time.Date(2026, 1, 1, 0, 0, 0, 0, paris), time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		got := c.r.resolve(0, at, paris)
		if !got.from.Equal(c.from) || !got.to.Equal(c.to) {
			t.Errorf("%+v at %s: [%s, %s), want [%s, %s)", c.r, at, got.from, got.to, c.from, c.to)
		}
	}
	// The day before the spring change has 23 hours.
	if d := cases[0].to.Sub(cases[0].from); d != 23*time.Hour {
		t.Errorf("29 March 2026 in Paris lasts %s", d)
	}
}

// TestLike checks the in-memory LIKE used on analytics results against PostgreSQL's rules.
func TestLike(t *testing.T) {
	for _, c := range []struct {
		s, p string
		want bool
	}{
		{"activity:login", "activity:%", true}, {"signup", "sign_p", true}, {"signup", "sign_", false},
		{"50%", `50\%`, true}, {"500", `50\%`, false}, {"", "%", true}, {"a", "", false}, {"日本語", "日_語", true},
	} {
		if got := likeMatch(c.s, c.p); got != c.want {
			t.Errorf("%q like %q = %v, want %v", c.s, c.p, got, c.want)
		}
	}
}
