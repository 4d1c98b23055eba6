package results

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// FuzzMarker starts the section of the fuzz log for one target: `make bench` prints
// "=== fuzz PACKAGE TARGET" before running each.
const FuzzMarker = "=== fuzz "

var (
	fuzzBaseline = regexp.MustCompile(`(?m)^fuzz: elapsed: (\S+), gathering baseline coverage: (\d+)/(\d+) completed`)
	fuzzProgress = regexp.MustCompile(`(?m)^fuzz: elapsed: (\S+), execs: (\d+) \((\d+)/sec\), new interesting: (\d+) \(total: (\d+)\)`)
	goFailed     = regexp.MustCompile(`(?m)^(--- FAIL|FAIL\b|panic:)`)
	benchFailed  = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)
)

// FuzzResults reads the fuzz log of a `make bench` run: for each target, its executions and the
// new interesting inputs it found, and the targets that failed (a crasher written
// to the package's testdata/fuzz, or a build failure).
func FuzzResults(log string) (rs []Result, failures []string) {
	sections := strings.Split("\n"+log, "\n"+FuzzMarker)
	for _, sec := range sections[1:] {
		head, body, _ := strings.Cut(sec, "\n")
		f := strings.Fields(head)
		if len(f) < 2 {
			continue
		}
		pkg, target := f[0], f[1]
		if goFailed.MatchString(body) {
			failures = append(failures, fmt.Sprintf("fuzz target %s of %s failed: see the fuzz log; a crasher is kept in %s/testdata/fuzz/%s", target, pkg, pkg, target))
			continue
		}
		all := fuzzProgress.FindAllStringSubmatch(body, -1)
		if len(all) == 0 {
			// The time ran out while the seed corpus was being run: those inputs passed, but
			// nothing new was tried.
			base := fuzzBaseline.FindAllStringSubmatch(body, -1)
			if len(base) == 0 {
				failures = append(failures, fmt.Sprintf("fuzz target %s of %s printed no progress", target, pkg))
				continue
			}
			last := base[len(base)-1]
			done, _ := strconv.ParseFloat(last[2], 64)
			rs = append(rs, Result{Area: "Fuzzing", Case: target + " (" + pkg + ")", Scale: "fuzzed for " + last[1], OursName: "go test -fuzz",
				Metric: "seed inputs run of " + last[3] + ", no fuzzing (the time ran out first)", Ours: done})
			continue
		}
		last := all[len(all)-1]
		execs, _ := strconv.ParseFloat(last[2], 64)
		interesting, _ := strconv.ParseFloat(last[4], 64)
		base := Result{Area: "Fuzzing", Case: target + " (" + pkg + ")", Scale: "fuzzed for " + last[1], OursName: "go test -fuzz"}
		for _, m := range []struct {
			metric string
			v      float64
		}{{"executions", execs}, {"new interesting inputs", interesting}} {
			r := base
			r.Metric, r.Ours = m.metric, m.v
			rs = append(rs, r)
		}
	}
	return rs, failures
}

var (
	wrkLine  = regexp.MustCompile(`wrk -t(\d+) -c(\d+) -d(\S+): (\d+) requests, ([\d.]+) req/s, latency p50 (\S+) p90 (\S+) p99 (\S+)`)
	loadPass = regexp.MustCompile(`(?m)^\s*--- PASS: TestMetricsUnderLoad\b`)
)

// LoadResults reads the -v output of the e2e load test (TestMetricsUnderLoad, its long form):
// wrk's throughput and latency percentiles against /metrics while every KPI group refreshes each
// second. The test asserts no figure, only that every request succeeds and that the refreshes go
// on; a failure of either is reported as a failure.
func LoadResults(log string) (rs []Result, failures []string) {
	m := wrkLine.FindStringSubmatch(log)
	if !loadPass.MatchString(log) || m == nil {
		return nil, []string{"load test TestMetricsUnderLoad failed or printed no wrk figures: see the load log"}
	}
	base := Result{Area: "Load", Case: "/metrics while every KPI group refreshes each second",
		Scale: fmt.Sprintf("wrk -t%s -c%s -d%s, test platform", m[1], m[2], m[3]), OursName: "bdc-exporter"}
	requests, _ := strconv.ParseFloat(m[4], 64)
	rate, _ := strconv.ParseFloat(m[5], 64)
	r := base
	r.Metric, r.Unit, r.Ours = "requests, all 2xx", "", requests
	rs = append(rs, r)
	r = base
	r.Metric, r.Unit, r.Ours = "throughput", "req/s", rate
	rs = append(rs, r)
	for i, p := range []string{"p50", "p90", "p99"} {
		d, err := time.ParseDuration(m[6+i])
		if err != nil {
			failures = append(failures, fmt.Sprintf("load test: latency %s %q: %v", p, m[6+i], err))
			continue
		}
		r = base
		r.Metric, r.Unit, r.Ours, r.LowerIsBetter = "latency "+p, "ms", float64(d)/float64(time.Millisecond), true
		rs = append(rs, r)
	}
	return rs, failures
}

var testFailed = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)

// TestFailures reads the -v output of `go test` (the hardening tests of `make bench-faults`) for
// failed tests, whose checks are then missing, and for packages that failed without a failed
// test (a build failure, a panic, the timeout).
func TestFailures(log string) []string {
	return failures(log, testFailed, "hardening test", "the hardening tests ended early (a build failure, a panic or the timeout)", "faults")
}

// BenchFailures reads the output of `go test -bench` for failed benchmarks and for a run that
// ended early (a panic, the -timeout).
func BenchFailures(log string) []string {
	return failures(log, benchFailed, "benchmark", "the benchmarks ended early (a panic or the timeout)", "benchmark")
}

// failures lists what failed matches in log (each "WHAT NAME failed"), or when nothing did but
// the run failed, early.
func failures(log string, failed *regexp.Regexp, what, early, logName string) []string {
	var out []string
	for _, m := range failed.FindAllStringSubmatch(log, -1) {
		out = append(out, what+" "+m[1]+" failed: see the "+logName+" log")
	}
	if len(out) == 0 && goFailed.MatchString(log) {
		out = append(out, early+": see the "+logName+" log")
	}
	return out
}
