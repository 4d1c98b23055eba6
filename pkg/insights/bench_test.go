package insights_test

import (
	"sync"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/insights"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// benchScale is the platform the benchmark runs on: 20,000 users over 640 days.
var benchScale = demo.Config{Users: 20_000, Days: 640, Seed: 11, End: time.Date(2026, 6, 1, 0, 0, 0, 0, demo.Location)}

var benchModels sync.Once

// BenchmarkDetect times each rule, and all of them with the save, at 06:00 after the generated
// history ends, with promoted no-show and churn models:
//
//	go test -run '^$' -bench Detect -benchtime 1x ./pkg/insights/
func BenchmarkDetect(b *testing.B) {
	d := testdb.GetScale(b, benchScale)
	benchModels.Do(func() { promote(b, d, benchScale.End) })
	at := benchScale.End.Add(6 * time.Hour)
	for _, rule := range []string{"trend", "anomaly", "risk", "all"} {
		b.Run(rule, func(b *testing.B) {
			s := insights.NewStore(d.DB)
			s.Config.Trend.Enabled = rule == "trend" || rule == "all"
			s.Config.Anomaly.Enabled = rule == "anomaly" || rule == "all"
			s.Config.Risk.Enabled = rule == "risk" || rule == "all"
			for b.Loop() {
				run := s.Detect
				if rule == "all" {
					run = s.Generate
				}
				found, err := run(b.Context(), at)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(len(found)), "insights")
			}
		})
	}
}
