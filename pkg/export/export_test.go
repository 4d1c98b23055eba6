package export_test

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/export"
)

// TestSplitIntoParts exports with a small row limit per file: numbered parts that together hold
// the rows once, in order, each listed in the metadata.
func TestSplitIntoParts(t *testing.T) {
	d := db(t)
	_, want := reference(t, d, `select id from bdc.appointments order by id`)
	const per = 1000
	dir, md := run(t, d, export.Spec{Source: "appointments", Format: "csv", Columns: []string{"id"}, MaxRowsPerFile: per}, nil)
	files := dataFiles(t, dir)
	parts := (len(want) + per - 1) / per
	if len(files) != parts || len(md.Files) != parts || parts < 2 {
		t.Fatalf("%d files, %d in the metadata, want %d parts of %d rows", len(files), len(md.Files), parts, per)
	}
	var ids []int64
	for i, f := range files {
		if want := "appointments_20260531T220000Z.part-" + strconv.Itoa(1000 + i + 1)[1:] + ".csv"; filepath.Base(f) != want || md.Files[i].Name != want {
			t.Errorf("part %d is %s (metadata %s), want %s", i+1, filepath.Base(f), md.Files[i].Name, want)
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(fh).ReadAll()
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		if recs[0][0] != "id" || int64(len(recs)-1) != md.Files[i].Rows || (i < parts-1 && len(recs)-1 != per) {
			t.Errorf("part %d: header %v, %d rows, metadata %d", i+1, recs[0], len(recs)-1, md.Files[i].Rows)
		}
		for _, r := range recs[1:] {
			n, _ := strconv.ParseInt(r[0], 10, 64)
			ids = append(ids, n)
		}
	}
	if len(ids) != len(want) || !slices.IsSorted(ids) || md.Rows != int64(len(want)) {
		t.Errorf("%d ids read from the parts, want %d in order", len(ids), len(want))
	}
	// XLSX splits before its sheet limit by default, and refuses a larger limit.
	if _, err := export.Compile(export.Spec{Source: "users", Format: "xlsx", MaxRowsPerFile: export.XLSXMaxRows + 1}, nil, nil, ""); err == nil {
		t.Error("an XLSX part larger than a sheet was accepted")
	}
	if export.XLSXMaxRows != 1_048_575 {
		t.Errorf("XLSXMaxRows = %d, want 1,048,576 rows minus the header", export.XLSXMaxRows)
	}
}

// TestPersonalData checks the PII policies on users.email.
func TestPersonalData(t *testing.T) {
	d := db(t)
	cases := []struct {
		name    string
		spec    export.Spec
		key     []byte
		columns []string
		dropped []string
		hashed  bool
	}{
		{"default without a key drops", export.Spec{}, nil, []string{"id", "role"}, []string{"email"}, false},
		{"default with a key anonymizes", export.Spec{}, hashKey, []string{"id", "email", "role"}, nil, true},
		{"keep", export.Spec{PII: "keep"}, nil, []string{"id", "email", "role"}, nil, false},
		{"explicit drop with a key", export.Spec{Drop: []string{"email"}}, hashKey, []string{"id", "role"}, []string{"email"}, false},
		{"derive from a dropped column", export.Spec{Derive: []export.Derive{{Name: "domain", Func: "email_domain", Args: []string{"email"}}}}, nil,
			[]string{"id", "role", "domain"}, []string{"email"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := c.spec
			spec.Source, spec.Format = "users", "json"
			if len(spec.Columns) == 0 {
				spec.Columns = []string{"id", "email", "role"}
			}
			dir, md := run(t, d, spec, c.key)
			if !slices.Equal(md.Schema.Names(), c.columns) || !slices.Equal(md.Transforms.Dropped, c.dropped) {
				t.Errorf("columns %v dropped %v, want %v and %v", md.Schema.Names(), md.Transforms.Dropped, c.columns, c.dropped)
			}
			data, _ := os.ReadFile(dataFiles(t, dir)[0])
			var rows []map[string]any
			if err := json.Unmarshal(data, &rows); err != nil {
				t.Fatal(err)
			}
			email, _ := rows[0]["email"].(string)
			switch {
			case c.hashed && (len(email) != 64 || email != export.Anonymize(c.key, "trainer1@example.org")):
				t.Errorf("email %q is not the keyed hash of trainer1@example.org", email)
			case !c.hashed && slices.Contains(c.columns, "email") && email != "trainer1@example.org":
				t.Errorf("email %q, want trainer1@example.org", email)
			case strings.Contains(string(data), "@example.org") && !slices.Contains(c.columns, "email"):
				t.Error("an address is in the file though the column was dropped")
			}
		})
	}
}

// TestAnalyticsSources exports retention and funnel results and compares them with the
// analytics engine's own answer for the same query.
func TestAnalyticsSources(t *testing.T) {
	d := db(t)
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, paris), time.Date(2026, 4, 1, 0, 0, 0, 0, paris)
	engine := analytics.NewEngine(d.DB)

	rq := analytics.RetentionQuery{Query: analytics.Query{From: from, To: to}, Period: analytics.PeriodWeek, TotalIntervals: 6}
	ret, err := engine.Retention(t.Context(), rq)
	if err != nil {
		t.Fatal(err)
	}
	_, md := run(t, d, export.Spec{Source: "retention", Format: "jsonl", Params: map[string]any{"period": "week", "totalIntervals": 6},
		TimeRange: &export.TimeRange{From: "2026-01-01", To: "2026-04-01"}}, nil)
	cells := 0
	for _, c := range ret.Cohorts {
		cells += len(c.Intervals)
	}
	if md.Rows != int64(cells) || cells == 0 {
		t.Errorf("retention: %d rows exported, the engine has %d cells", md.Rows, cells)
	}

	fq := analytics.FunnelQuery{Query: analytics.Query{From: from, To: to}, Series: []analytics.Event{
		{Kind: analytics.EventSignup}, {Kind: analytics.EventAppointmentBooked}, {Kind: analytics.EventAppointmentCompleted}}}
	fun, err := engine.Funnel(t.Context(), fq)
	if err != nil {
		t.Fatal(err)
	}
	dir, md := run(t, d, export.Spec{Source: "funnel", Format: "csv", Params: map[string]any{"series": []any{"signup", "appointment_booked", "appointment_completed"}},
		TimeRange: &export.TimeRange{From: "2026-01-01", To: "2026-04-01"}, Where: []export.Predicate{{Column: "step", Op: ">=", Value: 1}}}, nil)
	f, _ := os.Open(dataFiles(t, dir)[0])
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	steps := fun.Series[0].Steps[1:] // the predicate keeps steps 1 and 2
	if len(recs)-1 != len(steps) || md.Rows != int64(len(steps)) {
		t.Fatalf("funnel: %d rows, want %d", len(recs)-1, len(steps))
	}
	for i, s := range steps {
		r := recs[i+1]
		if r[1] != strconv.Itoa(s.Order) || r[2] != s.Name || r[3] != strconv.FormatInt(s.Count, 10) {
			t.Errorf("funnel step %d: %v, engine %+v", i, r, s)
		}
	}
	if md.Quality.Freshness != nil {
		t.Errorf("a funnel has no time column, yet freshness is %v", *md.Quality.Freshness)
	}
}
