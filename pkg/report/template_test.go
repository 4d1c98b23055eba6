package report_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bdc-analytics/bdc/pkg/report"
)

// TestTemplateErrors checks that a bad template file is refused with its file, line and field.
func TestTemplateErrors(t *testing.T) {
	cases := []struct {
		yml, want string
	}{
		{"", `ops.yml: (top level): the file is empty: want title and sections`},
		{"title: x\nsections: [\n", `ops.yml:2: (syntax): did not find expected node content`},
		{"titel: Ops\n", `ops.yml:1: titel: unknown field (want one of description, name, period, sections, title)`},
		{"title: Ops\nsections: []\n", `ops.yml:2: sections: a report needs at least one section`},
		{"title: Ops\nperiod: fortnight\nsections: [{kind: text, text: x}]\n", `ops.yml:2: period: unknown period "fortnight"`},
		{"title: Ops\nsections:\n  - kind: kpis\n    kpis: [bdc_users]\n  - kind: fnnel\n", `ops.yml:5: sections[1].kind: unknown section kind "fnnel" (want one of kpis, trend, cohorts, funnel, paths, segments, forecast, predictions, insights, text)`},
		{"title: Ops\nsections:\n  - kind: kpis\n    kpis:\n      - bdc_users\n      - 'bdc_noshow{window=\"7d\"}'\n", `ops.yml:6: sections[0].kpis[1]: unknown KPI "bdc_noshow"`},
		{"title: Ops\nsections:\n  - kind: trend\n    kpis: ['bdc_users{windw=\"7d\"}']\n", `ops.yml:4: sections[0].kpis[0]: "bdc_users{windw=\"7d\"}": bdc_users has no label "windw" (its labels: role)`},
		{"title: Ops\nsections:\n  - kind: funnel\n    steps: [signup]\n", `ops.yml:4: sections[0].steps: a funnel has 2 to 20 steps, got 1`},
		{"title: Ops\nsections:\n  - kind: funnel\n    steps: [signup, appointment_bookd]\n", `ops.yml:4: sections[0].steps[1]: "appointment_bookd"`},
		{"title: Ops\nsections:\n  - kind: text\n    text: hello\n    model: churn\n", `ops.yml:5: sections[0].model: sections of kind text do not take model (they take text)`},
		{"title: Ops\nsections:\n  - kind: predictions\n    threshold: 1.5\n", `ops.yml:4: sections[0].threshold: must be a risk between 0 and 1 (exclusive), got 1.5`},
		{"title: Ops\nsections:\n  - kind: predictions\n    model: churn\n    horizon_days: 3\n", `ops.yml:5: sections[0].horizon_days: only the noshow model scores upcoming days`},
		{"title: Ops\nsections:\n  - kind: forecast\n    series: bookings\n", `ops.yml:4: sections[0].series: unknown series "bookings" (want one of appointments, registrations, trainer_utilization)`},
		{"title: Ops\nsections:\n  - kind: cohorts\n    intervals: 99\n", `ops.yml:4: sections[0].intervals: must be between 1 and 52, got 99`},
		{"title: Ops\nsections:\n  - kind: insights\n    priority: urgent\n", `ops.yml:4: sections[0].priority: unknown priority "urgent" (want one of high, medium, low)`},
	}
	for _, c := range cases {
		_, err := report.ParseTemplate("ops.yml", []byte(c.yml))
		var te *report.TemplateError
		if !errors.As(err, &te) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.yml, err, c.want)
		}
	}
	good := "title: Operations, Île-de-France\nperiod: month\nsections:\n  - kind: kpis\n    kpis: ['bdc_appointment_noshow_ratio{window=\"auto\"}']\n  - kind: cohorts\n"
	tmpl, err := report.ParseTemplate("/etc/bdc/regional_ops.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Name != "regional_ops" || tmpl.Sections[1].Period != "week" || tmpl.Sections[1].Cohorts != 8 || tmpl.Sections[1].Returning != "activity" {
		t.Errorf("template with defaults: %+v", tmpl)
	}
	for _, name := range report.TemplateNames() {
		if _, err := report.LookupTemplate(name); err != nil {
			t.Errorf("built-in %s: %v", name, err)
		}
	}
}

// TestSelectors checks the KPI selector syntax.
func TestSelectors(t *testing.T) {
	for in, want := range map[string]string{
		`bdc_users`: `bdc_users`,
		` bdc_retention_ratio{ age = "4" , period="week" }`: `bdc_retention_ratio{period="week",age="4"}`,
		`bdc_users_active{window="auto"}`:                   `bdc_users_active{window="auto"}`,
	} {
		s, err := report.ParseSelector(in)
		if err != nil || s.String() != want {
			t.Errorf("%q: %v %v, want %s", in, s, err, want)
		}
	}
	for in, want := range map[string]string{
		`bdc_users{role="x"`:                  "missing closing brace",
		`bdc_users{role=x}`:                   "must be a quoted string",
		`bdc_users{role="a",role="b"}`:        "given twice",
		`bdc_users{role="auto"}`:              "only applies to the window label",
		`bdc_users{role="a" window="1d"}`:     "want a comma",
		`bdc_retention_ratio{period="week",}`: "",
	} {
		_, err := report.ParseSelector(in)
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v", in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

// FuzzParseTemplate feeds template files: parsing never panics, and a template it accepts
// validates again unchanged.
func FuzzParseTemplate(f *testing.F) {
	f.Add([]byte("title: Ops\nsections:\n  - kind: kpis\n    kpis: ['bdc_users{role=\"trainer\"}']\n  - kind: funnel\n    steps: [signup, activity:login]\n"))
	f.Add([]byte("title: x\nsections: [{kind: predictions, model: churn, threshold: 0.3}]\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tmpl, err := report.ParseTemplate("fuzz.yml", data)
		if err != nil {
			var te *report.TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("error %v is not a TemplateError", err)
			}
			return
		}
		if err := tmpl.Validate(nil); err != nil {
			t.Fatalf("an accepted template fails validation again: %v", err)
		}
	})
}

// FuzzParseSelector feeds selectors: never a panic, and an accepted selector reads back the same.
func FuzzParseSelector(f *testing.F) {
	f.Add(`bdc_retention_ratio{period="week",age="4"}`)
	f.Add(`bdc_users_active{window="auto"}`)
	f.Add(`bdc_users{role="\u00e9"}`)
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := report.ParseSelector(s)
		if err != nil {
			return
		}
		again, err := report.ParseSelector(sel.String())
		if err != nil || again.String() != sel.String() {
			t.Fatalf("%q → %q → %v %v", s, sel.String(), again, err)
		}
	})
}
