// Package results is the format the side-by-side benchmarks record their figures in (one JSON
// object a line, appended by every benchmark process of a `make bench` run), and what benchreport
// makes of them: medians and ratios, the logs of the fuzz and load runs read as results, and
// bench/results.md. It measures nothing but the load average, which the report gives at the
// start and the end of the run and a benchmark may print beside its own figures.
package results

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Env names the file benchmarks append their results to; unset, they record nothing.
const Env = "BDC_BENCH_RESULTS"

// Result is one figure of one run: ours and, when a peer was measured in the same run, the
// peer's. A result without a peer (Peer 0, PeerName "") is ours alone, such as a report's build
// time, which nothing a user would otherwise run computes.
type Result struct {
	// Area groups results into one table (e.g. "Exporter scrape").
	Area string `json:"area"`
	// Case is what was measured (e.g. "no-show gradient boosting").
	Case string `json:"case"`
	// Scale is the size it was measured at (e.g. "users=100000").
	Scale string `json:"scale"`
	// Metric and Unit name the figure (e.g. "scrape p99", "ms").
	Metric string `json:"metric"`
	Unit   string `json:"unit"`
	// Ours and OursName are our figure and what produced it (e.g. "bdc-exporter").
	Ours     float64 `json:"ours"`
	OursName string  `json:"ours_name"`
	// Peer and PeerName are the peer's figure and what produced it (e.g. "postgres_exporter").
	Peer     float64 `json:"peer,omitempty"`
	PeerName string  `json:"peer_name,omitempty"`
	// LowerIsBetter says which way the metric improves (times, memory) when Nominal is 0.
	LowerIsBetter bool `json:"lower_is_better,omitempty"`
	// Nominal, when non-zero, is the value the metric should equal (an 80% interval should
	// cover 80%): the side closer to it is better, whichever way it misses.
	Nominal float64 `json:"nominal,omitempty"`
}

// HasPeer says whether the result carries a peer's figure.
func (r Result) HasPeer() bool { return r.PeerName != "" }

// Validate reports a result that cannot make a row.
func (r Result) Validate() error {
	switch {
	case r.Area == "" || r.Case == "" || r.Metric == "" || r.OursName == "":
		return fmt.Errorf("result %+v: area, case, metric and ours_name are required", r)
	case r.PeerName == "" && r.Peer != 0:
		return fmt.Errorf("result %+v: a peer figure without a peer name", r)
	}
	return nil
}

// Start is the line `make bench` writes before the benchmarks: when the run began and the
// machine's load then.
type Start struct {
	At          time.Time `json:"at"`
	LoadAverage string    `json:"load_average"`
}

// Check is what one hardening test saw when it ran as part of `make bench`: a fault it caused
// (PostgreSQL stopped mid-query, the disk full mid-export, a process killed mid-report) or a
// privilege it checked, what the user saw then, and what showed that nothing was lost and that
// service came back by itself. bench/results.md lists them under their area, one row each.
type Check struct {
	// Area is "Reliability" (faults) or "Security" (roles, listeners, personal data).
	Area string `json:"area"`
	// Case names the component and what was done to it.
	Case string `json:"case"`
	// Sees is what the user sees while it lasts: the error, the status, the metric.
	Sees string `json:"sees"`
	// Outcome is what the test verified afterwards: nothing lost, nothing half-written, service
	// resumed.
	Outcome string `json:"outcome"`
	// Resumed is the time from the repair (PostgreSQL restarted, space freed) to the first
	// success, in seconds; 0 when the case has no repair.
	Resumed float64 `json:"resumed_seconds,omitempty"`
	// Test is the test that proves it: "TestName (package)".
	Test string `json:"test"`
}

// Validate reports a check that cannot make a row.
func (c Check) Validate() error {
	if c.Area == "" || c.Case == "" || c.Sees == "" || c.Outcome == "" || c.Test == "" {
		return fmt.Errorf("check %+v: area, case, sees, outcome and test are required", c)
	}
	return nil
}

// Line is one line of the results file: a Start, a Result or a Check.
type Line struct {
	Start *Start `json:"start,omitempty"`
	Check *Check `json:"check,omitempty"`
	*Result
}

var appendMu sync.Mutex

// Append writes line to the file at path as one JSON line. One write call on a file opened
// with O_APPEND, under a mutex within the process: lines of sub-benchmarks and of concurrent
// processes never interleave.
func Append(path string, line Line) error {
	data, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("couldn't encode the result: %w", err)
	}
	appendMu.Lock()
	defer appendMu.Unlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("couldn't open the results file: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		_ = f.Close()
		return fmt.Errorf("couldn't append to the results file: %w", err)
	}
	return f.Close()
}

// Read parses the lines of a results file: the Start line (the last one, if several; nil if
// none), the results and the checks in the order they were written.
func Read(r io.Reader) (*Start, []Result, []Check, error) {
	var (
		start  *Start
		out    []Result
		checks []Check
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var l Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, nil, nil, fmt.Errorf("couldn't parse line %d: %w", n, err)
		}
		switch {
		case l.Start != nil:
			start = l.Start
		case l.Check != nil:
			if err := l.Check.Validate(); err != nil {
				return nil, nil, nil, fmt.Errorf("line %d: %w", n, err)
			}
			checks = append(checks, *l.Check)
		case l.Result != nil:
			if err := l.Validate(); err != nil {
				return nil, nil, nil, fmt.Errorf("line %d: %w", n, err)
			}
			out = append(out, *l.Result)
		default:
			return nil, nil, nil, fmt.Errorf("line %d: neither a start, a result nor a check", n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("couldn't read the results: %w", err)
	}
	return start, out, checks, nil
}

// LoadAverage is the machine's 1, 5 and 15 minute load averages, "unknown" if unreadable.
func LoadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
