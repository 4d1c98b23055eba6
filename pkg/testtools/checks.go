package testtools

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bdc-analytics/bdc/bench/cmd/benchreport/results"
)

// RecordCheck logs what a hardening test saw (a fault it caused, what the user saw, what it
// verified afterwards) and, when the test runs under `make bench` (results.Env set, as
// `make bench-faults` does), appends it to the run's results, for the Reliability and Security
// tables of bench/results.md. c.Test defaults to the test's name and package folder. Call it
// once the test has verified what c says, at its end: a failed test records nothing.
func RecordCheck(tb testing.TB, c results.Check) {
	tb.Helper()
	if c.Test == "" {
		c.Test = tb.Name()
		if wd, err := os.Getwd(); err == nil {
			if root, err := moduleRoot(); err == nil {
				if rel, err := filepath.Rel(root, wd); err == nil {
					c.Test += " (" + filepath.ToSlash(rel) + ")"
				}
			}
		}
	}
	if err := c.Validate(); err != nil {
		tb.Fatal(err)
	}
	resumed := ""
	if c.Resumed > 0 {
		resumed = fmt.Sprintf(" Resumed after %.2f s.", c.Resumed)
	}
	tb.Logf("%s check: %s. The user sees: %s. Verified: %s.%s", c.Area, c.Case, c.Sees, c.Outcome, resumed)
	path := os.Getenv(results.Env)
	if path == "" || tb.Failed() {
		return
	}
	if err := results.Append(path, results.Line{Check: &c}); err != nil {
		tb.Fatalf("recording the check %q: %v", c.Case, err)
	}
}

// Percentile is the nearest-rank p-th percentile (0 to 100) of values, NaN when there are none.
func Percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	s := slices.Clone(values)
	slices.Sort(s)
	return s[max(0, int(math.Ceil(p/100*float64(len(s))))-1)]
}
