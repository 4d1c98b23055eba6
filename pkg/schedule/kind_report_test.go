package schedule_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdc-analytics/bdc/pkg/report"
	"github.com/bdc-analytics/bdc/pkg/schedule"
	"github.com/bdc-analytics/bdc/pkg/store"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// reportKinds are the kinds of the report tests: reports, with templates read from dir.
func reportKinds(db *store.DB, dir string) schedule.Kinds {
	return schedule.Kinds{schedule.KindReport: &schedule.ReportKind{Builder: &report.Builder{DB: db}, Dir: dir}}
}

const opsTemplate = `title: Opérations – Bilan de compétences
sections:
  - kind: kpis
    kpis: ['bdc_appointment_noshow_ratio{window="auto"}', bdc_satisfaction_score]
  - kind: trend
    title: No-shows
    kpis: ['bdc_appointment_noshow_ratio{window="7d"}']
  - kind: text
    text: Figures for the operations team.
`

// TestReportJob runs a report job of a custom template through the scheduler: every format is
// published in the run's folder, listed in the manifest, and the CSV zip and JSON hold the
// document's sections.
func TestReportJob(t *testing.T) {
	d := testdb.Get(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ops.yml"), []byte(opsTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	yml := `
jobs:
  - name: weekly_ops
    kind: report
    schedule: "0 7 * * 1"
    retries: 0
    report:
      template: ops.yml
      formats: [pdf, html, xlsx, csv, json]
      period: week
      filters: {appointment_channel: [video]}
`
	cfg, err := schedule.ParseConfig(filepath.Join(dir, "reporter.yml"), []byte(yml), reportKinds(d.DB, dir))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cfg.OutputDir = out
	s, _ := newScheduler(t, d.DB, cfg, "replica-a")
	run, err := s.Execute(t.Context(), "weekly_ops", day, schedule.TriggerSchedule)
	if err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(out, "weekly_ops", "2026-05-31")
	m, err := schedule.ReadManifest(folder)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ops_2026-05-18.pdf", "ops_2026-05-18.html", "ops_2026-05-18.xlsx", "ops_2026-05-18.csv.zip", "ops_2026-05-18.json"}
	if len(m.Runs) != 1 || len(m.Runs[0].Files) != len(want) || !strings.Contains(m.Runs[0].Summary, "ops for Week 21") {
		t.Fatalf("manifest %+v, run %+v", m, run)
	}
	for i, f := range m.Runs[0].Files {
		if f.Name != want[i] {
			t.Errorf("file %d is %s, want %s", i, f.Name, want[i])
		}
		data, err := os.ReadFile(filepath.Join(folder, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(data)) != f.Bytes || f.Rows == 0 {
			t.Errorf("%s: %d bytes, manifest %+v", f.Name, len(data), f)
		}
	}
	if len(staged(t, out)) != 0 {
		t.Errorf("temporary files left: %v", staged(t, out))
	}
	pdf, _ := os.ReadFile(filepath.Join(folder, want[0]))
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Error("the PDF does not start as one")
	}
	raw, _ := os.ReadFile(filepath.Join(folder, want[4]))
	var doc report.Document
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Title != "Opérations – Bilan de compétences" || len(doc.Sections) != 3 || doc.Period.Label != "Week 21 (18–24 May 2026)" ||
		len(doc.Filters.AppointmentChannel) != 1 {
		t.Errorf("document %q %q with %d sections, filters %+v", doc.Title, doc.Period.Label, len(doc.Sections), doc.Filters)
	}
	z, err := zip.OpenReader(filepath.Join(folder, want[3]))
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var names []string
	for _, f := range z.File {
		names = append(names, f.Name)
	}
	if strings.Join(names, " ") != "01_kpis.csv 02_trend.csv" {
		t.Errorf("the CSV zip holds %v, want one file per data section", names)
	}
}

// TestReportJobErrors checks that a bad report block, or a bad template file, is refused naming
// reporter.yml's line and field and, for the template, the template file's line and field.
func TestReportJobErrors(t *testing.T) {
	dir := t.TempDir()
	bad := strings.Replace(opsTemplate, "kind: trend", "kind: trnd", 1)
	if err := os.WriteFile(filepath.Join(dir, "ops.yml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	job := func(block string) string {
		return "jobs:\n  - name: r\n    kind: report\n    schedule: \"0 7 * * 1\"\n    report:\n" + block
	}
	tmplFile := filepath.Join(dir, "ops.yml")
	cases := []struct{ yml, want string }{
		{job("      template: ops.yml\n      formats: [pdf]\n"),
			`reporter.yml:6: jobs[0].report.template: ` + tmplFile + `:5: sections[1].kind: unknown section kind "trnd"`},
		{job("      template: missing.yml\n      formats: [pdf]\n"), `reporter.yml:6: jobs[0].report.template: couldn't read the report template`},
		{job("      template: executive_summary\n      formats: [pdf, docx]\n"), `reporter.yml:7: jobs[0].report.formats: unknown report format "docx"`},
		{job("      template: executive_summary\n      formats: [pdf]\n      period: fortnight\n"), `reporter.yml:8: jobs[0].report.period: unknown period "fortnight"`},
		{job("      template: executive_summary\n      formats: [pdf]\n      from: 2026-05-01\n"), `reporter.yml:8: jobs[0].report.from: give both from and to`},
		{job("      template: executive_summary\n      formats: [pdf]\n      filters:\n        age_band: [25-34, old]\n"), `reporter.yml:9: jobs[0].report.filters.age_band[1]: "old" is not an age band`},
		{job("      template: executive_summary\n      formats: [pdf]\n      colour: blue\n"), `reporter.yml:8: jobs[0].report.colour: unknown field`},
		{job("      formats: [pdf]\n"), `reporter.yml:6: jobs[0].report.template: is required`},
	}
	for _, c := range cases {
		_, err := schedule.ParseConfig("reporter.yml", []byte(c.yml), reportKinds(nil, dir))
		var ce *schedule.ConfigError
		if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s\n got %v\nwant %s", c.yml, err, c.want)
		}
	}
}
