package kpi_test

// Every KPI is checked against a brute-force computation in Go over the raw rows of the test
// database, written from the KPI's help text, not from its SQL.

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/kpi/kpitest"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// computed runs every KPI at p and returns the shape of kpitest.Expected.
func computed(t *testing.T, d *testdb.Database, p kpi.Params) map[string]any {
	t.Helper()
	out := map[string]any{}
	err := d.DB.ReadOnly(t.Context(), time.Minute, func(ctx context.Context, tx pgx.Tx) error {
		for _, def := range kpi.All() {
			samples, err := def.Run(ctx, tx, p)
			if err != nil {
				return err
			}
			for _, s := range samples {
				key := def.Name + "{" + strings.Join(s.Labels, ",") + "}"
				if def.Kind == kpi.Histogram {
					out[key] = kpitest.Hist{Buckets: s.Buckets, Sum: s.Sum, Count: s.Count}
				} else {
					out[key] = s.Value
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEveryKPIMatchesBruteForce(t *testing.T) {
	d := testdb.Get(t)
	w := kpitest.Load(t, d)
	end := d.Seed.End
	// An instant with visitors online: a minute after the last visit a day before the end.
	busy := w.LastActivityBefore(end.Add(-24 * time.Hour))
	cases := []struct {
		name string
		p    kpi.Params
	}{
		{"busy minute", kpi.Params{At: busy.Add(time.Minute), TimeZone: "Europe/Paris"}},
		{"start of a future day", kpi.Params{At: end.Add(33 * time.Hour), TimeZone: "Europe/Paris"}},
		{"mid history, another zone", kpi.Params{At: end.AddDate(0, 0, -45).Add(17 * time.Hour), TimeZone: "America/New_York"}},
		{"filters", kpi.Params{At: end.AddDate(0, 0, -10).Add(11 * time.Hour), TimeZone: "Europe/Paris",
			Region: []string{"ile-de-france", "occitanie"}, AcquisitionChannel: []string{"cpf", "employer", "referral"}}},
		{"appointment channel and trainer", kpi.Params{At: end.AddDate(0, 0, -3), TimeZone: "Europe/Paris",
			AppointmentChannel: []string{"video"}, TrainerID: []int64{1, 2}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := computed(t, d, c.p)
			kpitest.Compare(t, got, w.Expected(c.p))
			if v := got["bdc_users_online{}"]; c.name == "busy minute" && v.(float64) == 0 {
				t.Error("the busy minute should have users online")
			}
		})
	}
}

func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range kpi.All() {
		if !kpi.ValidName(d.Name) || !strings.HasPrefix(d.Name, "bdc_") {
			t.Errorf("%s: not a bdc_ metric name", d.Name)
		}
		if seen[d.Name] {
			t.Errorf("%s defined twice", d.Name)
		}
		seen[d.Name] = true
		if d.Help == "" || d.Unit == "" || d.Group == "" {
			t.Errorf("%s: help, unit and group are required", d.Name)
		}
		if (d.Kind == kpi.Counter) != strings.HasSuffix(d.Name, "_total") {
			t.Errorf("%s: counters and only counters end in _total", d.Name)
		}
		if d.Unit == "ratio" && !strings.HasSuffix(d.Name, "_ratio") {
			t.Errorf("%s: ratios end in _ratio", d.Name)
		}
		if d.Kind == kpi.Histogram && (len(d.Buckets) == 0 || !slices.IsSorted(d.Buckets)) {
			t.Errorf("%s: histogram buckets must be ascending", d.Name)
		}
		for _, l := range d.Labels {
			if !kpi.ValidName(l) || strings.Contains(l, "id") {
				t.Errorf("%s: label %q (no ids as labels)", d.Name, l)
			}
		}
	}
}

// TestActiveUsersWithTheRollup: bdc_users_active and bdc_activity_events_total read the whole
// days the daily activity rollup covers from it, and the rest raw. With the rollup covering history up to ten days
// before the end, every window (inside the coverage, across its edge, past it, across the
// spring DST change) equals the brute force over the raw rows.
func TestActiveUsersWithTheRollup(t *testing.T) {
	ctx := t.Context()
	d, err := testdb.Create(ctx, "kpi_rollup", testdb.Scale)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Drop(context.WithoutCancel(ctx)) })
	end := d.Seed.End
	if _, err := analytics.RefreshRollupsWith(ctx, d.DB, analytics.RefreshOptions{Until: end.AddDate(0, 0, -10)}); err != nil {
		t.Fatal(err)
	}
	w := kpitest.Load(t, d)
	for _, at := range []time.Time{
		end.AddDate(0, 0, -40).Add(9*time.Hour + 17*time.Minute),  // every window covered
		end.AddDate(0, 0, -12).Add(23*time.Hour + 59*time.Minute), // the 1d window across the coverage's last day
		end.AddDate(0, 0, -7).Add(3 * time.Hour),                  // 7d and 30d across the edge
		end.Add(-time.Second),                                     // past the coverage for 1d and 7d
		time.Date(2026, 3, 30, 1, 30, 0, 0, end.Location()),       // windows across the spring DST change
		end.AddDate(0, 0, -10),                                    // exactly at the edge
	} {
		p := kpi.Params{At: at, TimeZone: "Europe/Paris"}
		got, want := computed(t, d, p), w.Expected(p)
		for _, win := range []string{"1d", "7d", "30d"} {
			key := "bdc_users_active{" + win + "}"
			if got[key] != want[key] || got[key].(float64) == 0 {
				t.Errorf("at %s: %s = %v, brute force %v", at.Format(time.RFC3339), key, got[key], want[key])
			}
		}
		// The counter by activity type reads the rollup's per-day counts the same way.
		n := 0
		for key, v := range want {
			if strings.HasPrefix(key, "bdc_activity_events_total{") {
				n++
				if got[key] != v {
					t.Errorf("at %s: %s = %v, brute force %v", at.Format(time.RFC3339), key, got[key], v)
				}
			}
		}
		if n < 5 {
			t.Errorf("at %s: %d activity types", at.Format(time.RFC3339), n)
		}
	}
}
