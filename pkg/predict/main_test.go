package predict

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// platformScale is the generated platform the accuracy tests train on: two years of 6,000
// users give about 25,000 held appointments, 11,000 completed evaluations and 28,000
// (beneficiary, cutoff) rows, enough for the test sets' figures to be stable to a few
// thousandths, and it seeds in seconds.
var platformScale = demo.Config{Users: 6000, Days: 640, Seed: 11, End: time.Date(2026, 6, 1, 0, 0, 0, 0, demo.Location)}

// platform returns the store on the large generated platform.
func platform(t *testing.T) (*Store, *testdb.Database) {
	t.Helper()
	d := testdb.GetScale(t, platformScale)
	return NewStore(d.DB), d
}

// small returns the store on the package's small generated platform.
func small(t *testing.T) (*Store, *testdb.Database) {
	t.Helper()
	d := testdb.Get(t)
	return NewStore(d.DB), d
}

// trained caches one training per model and platform: several tests judge the same model.
var trained = struct {
	sync.Mutex
	results map[string]*Result
}{results: map[string]*Result{}}

// trainOnce trains model name on the large platform at its end, once per test binary.
func trainOnce(t *testing.T, name string) (*Store, *testdb.Database, *Result) {
	t.Helper()
	s, d := platform(t)
	trained.Lock()
	defer trained.Unlock()
	if r := trained.results[name]; r != nil {
		return s, d, r
	}
	start := time.Now()
	f := labelledFrame(t, s, d, name)
	extracted := time.Now()
	def, _ := Lookup(name)
	r, err := TrainFrame(t.Context(), def, f, accuracyOptions(d))
	if err != nil {
		t.Fatalf("train %s: %v", name, err)
	}
	t.Logf("%s: extracted in %s, trained in %s", name, extracted.Sub(start).Round(time.Millisecond), time.Since(extracted).Round(time.Millisecond))
	t.Logf("%s: %s %s, rows %+v, window %s .. %s .. %s .. %s, calibration %v", name, r.Algorithm, r.Params, r.Rows,
		r.Window.From.Format(time.DateOnly), r.Window.TrainEnd.Format(time.DateOnly),
		r.Window.ValidEnd.Format(time.DateOnly), r.Window.To.Format(time.DateOnly), r.Calibration)
	trained.results[name] = r
	return s, d, r
}

// accuracyOptions are the training options of the accuracy tests: the first half of the labelled
// rows train, the next 15% validate and the last 35% test. A larger test set than Train's
// default 20% makes the comparison with the ground truth tighter: on 5,000 test appointments the
// ground-truth probabilities themselves have an ECE of 0.014, sampling noise alone.
func accuracyOptions(d *testdb.Database) TrainOptions {
	return TrainOptions{Now: d.Seed.End, TrainShare: 0.5, ValidShare: 0.15}
}

// beneficiaryRows caches the beneficiary rows of the large platform, labelled with their
// active days: churn and engagement share them.
var beneficiaryRows struct {
	sync.Mutex
	f *Frame
}

// labelledFrame extracts the labelled rows of model name on the large platform, at its end.
func labelledFrame(t *testing.T, s *Store, d *testdb.Database, name string) *Frame {
	t.Helper()
	if name != Churn && name != Engagement {
		f, err := s.Labelled(t.Context(), name, time.Time{}, d.Seed.End)
		if err != nil {
			t.Fatalf("extract %s: %v", name, err)
		}
		return f
	}
	beneficiaryRows.Lock()
	defer beneficiaryRows.Unlock()
	if beneficiaryRows.f == nil {
		err := s.readOnly(t.Context(), func(ctx context.Context, tx pgx.Tx) error {
			var err error
			beneficiaryRows.f, err = labelledBeneficiaries(ctx, tx, DefaultTimeZone, time.Time{}, d.Seed.End, func(v float64) float64 { return v })
			return err
		})
		if err != nil {
			t.Fatalf("extract beneficiary rows: %v", err)
		}
	}
	f := beneficiaryRows.f.Subset(beneficiaryRows.f.Labeled())
	label := churnLabel
	if name == Engagement {
		label = engagementLabel
	}
	for i, v := range f.Y {
		f.Y[i] = label(v)
	}
	return f
}

// truth reads a map of ground truth from schema bdc_demo (tests only): sql selects an id and a
// value.
func truth(t *testing.T, d *testdb.Database, sql string) map[int64]float64 {
	t.Helper()
	rows, err := d.DB.Pool.Query(t.Context(), sql)
	if err != nil {
		t.Fatalf("read ground truth: %v", err)
	}
	out := map[int64]float64{}
	var id int64
	var v float64
	if _, err := pgx.ForEachRow(rows, []any{&id, &v}, func() error {
		out[id] = v
		return nil
	}); err != nil {
		t.Fatalf("read ground truth: %v", err)
	}
	return out
}

// lookupAll returns the values of ids in m, failing when one is missing.
func lookupAll(t *testing.T, m map[int64]float64, ids []int64) []float64 {
	t.Helper()
	out := make([]float64, len(ids))
	for i, id := range ids {
		v, ok := m[id]
		if !ok {
			t.Fatalf("no ground truth for id %d", id)
		}
		out[i] = v
	}
	return out
}
