package analytics_test

import (
	"testing"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/store"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// TestStatementsPlannedForTheirArguments runs queries again and again on a connection of their
// own and checks, in PostgreSQL's record of the connection's prepared statements, that each
// execution had a plan made for its arguments. pgx prepares a statement once per connection, and
// from its sixth execution PostgreSQL may switch to a generic plan, made without the range's
// dates; at the benchmark's scale that plan took paths from 0.38 s to 1.0 s and stickiness from
// 0.34 s to 0.61 s, every time after the fifth.
func TestStatementsPlannedForTheirArguments(t *testing.T) {
	d := testdb.Get(t)
	ctx := t.Context()
	db, err := store.Connect(ctx, store.Config{URL: d.URL, Application: "bdc-test-plans", MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e := analytics.NewEngine(db)
	q := analytics.Query{From: day(2026, 2, 1), To: day(2026, 5, 1)}
	const runs = 8
	for _, c := range []struct {
		name string
		run  func() (analytics.Executed, error)
	}{
		{"paths", func() (analytics.Executed, error) {
			r, err := e.Paths(ctx, analytics.PathsQuery{Query: q, StartPoint: ev("activity:login"), StepLimit: 4})
			if err != nil {
				return analytics.Executed{}, err
			}
			return r.Executed, nil
		}},
		{"stickiness", func() (analytics.Executed, error) {
			r, err := e.Stickiness(ctx, analytics.StickinessQuery{Query: q, Period: analytics.PeriodMonth})
			if err != nil {
				return analytics.Executed{}, err
			}
			return r.Executed, nil
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var sql string
			for range runs {
				ex, err := c.run()
				if err != nil {
					t.Fatal(err)
				}
				sql = ex.SQL
			}
			var custom, generic int64
			if err := db.Pool.QueryRow(ctx, "select custom_plans, generic_plans from pg_prepared_statements where statement = $1", sql).
				Scan(&custom, &generic); err != nil {
				t.Fatal(err)
			}
			if custom != runs || generic != 0 {
				t.Errorf("%d executions: %d custom plans, %d generic ones; want every one custom", runs, custom, generic)
			}
		})
	}
}
