package export

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestTableSQL checks the statements table sources run against golden files: column names from
// the catalogue, every value a bound parameter of the column's type. Run with -update to rewrite
// them after a deliberate change.
func TestTableSQL(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	at := time.Date(2026, 6, 1, 2, 30, 0, 0, paris)
	cases := map[string]Spec{
		"appointments_filtered": {Source: "appointments", Format: "csv", Columns: []string{"id", "status", "scheduled_at"},
			TimeRange: &TimeRange{Column: "scheduled_at", Period: "week"},
			Where: []Predicate{{Column: "status", Op: "in", Value: []any{"completed", "no_show"}},
				{Column: "duration_minutes", Op: ">=", Value: 45}, {Column: "reminder_sent", Op: "=", Value: "false"},
				{Column: "channel", Op: "like", Value: "%'; drop table bdc.users; --"}},
			Limit: 10, Derive: []Derive{{Name: "lead_days", Func: "days_between", Args: []string{"booked_at", "scheduled_at"}}}},
		"trainer_availability_dates": {Source: "trainer_availability", Format: "parquet",
			TimeRange: &TimeRange{From: "2026-05-01", To: "2026-06-01"},
			Where:     []Predicate{{Column: "trainer_id", Op: "not in", Value: []any{1, "2"}}}},
		"evaluations_nulls": {Source: "evaluations", Format: "json", Where: []Predicate{{Column: "completed_at", Op: "is null"}}},
	}
	for name, spec := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := Compile(spec, nil, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			query, args := tableSQL(p.src, p.selection(at))
			var b strings.Builder
			b.WriteString(query + "\n")
			for i, a := range args {
				fmt.Fprintf(&b, "-- $%d = %#v\n", i+1, a)
			}
			golden := filepath.Join("testdata", name+".sql")
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("statement changed (run with -update if on purpose):\n%s\nwant:\n%s", b.String(), want)
			}
		})
	}
}
