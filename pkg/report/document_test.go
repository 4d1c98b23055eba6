package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/report"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// allKPIs is a template with every KPI of the catalogue, every label set, in a table and the
// no-show ratio and daily active users in a trend.
func allKPIs(t *testing.T) *report.Template {
	var names []string
	for _, d := range kpi.All() {
		names = append(names, d.Name)
	}
	tmpl := &report.Template{Name: "all_kpis", Title: "Every KPI", Period: "week", Sections: []report.SectionSpec{
		{Kind: report.SectionKPIs, KPIs: names},
		{Kind: report.SectionTrend, KPIs: []string{`bdc_appointment_noshow_ratio{window="7d"}`, `bdc_users_active{window="1d"}`, `bdc_evaluation_score`}},
	}}
	if err := tmpl.Validate(nil); err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// TestKPIsMatchTheReference builds the KPI table and a trend and compares every value with the
// brute-force reference over the raw rows, at the end of the period and of the previous one, and
// at every day of the trend, without and with filters.
func TestKPIsMatchTheReference(t *testing.T) {
	d := testdb.Get(t)
	var region string
	if err := d.DB.Pool.QueryRow(t.Context(), "select region from bdc.beneficiaries group by region order by count(*) desc limit 1").Scan(&region); err != nil {
		t.Fatal(err)
	}
	for _, filters := range []analytics.Filters{{}, {Region: []string{region}, AppointmentChannel: []string{"video", "phone"}}} {
		doc, err := builder(t).Build(t.Context(), allKPIs(t), report.Params{At: at, Filters: filters})
		if err != nil {
			t.Fatal(err)
		}
		if doc.Period.Label != "Week 22 (25–31 May 2026)" || !doc.Period.From.Equal(time.Date(2026, 5, 25, 0, 0, 0, 0, paris)) ||
			!doc.Period.To.Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, paris)) || !doc.Period.PreviousFrom.Equal(time.Date(2026, 5, 18, 0, 0, 0, 0, paris)) {
			t.Fatalf("period %+v", doc.Period)
		}
		params := kpi.Params{Region: filters.Region, AppointmentChannel: filters.AppointmentChannel}
		tab := doc.Sections[0].Table
		metric, cur, prev, chg := column(t, tab, "metric"), column(t, tab, "current"), column(t, tab, "previous"), column(t, tab, "change")
		rows := 0
		for _, row := range tab.Rows {
			m := row[metric].Value.(string)
			params.At = doc.Period.To
			want := expectedKPI(t, m, params)
			if !sameFloat(row[cur].Float(), want) {
				t.Errorf("filters %v: %s at the period's end = %v, reference %v", filters, m, row[cur].Float(), want)
			}
			params.At = doc.Period.PreviousTo
			wantPrev := expectedKPI(t, m, params)
			if !sameFloat(row[prev].Float(), wantPrev) {
				t.Errorf("filters %v: %s at the previous period's end = %v, reference %v", filters, m, row[prev].Float(), wantPrev)
			}
			if row[cur].Text != report.FormatValue(want, row[cur].Unit) {
				t.Errorf("%s shows %q, want %q", m, row[cur].Text, report.FormatValue(want, row[cur].Unit))
			}
			if strings.Contains(m, "_ratio") && !sameFloat(row[chg].Float(), want-wantPrev) {
				t.Errorf("%s: change %v, want %v points", m, row[chg].Float(), want-wantPrev)
			}
			rows++
		}
		// Every label set of every KPI seen at either instant.
		keys := map[string]bool{}
		for _, at := range []time.Time{doc.Period.To, doc.Period.PreviousTo} {
			for k := range reference(t).Expected(kpi.Params{At: at, TimeZone: "Europe/Paris"}) {
				keys[k] = true
			}
		}
		if rows != len(keys) {
			t.Errorf("filters %v: %d KPI rows, the reference has %d label sets", filters, rows, len(keys))
		}
		trend := doc.Sections[1].Table
		if len(trend.Rows) != 7 {
			t.Fatalf("the weekly trend has %d points, want 7 (one per day)", len(trend.Rows))
		}
		for i, row := range trend.Rows {
			at := row[0].Value.(time.Time)
			if want := doc.Period.From.AddDate(0, 0, i+1); !at.Equal(want) {
				t.Errorf("trend point %d at %s, want %s", i, at, want)
			}
			params.At = at
			for j, m := range []string{`bdc_appointment_noshow_ratio{window="7d"}`, `bdc_users_active{window="1d"}`, `bdc_evaluation_score`} {
				if want := expectedKPI(t, m, params); !sameFloat(row[j+1].Float(), want) {
					t.Errorf("filters %v: trend %s at %s = %v, reference %v", filters, m, at, row[j+1].Float(), want)
				}
			}
		}
		if len(doc.Sections[1].Charts) != 1 || len(doc.Sections[1].Charts[0].Series) != 3 {
			t.Errorf("trend charts %+v", doc.Sections[1].Charts)
		}
	}
}

