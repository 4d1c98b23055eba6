package schedule_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bdc-analytics/bdc/pkg/schedule"
)

// FuzzParseConfig checks that reporter.yml's parser never panics, that its errors name the file,
// and that what it accepts has every job ready to schedule.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(exportJob("a")))
	f.Add([]byte("jobs:\n  - name: a\n    kind: report\n    schedule: \"0 7 * * 1\"\n"))
	f.Add([]byte("output_dir: x\ntimezone: UTC\nretention: 0s\nconcurrency: 2\ndefaults: {timeout: 5m, retries: 1, backoff: {initial: 1s, max: 1m, factor: 1.5, jitter: 0}}\njobs: []\n"))
	f.Add([]byte("jobs:\n  - name: m\n    kind: export\n    schedule: \"0 5 1 * *\"\n    export:\n      - source: retention\n        format: xlsx\n        time_range: {period: month}\n        params: {period: week, totalIntervals: 8}\n"))
	f.Add([]byte("jobs:\n  - &a {name: x, kind: export, schedule: \"@daily\", export: [{source: users, format: csv, where: [{column: role, op: in, value: [admin]}]}]}\n  - *a\n"))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := schedule.ParseConfig("fuzz.yml", data, kinds(nil))
		if err != nil {
			var ce *schedule.ConfigError
			if !errors.As(err, &ce) && !strings.HasPrefix(err.Error(), "fuzz.yml: ") {
				t.Fatalf("error %q names no file", err)
			}
			return
		}
		for _, j := range cfg.Jobs {
			if j.Location() == nil || j.MaxAttempts() < 1 || j.Name == "" {
				t.Fatalf("accepted job %+v is not ready", j)
			}
		}
	})
}
