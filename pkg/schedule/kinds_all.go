package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/predict"
	"github.com/bdc-analytics/bdc/pkg/report"
	"github.com/bdc-analytics/bdc/pkg/store"
)

// BuildOptions configure BuildKinds.
type BuildOptions struct {
	// HashKey anonymizes personal data in exports; nil drops it.
	HashKey []byte
	// Dir is the folder custom report templates are relative to (reporter.yml's).
	Dir string
	// Logger receives the kinds' logs; nil discards them.
	Logger *slog.Logger
	// Forecast are the options of the train job's forecasts (their Now is the firing's).
	Forecast predict.ForecastOptions
}

// BuildKinds returns the runners of every kind this build runs, on db (nil when only checking a
// configuration): exports, insights (pkg/insights), reports (pkg/report) and training through
// pkg/predict's train job.
func BuildKinds(db *store.DB, opts BuildOptions) Kinds {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var models []string
	for _, d := range predict.Models() {
		models = append(models, d.Name)
	}
	return Kinds{
		KindExport:   &ExportKind{Exporter: &export.Exporter{DB: db}, HashKey: opts.HashKey},
		KindInsights: &InsightsKind{DB: db, Logger: logger.With("kind", "insights")},
		KindReport:   &ReportKind{Builder: &report.Builder{DB: db, Logger: logger.With("kind", "report")}, Dir: opts.Dir},
		KindTrain: &TrainKind{Models: models, Series: predict.SeriesNames(),
			Train: func(ctx context.Context, at time.Time, p TrainParams) (string, error) {
				rep, err := predict.NewStore(db).RunJob(ctx, predict.JobOptions{Now: at, Models: p.Models, Series: p.Series,
					Force: p.Force, Forecast: opts.Forecast, Logger: logger.With("kind", "train")})
				if rep == nil {
					return "", err
				}
				promoted := 0
				for _, r := range rep.Registrations {
					if r.Promoted {
						promoted++
					}
				}
				return fmt.Sprintf("%d models considered, %d retrained, %d promoted; %d drift reports; %d forecasts",
					len(rep.Decisions), len(rep.Registrations), promoted, len(rep.Drift), len(rep.Forecasts)), err
			}},
	}
}