// TestAutoWindow checks that window="auto" picks the KPI window that fits the period.
func TestAutoWindow(t *testing.T) {
	tmpl := &report.Template{Name: "auto", Title: "Auto", Sections: []report.SectionSpec{
		{Kind: report.SectionKPIs, KPIs: []string{`bdc_users_active{window="auto"}`, `bdc_appointment_noshow_ratio{window="auto"}`}}}}
	if err := tmpl.Validate(nil); err != nil {
		t.Fatal(err)
	}
	for period, want := range map[string][]string{
		"day":   {`bdc_users_active{window="1d"}`, `bdc_appointment_noshow_ratio{window="7d"}`},
		"week":  {`bdc_users_active{window="7d"}`, `bdc_appointment_noshow_ratio{window="7d"}`},
		"month": {`bdc_users_active{window="30d"}`, `bdc_appointment_noshow_ratio{window="30d"}`},
	} {
		doc, err := builder(t).Build(t.Context(), tmpl, report.Params{At: at, Period: period})
		if err != nil {
			t.Fatal(err)
		}
		tab := doc.Sections[0].Table
		var got []string
		for _, row := range tab.Rows {
			got = append(got, row[column(t, tab, "metric")].Text)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: rows %v, want %v", period, got, want)
		}
	}
}

