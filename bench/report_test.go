package bench

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/report"
)

// countingWriter counts what a renderer writes.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countingWriter)(nil)

// BenchmarkReports builds every shipped template on the benchmark platform for its default
// period ending at the platform's end (a weekly or monthly report as its job would make it),
// then renders the document in every format. It reports the build time (the database work:
// KPIs, analytics, scoring) and each format's render time and size. There is no peer: nothing a
// user would otherwise run builds these documents; the figures say what a report job costs.
func BenchmarkReports(b *testing.B) {
	d := Platform(b)
	builder := &report.Builder{DB: d.DB}
	at := d.Seed.End.Add(7 * time.Hour) // a Monday 07:00 job firing after the last complete week
	for _, name := range report.TemplateNames() {
		t, err := report.LookupTemplate(name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			var doc *report.Document
			var build time.Duration
			for b.Loop() {
				begin := time.Now()
				if doc, err = builder.Build(b.Context(), t, report.Params{At: at}); err != nil {
					b.Fatal(err)
				}
				build = time.Since(begin)
			}
			b.ReportMetric(build.Seconds(), "build-s")
			scale := fmt.Sprintf("users=%d", d.Seed.Users)
			record(b, Result{Area: "Reports", Case: name, Scale: scale, Metric: "build", Unit: "s", Ours: build.Seconds(),
				OursName: "report.Builder", LowerIsBetter: true})
			for _, fname := range report.FormatNames() {
				f, err := report.LookupFormat(fname)
				if err != nil {
					b.Fatal(err)
				}
				var w countingWriter
				begin := time.Now()
				if err := f.Render(doc, &w); err != nil {
					b.Fatalf("render %s as %s: %v", name, fname, err)
				}
				rendered := time.Since(begin).Seconds()
				b.ReportMetric(rendered, fname+"-s")
				record(b, Result{Area: "Reports", Case: name, Scale: scale, Metric: "render " + fname, Unit: "ms", Ours: rendered * 1000,
					OursName: "report format " + fname, LowerIsBetter: true})
				b.ReportMetric(float64(w.n)/1024, fname+"-KiB")
			}
		})
	}
}
