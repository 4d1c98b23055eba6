package predict

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// JobOptions configure RunJob, the reporter's train job.
type JobOptions struct {
	// Now is the job's instant. Required.
	Now time.Time
	// Models are the models to consider; empty means every model.
	Models []string
	// Series are the series to forecast; empty means every series.
	Series []string
	// Policy decides which models are retrained.
	Policy RetrainPolicy
	// Force retrains every model whatever the policy says.
	Force bool
	// Train and Forecast are the options of the trainings and forecasts; their Now is set to
	// the job's.
	Train    TrainOptions
	Forecast ForecastOptions
	// DriftWindow is the recent window drift is measured on; 0 means DefaultDriftWindow.
	DriftWindow time.Duration
	// Logger receives one line per step; nil discards them.
	Logger *slog.Logger
}

// JobReport is what RunJob did.
type JobReport struct {
	Decisions     []Decision
	Registrations []*Registration
	Drift         []*DriftReport
	Forecasts     []*ForecastRun
}

// RunJob runs the reporter's train job at opts.Now: for each model, decides whether to retrain
// (RetrainDecision), trains and registers it if so, then measures and saves the drift of its
// promoted version; then forecasts and saves each series. A failing step is logged and
// reported in the returned error, and the job goes on with the next one.
//
// opts.Now identifies the firing: run again with the same Now (a retry after a failed step or
// a crash), the job does not train a model again that it already registered at that instant,
// and it replaces the drift reports and forecasts it saved, so a retried firing leaves what one
// successful run would.
func (s *Store) RunJob(ctx context.Context, opts JobOptions) (*JobReport, error) {
	if opts.Now.IsZero() {
		return nil, errors.New("train job: no instant given (JobOptions.Now)")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	models := opts.Models
	if len(models) == 0 {
		for _, d := range Models() {
			models = append(models, d.Name)
		}
	}
	series := opts.Series
	if len(series) == 0 {
		series = SeriesNames()
	}
	rep := &JobReport{}
	var errs []error
	fail := func(log *slog.Logger, what string, err error) {
		log.Error(what, "err", err)
		errs = append(errs, err)
	}
	for _, name := range models {
		log := logger.With("model", name)
		done, err := s.versions(ctx, `where model = $1 and trained_at = $2 order by version desc limit 1`, name, opts.Now)
		if err != nil {
			fail(log, "reading the registry failed", err)
			continue
		}
		var d Decision
		if len(done) > 0 {
			d = Decision{Model: name, Detail: fmt.Sprintf("version %d was registered by an earlier attempt of this firing", done[0].Version)}
			log.Info("already trained by this firing", "version", done[0].Version)
		} else if d, err = s.RetrainDecision(ctx, name, opts.Now, opts.Policy); err != nil {
			fail(log, "retrain decision failed", err)
			continue
		}
		rep.Decisions = append(rep.Decisions, d)
		if len(done) == 0 && (d.Retrain || opts.Force) {
			log.Info("training", "reasons", d.Reasons, "detail", d.Detail, "forced", opts.Force)
			topts := opts.Train
			topts.Now = opts.Now
			res, err := s.Train(ctx, name, topts)
			if err != nil {
				fail(log, "training failed", err)
				continue
			}
			reg, err := s.Register(ctx, res, opts.Now)
			if err != nil {
				fail(log, "registration failed", err)
				continue
			}
			rep.Registrations = append(rep.Registrations, reg)
			log.Info("registered", "version", reg.Version.Version, "promoted", reg.Promoted, "reason", reg.Reason)
		}
		v, err := s.LatestPromoted(ctx, name)
		if err != nil {
			fail(log, "loading the promoted version failed", err)
			continue
		}
		drift, err := s.MeasureDrift(ctx, v, opts.Now, opts.DriftWindow)
		if err == nil {
			err = s.SaveDrift(ctx, drift)
		}
		if err != nil {
			fail(log, "drift failed", err)
			continue
		}
		rep.Drift = append(rep.Drift, drift)
		log.Info("drift measured", "score_psi", drift.Score, "rows", drift.Rows)
	}
	for _, name := range series {
		log := logger.With("series", name)
		fopts := opts.Forecast
		fopts.Now = opts.Now
		run, err := s.Forecast(ctx, name, fopts)
		if err == nil {
			err = s.SaveForecast(ctx, run)
		}
		if err != nil {
			fail(log, "forecast failed", err)
			continue
		}
		rep.Forecasts = append(rep.Forecasts, run)
		log.Info("forecast saved", "model", run.Model, "horizon", len(run.Points))
	}
	if err := errors.Join(errs...); err != nil {
		return rep, fmt.Errorf("train job: %d step(s) failed: %w", len(errs), err)
	}
	return rep, nil
}
