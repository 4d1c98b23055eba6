package predict

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/ml"
)

// frameOf builds a frame of one numeric feature "x" and one categorical "c", with label
// instants one day apart from day 0.
func frameOf(x []float64, c []string, y []float64) *Frame {
	f := &Frame{Numeric: []string{"x"}, Categorical: []string{"c"}}
	day0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range x {
		f.IDs = append(f.IDs, int64(i+1))
		f.At = append(f.At, day0.AddDate(0, 0, i-1))
		f.LabelAt = append(f.LabelAt, day0.AddDate(0, 0, i))
		f.Y = append(f.Y, y[i])
		f.Num = append(f.Num, x[i])
		f.Cat = append(f.Cat, c[i])
	}
	return f
}

func TestTimeSplit(t *testing.T) {
	n := 100
	x, c, y := make([]float64, n), make([]string, n), make([]float64, n)
	for i := range n {
		x[i], c[i], y[i] = float64(i), "a", float64(i%2)
	}
	y[7] = math.NaN() // unknown yet: in no set
	f := frameOf(x, c, y)
	// Shuffle the rows: the split must not depend on their order.
	r := rand.New(rand.NewPCG(1, 2))
	perm := r.Perm(n)
	f = f.Subset(perm)
	sp, err := SplitByTime(f, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sp.Train.Len()+sp.Valid.Len()+sp.Test.Len() != n-1 || sp.Train.Len() < 55 || sp.Valid.Len() < 18 || sp.Test.Len() < 18 {
		t.Fatalf("sets of %d, %d, %d rows", sp.Train.Len(), sp.Valid.Len(), sp.Test.Len())
	}
	last := func(f *Frame) time.Time { return slices.MaxFunc(f.LabelAt, time.Time.Compare) }
	first := func(f *Frame) time.Time { return slices.MinFunc(f.LabelAt, time.Time.Compare) }
	if !last(sp.Train).Before(sp.Window.TrainEnd) || first(sp.Valid).Before(sp.Window.TrainEnd) ||
		!last(sp.Valid).Before(sp.Window.ValidEnd) || first(sp.Test).Before(sp.Window.ValidEnd) {
		t.Fatalf("sets overlap their window %+v", sp.Window)
	}
	if !slices.IsSortedFunc(sp.Test.LabelAt, time.Time.Compare) || slices.Contains(sp.Train.IDs, 8) {
		t.Error("test rows out of time order, or the unlabelled row was used")
	}

	// Explicit boundaries win over shares.
	w := Window{TrainEnd: f.LabelAt[0].AddDate(0, 0, 1000)}
	if _, err := SplitByTime(f, TrainOptions{Window: w}); !errors.Is(err, ErrTooFewRows) {
		t.Errorf("a window leaving no validation rows: %v", err)
	}
	if _, err := SplitByTime(f, TrainOptions{TrainShare: 0.9, ValidShare: 0.1}); !errors.Is(err, ErrTooFewRows) {
		t.Errorf("shares leaving no test rows: %v", err)
	}
}

func TestSchemaOrdersLevelsByLabel(t *testing.T) {
	var x, y []float64
	var c []string
	for i := range 300 {
		level := []string{"often", "rarely", "sometimes"}[i%3]
		rate := map[string]int{"often": 9, "rarely": 1, "sometimes": 5}[level]
		c = append(c, level)
		x = append(x, float64(i))
		y = append(y, b2f(i%10 < rate))
	}
	c[0], c[1] = "once", "" // too rare to be a level; missing
	x[2] = math.NaN()
	f := frameOf(x, c, y)
	fs := []feature{{Name: "x"}, {Name: "c", Categorical: true}}
	s := newSchema(fs, f, 0)
	if want := []string{"rarely", "sometimes", "often"}; !reflect.DeepEqual(s.Features[1].Levels, want) {
		t.Fatalf("levels %v, want %v (ascending label rate)", s.Features[1].Levels, want)
	}
	d, err := s.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Names, []string{"x", "c"}) || d.Row(0)[1] != MissingValue || d.Row(1)[1] != MissingValue ||
		d.Row(2)[0] != MissingValue || d.Row(3)[1] != 2 || d.Row(4)[1] != 0 || d.Y == nil {
		t.Fatalf("encoded rows %v %v %v %v %v", d.Row(0), d.Row(1), d.Row(2), d.Row(3), d.Row(4))
	}
	f.Y[5] = math.NaN()
	if d, _ := s.Encode(f); d.Y != nil {
		t.Error("rows with an unknown label encoded with labels")
	}
	f.Numeric = []string{"z"}
	if _, err := s.Encode(f); !errors.Is(err, ErrSchemaMismatch) {
		t.Errorf("rows without a schema feature: %v", err)
	}
}

