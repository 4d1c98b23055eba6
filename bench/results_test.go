package bench

import (
	"os"
	"testing"

	"github.com/bdc-analytics/bdc/bench/cmd/benchreport/results"
)

// Result is one row of bench/results.md: our figure and, measured in the same run, the peer's.
type Result = results.Result

// record appends r to the file named by BDC_BENCH_RESULTS (set by `make bench`, which turns the
// file into bench/results.md and bench/results.json) and does nothing when it is unset, so that
// a benchmark run by hand prints its metrics as before. A benchmark that has failed (itself or
// a sub-benchmark) records nothing more: a side that did not run would read as a zero. Safe from
// concurrent sub-benchmarks.
func record(tb testing.TB, r Result) {
	tb.Helper()
	path := os.Getenv(results.Env)
	if path == "" || tb.Failed() {
		return
	}
	if err := r.Validate(); err != nil {
		tb.Fatal(err)
	}
	if err := results.Append(path, results.Line{Result: &r}); err != nil {
		tb.Fatalf("recording %s / %s / %s: %v", r.Area, r.Case, r.Metric, err)
	}
}
