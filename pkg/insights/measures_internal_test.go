package insights

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// TestMeasuresEqualTheKPIs checks that the trend rule compares the KPIs the exporter publishes:
// over the same days, each measure that names a metric equals that metric of package kpi, for the
// current and the previous period (a KPI evaluated at an instant covers the window just before
// it, so at the last microsecond of the period's days).
func TestMeasuresEqualTheKPIs(t *testing.T) {
	d := testdb.Get(t)
	paris, _ := time.LoadLocation("Europe/Paris")
	at := d.Seed.End.Add(6 * time.Hour)
	windowLabel := map[string]string{PeriodWeek: "7d", PeriodMonth: "30d"}
	compared := 0
	err := d.DB.ReadOnly(t.Context(), time.Minute, func(ctx context.Context, tx pgx.Tx) error {
		for _, period := range []string{PeriodWeek, PeriodMonth} {
			w := windowAt(period, at, paris)
			for _, m := range measures {
				if m.metric == "" {
					continue
				}
				def, ok := kpi.ByName(m.metric)
				if !ok {
					t.Fatalf("%s names unknown metric %s", m.name, m.metric)
				}
				prev, cur, err := m.samples(ctx, tx, w)
				if err != nil {
					return err
				}
				for _, side := range []struct {
					end time.Time
					got float64
				}{{w.to, m.of(cur)}, {w.from, m.of(prev)}} {
					samples, err := def.Run(ctx, tx, kpi.Params{At: side.end.Add(-time.Microsecond)})
					if err != nil {
						return err
					}
					want, found := math.NaN(), false
					for _, s := range samples {
						switch {
						case def.Kind == kpi.Histogram && period == PeriodMonth:
							want, found = s.Sum/float64(s.Count), true
						case len(s.Labels) == 1 && s.Labels[0] == windowLabel[period]:
							want, found = s.Value, true
						case len(def.Labels) == 0 && def.Kind != kpi.Histogram && period == PeriodMonth:
							want, found = s.Value, true
						}
					}
					if !found {
						continue // the KPI has no window of this period's length
					}
					compared++
					if math.Abs(side.got-want) > 1e-9*math.Max(1, math.Abs(want)) || math.IsNaN(want) {
						t.Errorf("%s %s to %s: %v, %s says %v", m.name, period, side.end.Format(time.DateOnly), side.got, m.metric, want)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// active users, no-show and completion over both periods, satisfaction and resolution time
	// over 30 days; both sides of each.
	if compared != 2*(3*2+2) {
		t.Errorf("%d comparisons, want %d", compared, 2*(3*2+2))
	}
}
