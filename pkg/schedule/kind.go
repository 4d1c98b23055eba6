package schedule

import (
	"context"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bdc-analytics/bdc/pkg/export"
)

// Kind is what a job does.
type Kind string

// The kinds of DESIGN.md §5. A build can run those it has a Runner for (see Kinds); a job of
// another kind fails validation, saying that it is not available in this build.
const (
	KindExport   Kind = "export"
	KindReport   Kind = "report"
	KindTrain    Kind = "train"
	KindInsights Kind = "insights"
)

// AllKinds lists the kinds reporter.yml may name.
var AllKinds = []Kind{KindExport, KindReport, KindTrain, KindInsights}

// Runner prepares the jobs of one kind.
type Runner interface {
	// Prepare checks a job's block (the key named after its kind; nil when absent) and returns
	// what runs one attempt. Errors are *export.FieldError located with lines under path.
	Prepare(job *Job, block *yaml.Node, lines export.Lines, path string) (Task, error)
}

// Task does one attempt of a firing: it writes its files into out, which the scheduler publishes
// if the attempt succeeds (and the run is still this replica's) or discards. It must stop when
// ctx ends (the attempt's timeout, or shutdown).
type Task func(ctx context.Context, f Firing, out *export.Staging) (Outcome, error)

// Firing is one run of a job.
type Firing struct {
	Job string
	// At is the firing's scheduled time (a manual run's request time).
	At time.Time
	// Location is the job's time zone.
	Location *time.Location
	RunID    int64
	Attempt  int
	Trigger  string
}

// Outcome is what an attempt produced.
type Outcome struct {
	// Rows written (exports); 0 for kinds without rows.
	Rows int64
	// Files describes the data files written, by name, with their row counts; the scheduler
	// adds sizes and checksums of everything staged to the manifest.
	Files []export.FileInfo
	// Summary says in a line what the attempt did (a train job: the models retrained); it goes to
	// the log and the manifest.
	Summary string
}

// Kinds maps the kinds a build can run to their Runner.
type Kinds map[Kind]Runner

func (k Kinds) names() []string {
	var out []string
	for _, kind := range AllKinds {
		if _, ok := k[kind]; ok {
			out = append(out, string(kind))
		}
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

func kindNames(kinds []Kind) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	slices.Sort(out)
	return out
}
