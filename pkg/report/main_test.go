package report_test

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/kpi/kpitest"
	"github.com/bdc-analytics/bdc/pkg/predict"
	"github.com/bdc-analytics/bdc/pkg/report"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

var paris, _ = time.LoadLocation("Europe/Paris")

// at is the reports' instant: Monday 1 June 2026, 07:00 in Paris, the morning after the seeded
// history ends, so a weekly report covers 25–31 May.
var at = time.Date(2026, 6, 1, 7, 0, 0, 0, paris)

// generated fixes the documents' GeneratedAt, so renders are reproducible.
var generated = time.Date(2026, 6, 1, 7, 0, 5, 0, paris)

var (
	worldOnce sync.Once
	world     *kpitest.World
	modelOnce sync.Once
	modelErr  error
)

// reference is the brute-force KPI reference over the package database's rows.
func reference(t *testing.T) *kpitest.World {
	t.Helper()
	worldOnce.Do(func() { world = kpitest.Load(t, testdb.Get(t)) })
	return world
}

// promoteNoShow trains and registers a no-show model once, so predictions sections have one.
func promoteNoShow(t *testing.T) {
	t.Helper()
	d := testdb.Get(t)
	modelOnce.Do(func() {
		s := predict.NewStore(d.DB)
		res, err := s.Train(t.Context(), predict.NoShow, predict.TrainOptions{Now: d.Seed.End, Seed: 1})
		if err != nil {
			modelErr = err
			return
		}
		_, modelErr = s.Register(t.Context(), res, d.Seed.End)
	})
	if modelErr != nil {
		t.Fatalf("training the no-show model: %v", modelErr)
	}
}

func builder(t *testing.T) *report.Builder {
	return &report.Builder{DB: testdb.Get(t).DB, Now: func() time.Time { return generated }}
}

// expectedKPI is the reference value of a KPI row named by its metric selector at instant,
// with the report's filters: a histogram's mean, sum over count.
func expectedKPI(t *testing.T, metric string, p kpi.Params) float64 {
	t.Helper()
	sel, err := report.ParseSelector(metric)
	if err != nil {
		t.Fatalf("metric %q: %v", metric, err)
	}
	values := make([]string, len(sel.Def.Labels))
	for i, l := range sel.Def.Labels {
		values[i] = sel.Labels[l]
	}
	if p.TimeZone == "" {
		p.TimeZone = "Europe/Paris"
	}
	key := sel.Def.Name + "{" + strings.Join(values, ",") + "}"
	v, ok := reference(t).Expected(p)[key]
	if !ok {
		return math.NaN() // no such sample at that instant (no ticket of that category open)
	}
	switch x := v.(type) {
	case float64:
		return x
	case kpitest.Hist:
		if x.Count == 0 {
			return math.NaN()
		}
		return x.Sum / float64(x.Count)
	}
	t.Fatalf("reference %s is a %T", key, v)
	return 0
}

func column(t *testing.T, tab *report.Table, name string) int {
	t.Helper()
	for i, c := range tab.Columns {
		if c.Name == name {
			return i
		}
	}
	t.Fatalf("no column %s in %+v", name, tab.Columns)
	return -1
}

func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

func analyticsRegion(r string) analytics.Filters { return analytics.Filters{Region: []string{r}} }
