// Command benchreport turns the results `make bench` recorded into bench/results.md and
// bench/results.json: the median of each side over the runs, the ratio, and the machine the
// figures were measured on.
//
//	benchreport -raw bench/results.jsonl -start                  # before the run: time and load
//	benchreport -raw bench/results.jsonl -bench-log ... -fuzz-log ... -load-log ... -out bench
//
// It exits non-zero, after writing the report, when a benchmark, fuzz target or load test failed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bdc-analytics/bdc/bench/cmd/benchreport/results"
)

// options are benchreport's flags.
type options struct {
	raw, out, command                     string
	start                                 bool
	benchLog, fuzzLog, loadLog, faultsLog string
	readme, report                        string
	databaseURL                           string
}

func main() {
	var o options
	flag.StringVar(&o.raw, "raw", "bench/results.jsonl", "the results file the benchmarks appended to ("+results.Env+")")
	flag.BoolVar(&o.start, "start", false, "append the run's start (time, load average) to -raw and exit")
	flag.StringVar(&o.out, "out", "bench", "the directory to write results.md and results.json into")
	flag.StringVar(&o.command, "command", "make bench", "the command the report says produced it")
	flag.StringVar(&o.benchLog, "bench-log", "", "the output of `go test -bench` (for its failures)")
	flag.StringVar(&o.fuzzLog, "fuzz-log", "", "the output of the fuzz runs, each after a line \""+results.FuzzMarker+"PACKAGE TARGET\"")
	flag.StringVar(&o.loadLog, "load-log", "", "the -v output of the load test TestMetricsUnderLoad")
	flag.StringVar(&o.readme, "readme", "", "a document (README.md) whose <!-- bench:NAME --> sections to fill with the report's tables")
	flag.StringVar(&o.report, "report", "", "with -readme: fill it from this results.json of an earlier run instead of making a report")
	flag.StringVar(&o.faultsLog, "faults-log", "", "the -v output of the hardening tests (`make bench-faults`), for their failures")
	flag.StringVar(&o.databaseURL, "database-url", "", "the PostgreSQL server whose version the report gives (default: the tests' server)")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// errFailures is returned after the report is written when some of what it reports failed.
var errFailures = errors.New("some benchmarks failed: see the report's Failures")

func run(ctx context.Context, o options) error {
	if o.start {
		return results.Append(o.raw, results.Line{Start: &results.Start{At: time.Now(), LoadAverage: results.LoadAverage()}})
	}
	if o.report != "" {
		data, err := os.ReadFile(o.report)
		if err != nil {
			return err
		}
		var r results.Report
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("%s: %w", o.report, err)
		}
		return fillReadme(o.readme, r)
	}
	f, err := os.Open(o.raw)
	if err != nil {
		return fmt.Errorf("couldn't open the results: %w", err)
	}
	begin, recorded, checks, err := results.Read(f)
	_ = f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", o.raw, err)
	}
	r := results.Report{Command: o.command, Finished: time.Now(), LoadEnd: results.LoadAverage(), Machine: machine(ctx, o.databaseURL)}
	if begin != nil {
		r.Started, r.LoadStart = begin.At, begin.LoadAverage
	} else {
		r.Started, r.LoadStart = r.Finished, "unknown"
	}
	for _, l := range []struct {
		path  string
		parse func(string) ([]results.Result, []string)
	}{
		{o.benchLog, func(s string) ([]results.Result, []string) { return nil, results.BenchFailures(s) }},
		{o.fuzzLog, results.FuzzResults},
		{o.loadLog, results.LoadResults},
		{o.faultsLog, func(s string) ([]results.Result, []string) { return nil, results.TestFailures(s) }},
	} {
		if l.path == "" {
			continue
		}
		data, err := os.ReadFile(l.path)
		if err != nil {
			r.Failures = append(r.Failures, fmt.Sprintf("no log %s: %v", l.path, err))
			continue
		}
		rs, failures := l.parse(string(data))
		recorded = append(recorded, rs...)
		r.Failures = append(r.Failures, failures...)
	}
	r.Rows = results.Summarize(recorded)
	r.Checks = results.SummarizeChecks(checks)

	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(o.out, "results.json"), append(js, '\n')); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(o.out, "results.md"), []byte(r.Markdown())); err != nil {
		return err
	}
	fmt.Printf("benchreport: %d rows from %d results into %s\n", len(r.Rows), len(recorded), filepath.Join(o.out, "results.md"))
	if o.readme != "" {
		if err := fillReadme(o.readme, r); err != nil {
			return err
		}
	}
	if len(r.Failures) > 0 {
		return errFailures
	}
	return nil
}

// fillReadme fills the marked sections of the document at path with r's tables.
func fillReadme(path string, r results.Report) error {
	if path == "" {
		return errors.New("-report needs -readme")
	}
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	filled, err := r.Fill(string(doc))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := writeFile(path, []byte(filled)); err != nil {
		return err
	}
	fmt.Printf("benchreport: the tables of %s filled in\n", path)
	return nil
}

// writeFile replaces path with data through a temporary file, so that an interrupted run never
// leaves a half-written report.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("couldn't write %s: %w", path, err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644) //nolint:gosec // G302: the report is a file of the repository, read by all
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("couldn't write %s: %w", path, err)
	}
	return nil
}