func TestPSI(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	sample := func(n int, mean float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = mean + r.NormFloat64()
		}
		return out
	}
	base := newDistribution("x", sample(20000, 0))
	if len(base.Edges) != psiBins-1 {
		t.Fatalf("%d edges for a continuous feature", len(base.Edges))
	}
	same, small, large := base.PSI(sample(20000, 0)), base.PSI(sample(20000, 0.1)), base.PSI(sample(20000, 1))
	t.Logf("PSI: same distribution %.4f, mean +0.1 sd %.4f, mean +1 sd %.4f", same, small, large)
	if same > 0.01 || small > PSIStable || large < PSIShifted {
		t.Errorf("PSI same %.4f (want < 0.01), +0.1 sd %.4f (want < %.2f), +1 sd %.4f (want > %.2f)", same, small, PSIStable, large, PSIShifted)
	}
	// A discrete feature gets a bin per value, and a value never seen in training still counts.
	counts := newDistribution("n", []float64{0, 0, 0, 1, 1, 2})
	if !reflect.DeepEqual(counts.Edges, []float64{0, 1}) {
		t.Errorf("edges of a count %v", counts.Edges)
	}
	if psi := counts.PSI([]float64{5, 5, 5}); psi < 1 {
		t.Errorf("PSI of unseen values %.3f", psi)
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC)
	v := &Version{Model: NoShow, Version: 4, TrainedAt: now.Add(-48 * time.Hour), Metrics: Metrics{MetricROCAUC: 0.82}}
	calm := &DriftReport{Version: 4, Score: 0.02, Features: []FeatureDrift{{"lead_days", 0.05}}}
	good := &Quality{Metric: MetricROCAUC, Value: 0.81, Rows: 1000}
	cases := []struct {
		name    string
		v       *Version
		drift   *DriftReport
		q       *Quality
		reasons []string
	}{
		{"no model", nil, nil, nil, []string{ReasonNoModel}},
		{"fresh, stable and good", v, calm, good, nil},
		{"unknown drift and quality", v, nil, nil, nil},
		{"old", &Version{Version: 4, TrainedAt: now.AddDate(0, 0, -8), Metrics: v.Metrics}, calm, good, []string{ReasonSchedule}},
		{"score drift", v, &DriftReport{Version: 4, Score: 0.3}, good, []string{ReasonDrift}},
		{"feature drift", v, &DriftReport{Version: 4, Score: 0.1, Features: []FeatureDrift{{"age", 0.6}}}, good, []string{ReasonDrift}},
		{"drift of another version", v, &DriftReport{Version: 3, Score: 0.9}, good, nil},
		{"quality drop", v, calm, &Quality{Metric: MetricROCAUC, Value: 0.75, Rows: 1000}, []string{ReasonQuality}},
		{"quality on too few rows", v, calm, &Quality{Metric: MetricROCAUC, Value: 0.5, Rows: 50}, nil},
		{"regression error up", &Version{Version: 1, TrainedAt: now, Metrics: Metrics{MetricR2: 0.4}}, nil,
			&Quality{Metric: MetricR2, Value: 0.3, Rows: 500}, []string{ReasonQuality}},
		{"everything", &Version{Version: 4, TrainedAt: now.AddDate(0, 0, -30), Metrics: v.Metrics},
			&DriftReport{Version: 4, Score: 0.5}, &Quality{Metric: MetricROCAUC, Value: 0.6, Rows: 1000},
			[]string{ReasonSchedule, ReasonDrift, ReasonQuality}},
	}
	for _, c := range cases {
		d := Decide(now, NoShow, c.v, c.drift, c.q, RetrainPolicy{})
		if !reflect.DeepEqual(d.Reasons, c.reasons) || d.Retrain != (len(c.reasons) > 0) || d.Detail == "" {
			t.Errorf("%s: %+v, want reasons %v", c.name, d, c.reasons)
		}
	}
	if d := Decide(now, NoShow, v, &DriftReport{Version: 4, Score: 0.2}, good, RetrainPolicy{ScorePSI: 0.15}); !d.Retrain ||
		!strings.Contains(d.Detail, "0.150") {
		t.Errorf("a custom threshold is ignored: %+v", d)
	}
}

func TestCutoffsAreAStableGrid(t *testing.T) {
	paris, err := time.LoadLocation(DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2025, 3, 1, 0, 0, 0, 0, paris)
	a := Cutoffs(from, from.AddDate(0, 6, 0), 0, paris)
	b := Cutoffs(from.AddDate(0, 1, 3), from.AddDate(0, 6, 0), 0, paris)
	if len(a) < 6 || len(b) != len(a)-1 || !slices.Equal(a[1:], b) {
		t.Fatalf("grids %v and %v", a, b)
	}
	for i, c := range a {
		if c.Weekday() != time.Monday || c.Hour() != 0 || (i > 0 && c.Sub(a[i-1]) > 28*24*time.Hour+time.Hour) {
			t.Fatalf("cutoff %s", c)
		}
	}
}

func TestMetrics(t *testing.T) {
	m, err := evaluate(ml.Classification, []float64{0, 0, 1, 1}, []float64{0.1, 0.4, 0.35, 0.8})
	if err != nil {
		t.Fatal(err)
	}
	if m[MetricROCAUC] != 0.75 || m[MetricRows] != 4 || m[MetricPositiveRate] != 0.5 {
		t.Errorf("metrics %v", m)
	}
	if !atLeastAsGood(MetricROCAUC, 0.8, 0.8) || atLeastAsGood(MetricROCAUC, 0.79, 0.8) || !atLeastAsGood(MetricBrier, 0.1, 0.2) {
		t.Error("promotion comparison")
	}
}
