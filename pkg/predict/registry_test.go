package predict

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/ml"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// registryScale is a small platform of its own for the registry tests, whose versions and
// promotions must not mix with other tests'.
var registryScale = demo.Config{Users: 700, Days: 240, Seed: 5, End: time.Date(2026, 6, 1, 0, 0, 0, 0, demo.Location)}

func registryStore(t *testing.T) (*Store, *testdb.Database) {
	t.Helper()
	d := testdb.GetScale(t, registryScale)
	return NewStore(d.DB), d
}

// TestRegistry trains the no-show model, registers it, loads it back, then registers a worse
// and an equal model: the steps depend on each other, so they are subtests of one test.
func TestRegistry(t *testing.T) {
	t.Parallel()
	s, d := registryStore(t)
	ctx := t.Context()
	end := d.Seed.End
	res, err := s.Train(ctx, NoShow, TrainOptions{Now: end})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("small platform no-show: %s, rows %+v, test ROC AUC %.4f", res.Algorithm, res.Rows, res.Metrics[MetricROCAUC])

	t.Run("a first version is promoted", func(t *testing.T) {
		reg, err := s.Register(ctx, res, end)
		if err != nil {
			t.Fatal(err)
		}
		if !reg.Promoted || reg.Version.Version != 1 || reg.Version.Comparison != nil {
			t.Fatalf("first registration: promoted %v, version %d, comparison %+v (%s)", reg.Promoted, reg.Version.Version, reg.Version.Comparison, reg.Reason)
		}
	})

	t.Run("a loaded version predicts exactly as trained", func(t *testing.T) {
		v, err := s.LatestPromoted(ctx, NoShow)
		if err != nil {
			t.Fatal(err)
		}
		if v.Version != 1 || v.Algorithm != res.Algorithm || v.Task != ml.Classification || !v.Promoted || !v.TrainedAt.Equal(end) {
			t.Errorf("loaded version %d %s %s promoted %v trained %s", v.Version, v.Algorithm, v.Task, v.Promoted, v.TrainedAt)
		}
		if !reflect.DeepEqual(v.Schema, res.Schema) || !reflect.DeepEqual(v.Metrics, res.Metrics) ||
			!reflect.DeepEqual(v.Validation, res.Validation) || !reflect.DeepEqual(v.Baseline, res.Baseline) || v.Rows != res.Rows {
			t.Error("schema, metrics, baseline or row counts changed on the way through the registry")
		}
		for _, p := range [][2]time.Time{{v.Window.From, res.Window.From}, {v.Window.TrainEnd, res.Window.TrainEnd},
			{v.Window.ValidEnd, res.Window.ValidEnd}, {v.Window.To, res.Window.To}} {
			if !p[0].Equal(p[1]) {
				t.Errorf("training window boundary %s came back as %s", p[1], p[0])
			}
		}
		want, err := res.Schema.Encode(res.Test)
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Schema.Encode(res.Test)
		if err != nil {
			t.Fatal(err)
		}
		pw, _ := ml.PredictProba(res.Fitted, want)
		pg, err := ml.PredictProba(v.Fitted, got)
		if err != nil {
			t.Fatal(err)
		}
		for i := range pw {
			bw, cw := res.Fitted.Contributions(want.Row(i))
			bg, cg := v.Fitted.Contributions(got.Row(i))
			if math.Float64bits(pw[i]) != math.Float64bits(pg[i]) || bw != bg || !reflect.DeepEqual(cw, cg) {
				t.Fatalf("row %d: probability %v became %v after the round trip", i, pw[i], pg[i])
			}
		}
		t.Logf("%d test rows predicted bit-identically by the loaded version", len(pw))
	})

	t.Run("a worse version is not promoted", func(t *testing.T) {
		worse, err := s.Train(ctx, NoShow, TrainOptions{Now: end, Window: res.Window,
			GBM: ml.GBMParams{Task: ml.Classification, MaxIter: 1, MaxLeafNodes: 2, MinSamplesLeaf: 500}})
		if err != nil {
			t.Fatal(err)
		}
		reg, err := s.Register(ctx, worse, end.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		c := reg.Version.Comparison
		if reg.Promoted || c == nil || c.Candidate >= c.Current || c.CurrentVersion != 1 || c.Metric != MetricROCAUC || c.Rows != worse.Rows.Test {
			t.Fatalf("worse model: promoted %v, comparison %+v (%s)", reg.Promoted, c, reg.Reason)
		}
		t.Logf("version %d not promoted: %s", reg.Version.Version, reg.Reason)
		v, err := s.LatestPromoted(ctx, NoShow)
		if err != nil || v.Version != 1 {
			t.Fatalf("promoted version after a worse one: %v, %v", v, err)
		}
	})

	t.Run("an equally good version is promoted", func(t *testing.T) {
		reg, err := s.Register(ctx, res, end.Add(2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		c := reg.Version.Comparison
		if !reg.Promoted || reg.Version.Version != 3 || c == nil || c.Candidate != c.Current {
			t.Fatalf("equal model: promoted %v, version %d, comparison %+v (%s)", reg.Promoted, reg.Version.Version, c, reg.Reason)
		}
		versions, err := s.Versions(ctx, NoShow, 0)
		if err != nil {
			t.Fatal(err)
		}
		var promoted []int
		for _, v := range versions {
			if v.Promoted {
				promoted = append(promoted, v.Version)
			}
		}
		if len(versions) != 3 || versions[0].Version != 3 || !reflect.DeepEqual(promoted, []int{3}) {
			t.Fatalf("versions newest first with only version 3 promoted, got %d versions, promoted %v", len(versions), promoted)
		}
		all, err := s.PromotedVersions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 1 || all[0].Model != NoShow || all[0].Version != 3 || all[0].Fitted != nil || all[0].Metrics[MetricROCAUC] != res.Metrics[MetricROCAUC] {
			t.Fatalf("promoted versions: %+v", all)
		}
	})

	t.Run("a version that cannot read the rows gives way", func(t *testing.T) {
		current, err := s.LatestPromoted(ctx, NoShow)
		if err != nil {
			t.Fatal(err)
		}
		current.Schema.Features = append(current.Schema.Features, SchemaFeature{Name: "retired_feature", Kind: KindNumeric})
		promote, reason, c, err := decidePromotion(noShowModel, current, res)
		if err != nil || !promote || c != nil || !strings.Contains(reason, "retired_feature") {
			t.Fatalf("promote %v, reason %q, comparison %+v, err %v", promote, reason, c, err)
		}
	})

	t.Run("scoring without a promoted model says so", func(t *testing.T) {
		_, err := s.Score(ctx, Engagement, ScoreOptions{Now: end})
		if !errors.Is(err, ErrNoModel) {
			t.Fatalf("score engagement before any training: %v, want ErrNoModel", err)
		}
	})
}