// TestBehaviourSections checks the cohort matrix and the funnel against plain SQL over the
// canonical tables: cohort sizes and the funnel's first step are registrations counted directly.
func TestBehaviourSections(t *testing.T) {
	d := testdb.Get(t)
	tmpl := &report.Template{Name: "behaviour", Title: "Behaviour", Period: "month", Sections: []report.SectionSpec{
		{Kind: report.SectionCohorts, Period: "week", Cohorts: 6, Intervals: 4},
		{Kind: report.SectionFunnel, Steps: []string{"signup", "appointment_booked", "appointment_completed"}},
		{Kind: report.SectionPaths, Limit: 5},
		{Kind: report.SectionSegments},
		{Kind: report.SectionText, Text: "Bilan de compétences:\nfirst paragraph.\n\nSecond paragraph."},
	}}
	if err := tmpl.Validate(nil); err != nil {
		t.Fatal(err)
	}
	doc, err := builder(t).Build(t.Context(), tmpl, report.Params{At: at})
	if err != nil {
		t.Fatal(err)
	}
	cohorts := doc.Sections[0].Table
	rows, err := d.DB.Pool.Query(t.Context(), `select date_trunc('week', u.created_at at time zone 'Europe/Paris')::date, count(*)
		from bdc.beneficiaries b join bdc.users u on u.id = b.user_id
		where u.created_at >= '2026-04-20T00:00:00+02:00' and u.created_at < '2026-06-01T00:00:00+02:00'
		group by 1 order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for rows.Next() {
		var day time.Time
		var n int64
		if err := rows.Scan(&day, &n); err != nil {
			t.Fatal(err)
		}
		want[day.Format(time.DateOnly)] = n
	}
	if len(cohorts.Rows) != 6 {
		t.Fatalf("%d cohorts, want 6", len(cohorts.Rows))
	}
	for _, row := range cohorts.Rows {
		day := row[0].Value.(time.Time).In(paris).Format(time.DateOnly)
		if got := row[1].Value.(int64); got != want[day] {
			t.Errorf("cohort %s: %d registered, plain SQL counts %d", day, got, want[day])
		}
		if row[2].Float() != 1 && row[1].Value.(int64) > 0 {
			t.Errorf("cohort %s: week 0 is %v, want 100 %%", day, row[2].Float())
		}
	}
	var signups int64
	if err := d.DB.Pool.QueryRow(t.Context(), `select count(*) from bdc.beneficiaries b join bdc.users u on u.id = b.user_id
		where u.created_at >= '2026-05-01T00:00:00+02:00' and u.created_at < '2026-06-01T00:00:00+02:00'`).Scan(&signups); err != nil {
		t.Fatal(err)
	}
	funnel := doc.Sections[1].Table
	if got := funnel.Rows[0][1].Value.(int64); got != signups || signups == 0 {
		t.Errorf("funnel first step %d, plain SQL counts %d registrations in May", got, signups)
	}
	for i := 1; i < len(funnel.Rows); i++ {
		if funnel.Rows[i][1].Value.(int64) > funnel.Rows[i-1][1].Value.(int64) {
			t.Errorf("funnel step %d has more users than the step before", i)
		}
	}
	if n := len(doc.Sections[2].Table.Rows); n == 0 || n > 5 {
		t.Errorf("%d journeys, want 1 to 5", n)
	}
	var users int64
	for _, row := range doc.Sections[3].Table.Rows {
		users += row[1].Value.(int64)
	}
	if users == 0 {
		t.Error("no beneficiary in the segments")
	}
	if p := doc.Sections[4].Paragraphs; len(p) != 2 || p[0] != "Bilan de compétences: first paragraph." {
		t.Errorf("text paragraphs %q", p)
	}
}

// TestPeriods checks the calendar periods and their labels, across a daylight saving change.
func TestPeriods(t *testing.T) {
	cases := []struct {
		period   string
		at       time.Time
		from, to string
		label    string
	}{
		{"day", at, "2026-05-31", "2026-06-01", "Sunday 31 May 2026"},
		{"week", time.Date(2026, 3, 30, 7, 0, 0, 0, paris), "2026-03-23", "2026-03-30", "Week 13 (23–29 March 2026)"},
		{"month", at, "2026-05-01", "2026-06-01", "May 2026"},
		{"quarter", at, "2026-01-01", "2026-04-01", "Q1 2026 (1 Jan – 31 Mar 2026)"},
		{"week", time.Date(2026, 2, 2, 7, 0, 0, 0, paris), "2026-01-26", "2026-02-02", "Week 5 (26 Jan – 1 Feb 2026)"},
	}
	tmpl := &report.Template{Name: "text", Title: "Text", Sections: []report.SectionSpec{{Kind: report.SectionText, Text: "x"}}}
	for _, c := range cases {
		doc, err := builder(t).Build(t.Context(), tmpl, report.Params{At: c.at, Period: c.period})
		if err != nil {
			t.Fatal(err)
		}
		p := doc.Period
		if p.From.Format(time.DateOnly) != c.from || p.To.Format(time.DateOnly) != c.to || p.Label != c.label ||
			p.From.Hour() != 0 || p.To.Hour() != 0 {
			t.Errorf("%s at %s: %s – %s %q, want %s – %s %q", c.period, c.at, p.From, p.To, p.Label, c.from, c.to, c.label)
		}
	}
	// A custom period of whole days is compared with as many days before it.
	doc, err := builder(t).Build(t.Context(), tmpl, report.Params{At: at,
		From: time.Date(2026, 3, 20, 0, 0, 0, 0, paris), To: time.Date(2026, 4, 3, 0, 0, 0, 0, paris)})
	if err != nil {
		t.Fatal(err)
	}
	if p := doc.Period; p.PreviousFrom.Format(time.DateOnly) != "2026-03-06" || p.Label != "20 Mar – 2 Apr 2026" {
		t.Errorf("custom period %+v", p)
	}
	if _, err := builder(t).Build(t.Context(), tmpl, report.Params{At: at, Period: "fortnight"}); err == nil ||
		!strings.Contains(err.Error(), `unknown period "fortnight"`) {
		t.Errorf("unknown period: %v", err)
	}
}
