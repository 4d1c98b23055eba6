package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/insights"
	"github.com/bdc-analytics/bdc/pkg/store"
)

// InsightsKind runs jobs of kind insights: package insights' rules at the firing's scheduled
// time, with the thresholds of the job's insights block (every field optional; see
// insights.DefaultConfig). The insights are saved into bdc_analytics.insights, once per firing (a
// retried or taken-over firing replaces its own), and written into the run's folder as
// insights_<scheduled time UTC>.json.
type InsightsKind struct {
	// DB is where the rules read and the insights are saved; nil when only validating a
	// configuration.
	DB *store.DB
	// Logger receives the rules' notes (a series too short to forecast, a model not promoted).
	Logger *slog.Logger
}

// InsightsFile is the content of the file an insights run writes.
type InsightsFile struct {
	DetectedAt time.Time          `json:"detected_at"`
	Insights   []insights.Insight `json:"insights"`
}

// Prepare decodes and checks the insights block.
func (k *InsightsKind) Prepare(job *Job, block *yaml.Node, lines export.Lines, path string) (Task, error) {
	cfg := insights.DefaultConfig()
	if block != nil {
		if err := export.DecodeStrict(block, path, &cfg, lines); err != nil {
			return nil, err
		}
	}
	if err := cfg.Validate(); err != nil {
		var fe *insights.FieldError
		if errors.As(err, &fe) {
			return nil, lines.Errorf(export.Join(path, fe.Field), "%s", fe.Reason)
		}
		return nil, lines.Errorf(path, "%v", err)
	}
	logger := k.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("job", job.Name)
	return func(ctx context.Context, f Firing, out *export.Staging) (Outcome, error) {
		st := insights.NewStore(k.DB)
		st.Config, st.Logger = cfg, logger
		found, err := st.Generate(ctx, f.At)
		if err != nil {
			return Outcome{}, err
		}
		name := "insights_" + f.At.UTC().Format("20060102T150405Z") + ".json"
		file, err := out.Create(name)
		if err != nil {
			return Outcome{}, err
		}
		if found == nil {
			found = []insights.Insight{}
		}
		enc := json.NewEncoder(file)
		enc.SetIndent("", "  ")
		if err := enc.Encode(InsightsFile{DetectedAt: f.At, Insights: found}); err != nil {
			return Outcome{}, fmt.Errorf("couldn't write %s: %w", name, err)
		}
		byPriority := map[string]int{}
		for _, in := range found {
			byPriority[in.Priority]++
		}
		return Outcome{Rows: int64(len(found)), Files: []export.FileInfo{{Name: name, Rows: int64(len(found))}},
			Summary: fmt.Sprintf("%d insights: %d high, %d medium, %d low priority", len(found),
				byPriority[insights.PriorityHigh], byPriority[insights.PriorityMedium], byPriority[insights.PriorityLow])}, nil
	}, nil
}
