package export_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bdc-analytics/bdc/pkg/export"
)

// FuzzParsePredicate checks that the command-line predicate parser never panics, and that what
// it accepts prints back (String) to the same predicate.
func FuzzParsePredicate(f *testing.F) {
	for _, s := range []string{
		"status = completed", "score >= 4", "status in (completed, no_show)", "email like '%@example.org'",
		"completed_at is null", "resolved_at IS NOT NULL", "region not in ('Île-de-France', 'it''s')", "a<>b",
		"x in ()", "x = 'unterminated", "1x = 2", "x is", "x in (a,,b)", "x =", "", "x = 'a' extra",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := export.ParsePredicate(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "predicate ") {
				t.Fatalf("error %q does not quote the predicate", err)
			}
			return
		}
		again, err := export.ParsePredicate(p.String())
		if err != nil {
			t.Fatalf("%q parsed to %+v, whose String %q does not parse: %v", s, p, p.String(), err)
		}
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("%q: %+v printed as %q parses to %+v", s, p, p.String(), again)
		}
	})
}

// FuzzCompileWhere checks that predicates of any shape, compiled against a source, either fail
// with a field error or compile; nothing panics and no value reaches SQL text.
func FuzzCompileWhere(f *testing.F) {
	f.Add("status", "in", "completed,no_show")
	f.Add("score", ">=", "4")
	f.Add("scheduled_at", "<", "2026-01-01")
	f.Add("reminder_sent", "=", "true")
	f.Add("channel", "like", "%o%")
	f.Add("duration_minutes", "is null", "")
	f.Fuzz(func(t *testing.T, column, op, value string) {
		var v any = value
		if strings.Contains(value, ",") {
			var list []any
			for _, x := range strings.Split(value, ",") {
				list = append(list, x)
			}
			v = list
		}
		if value == "" {
			v = nil
		}
		spec := export.Spec{Source: "appointments", Format: "csv", Where: []export.Predicate{{Column: column, Op: export.Op(op), Value: v}}}
		if _, err := export.Compile(spec, nil, nil, ""); err != nil {
			if !strings.HasPrefix(err.Error(), "where[0]") {
				t.Fatalf("error %q does not name the predicate", err)
			}
		}
	})
}

// FuzzParseDerive checks the command-line derive parser.
func FuzzParseDerive(f *testing.F) {
	for _, s := range []string{"lead=days_between(booked_at, scheduled_at)", "d=date(x)", "x=f()", "=f(a)", "a=f(a", "a=(b)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := export.ParseDerive(s)
		if err != nil {
			return
		}
		if d.Name == "" || d.Func == "" {
			t.Fatalf("%q parsed to %+v", s, d)
		}
	})
}
