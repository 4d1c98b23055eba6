package schedule

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bdc-analytics/bdc/pkg/export"
)

// TrainFunc is the training entry point a models package provides: it retrains and evaluates
// what needs it at the firing's time, with the job's train block decoded into params, and says
// what it did.
type TrainFunc func(ctx context.Context, at time.Time, params TrainParams) (summary string, err error)

// TrainParams is a train job's block.
type TrainParams struct {
	// Models to consider; empty means every model.
	Models []string `yaml:"models" json:"models,omitempty"`
	// Series to forecast; empty means every series.
	Series []string `yaml:"series" json:"series,omitempty"`
	// Force retrains whatever the retraining policy says.
	Force bool `yaml:"force" json:"force,omitempty"`
}

// TrainKind runs jobs of kind train through Train. A build registers it only when a models
// package provides the function; without it, train jobs fail validation as not available.
type TrainKind struct {
	Train TrainFunc
	// Models and Series are the names a train block may list (the models package's).
	Models, Series []string
}

// Prepare decodes the train block.
func (k *TrainKind) Prepare(_ *Job, block *yaml.Node, lines export.Lines, path string) (Task, error) {
	var params TrainParams
	if block != nil {
		if err := export.DecodeStrict(block, path, &params, lines); err != nil {
			return nil, err
		}
	}
	if k.Train == nil {
		return nil, lines.Errorf(path, "no training function in this build")
	}
	for field, names := range map[string][]string{"models": params.Models, "series": params.Series} {
		known := k.Models
		if field == "series" {
			known = k.Series
		}
		for i, n := range names {
			if !slices.Contains(known, n) {
				return nil, lines.Errorf(export.Index(export.Join(path, field), i), "unknown %s %q (want one of %s)", field, n, strings.Join(known, ", "))
			}
		}
	}
	return func(ctx context.Context, f Firing, _ *export.Staging) (Outcome, error) {
		summary, err := k.Train(ctx, f.At, params)
		if err != nil {
			return Outcome{Summary: summary}, fmt.Errorf("couldn't train: %w", err)
		}
		return Outcome{Summary: summary}, nil
	}, nil
}
