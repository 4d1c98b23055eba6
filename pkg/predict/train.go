package predict

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/ml"
)

// Algorithms a model can be trained with.
const (
	AlgorithmGBM    = "hist_gradient_boosting"
	AlgorithmForest = "random_forest"
)

// TrainOptions configure Train.
type TrainOptions struct {
	// Now is the instant of training: rows whose label became known by then are used. Required.
	Now time.Time
	// Window sets the split boundaries; zero fields take their defaults: From the first label,
	// TrainEnd and ValidEnd at the TrainShare and TrainShare+ValidShare quantiles of the
	// labelled rows' label instants, To Now.
	Window Window
	// TrainShare and ValidShare place the default boundaries; 0 means DefaultTrainShare (0.6)
	// and DefaultValidShare (0.2), the test set being the most recent 20%.
	TrainShare, ValidShare float64
	// Algorithm is AlgorithmGBM (the default) or AlgorithmForest.
	Algorithm string
	// GBM overrides the model's default boosting parameters when its Task is set.
	GBM ml.GBMParams
	// Forest are the random forest's parameters; the task is set from the model.
	Forest ml.ForestParams
	// Seed seeds the learner.
	Seed uint64
	// MaxLevels bounds the levels of a categorical feature; 0 means DefaultMaxLevels.
	MaxLevels int
	// Workers bounds the goroutines of the learner; 0 means GOMAXPROCS.
	Workers int
}

// Result is a trained, calibrated and tested model that is not yet in the registry.
type Result struct {
	// Model is the model's name.
	Model string
	// Fitted is the model: an *ml.Calibrated classifier, or a regressor.
	Fitted ml.Model
	// Algorithm is Fitted.Algorithm(), e.g. "hist_gradient_boosting+isotonic".
	Algorithm string
	// Params are the learner's parameters and the calibration choice, as stored.
	Params json.RawMessage
	// Schema is the feature schema the rows are encoded with.
	Schema Schema
	// Window is the split.
	Window Window
	// Rows counts the rows of each set.
	Rows RowCounts
	// Metrics are the test set's figures; Validation the validation set's.
	Metrics, Validation Metrics
	// Baseline holds the training distributions, for drift.
	Baseline Baseline
	// Test holds the test rows, to compare versions on the same rows.
	Test *Frame
	// Calibration reports the cross-fitted validation Brier score of each calibration method.
	Calibration map[string]float64
}

// RowCounts counts the rows of a split.
type RowCounts struct {
	Train int `json:"train"`
	Valid int `json:"valid"`
	Test  int `json:"test"`
}

// Train extracts the labelled rows of model name known by opts.Now, splits them by time, fits
// the learner on the training set with early stopping on the validation set, calibrates a
// classifier on the validation set (isotonic or Platt, whichever has the lower cross-fitted
// log-loss there), and measures it on the test set.
func (s *Store) Train(ctx context.Context, name string, opts TrainOptions) (*Result, error) {
	def, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if opts.Now.IsZero() {
		return nil, errors.New("train: no training instant given (TrainOptions.Now)")
	}
	to := opts.Now
	if !opts.Window.To.IsZero() && opts.Window.To.Before(to) {
		to = opts.Window.To
	}
	f, err := s.Labelled(ctx, name, opts.Window.From, to)
	if err != nil {
		return nil, err
	}
	opts.Now = to
	return TrainFrame(ctx, def, f, opts)
}

// Labelled extracts the rows of model name whose label became known in [from, to) (a zero from
// leaves the window open below): the rows Train splits.
func (s *Store) Labelled(ctx context.Context, name string, from, to time.Time) (*Frame, error) {
	def, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	var f *Frame
	err = s.readOnly(ctx, func(ctx context.Context, tx pgx.Tx) error {
		f, err = def.labelled(ctx, tx, s.timeZone(), from, to)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't extract %s rows: %w", name, err)
	}
	return f, nil
}

// NewSchema builds the model's feature schema from its training rows.
func (d *Definition) NewSchema(train *Frame, maxLevels int) Schema {
	return newSchema(d.features, train, maxLevels)
}

// TrainFrame trains model def on the labelled rows of f, as Train does after extracting them.
func TrainFrame(ctx context.Context, def *Definition, f *Frame, opts TrainOptions) (*Result, error) {
	split, err := SplitByTime(f, opts)
	if err != nil {
		return nil, fmt.Errorf("couldn't split %s rows: %w", def.Name, err)
	}
	schema := def.NewSchema(split.Train, opts.MaxLevels)
	dtrain, err := schema.Encode(split.Train)
	if err != nil {
		return nil, err
	}
	dvalid, err := schema.Encode(split.Valid)
	if err != nil {
		return nil, err
	}
	dtest, err := schema.Encode(split.Test)
	if err != nil {
		return nil, err
	}
	if split.Window.To.IsZero() {
		// The test window ends at the training instant, or after its last row.
		split.Window.To = opts.Now
		if split.Window.To.IsZero() {
			split.Window.To = slices.MaxFunc(split.Test.LabelAt, time.Time.Compare).Add(time.Nanosecond)
		}
	}
	res := &Result{
		Model: def.Name, Schema: schema, Window: split.Window, Test: split.Test,
		Rows: RowCounts{Train: split.Train.Len(), Valid: split.Valid.Len(), Test: split.Test.Len()},
	}
	base, params, err := fitBase(ctx, def, dtrain, dvalid, opts)
	if err != nil {
		return nil, fmt.Errorf("couldn't train %s: %w", def.Name, err)
	}
	res.Fitted = base
	if def.Task == ml.Classification {
		cal, losses, err := calibrate(ctx, base, dvalid)
		if err != nil {
			return nil, fmt.Errorf("couldn't calibrate %s: %w", def.Name, err)
		}
		res.Fitted, res.Calibration = cal, losses
		params["calibration"] = cal.Method()
	}
	res.Algorithm = res.Fitted.Algorithm()
	if res.Params, err = json.Marshal(params); err != nil {
		return nil, fmt.Errorf("couldn't encode %s parameters: %w", def.Name, err)
	}
	if res.Validation, err = measure(res.Fitted, dvalid); err != nil {
		return nil, fmt.Errorf("couldn't measure %s on the validation set: %w", def.Name, err)
	}
	if res.Metrics, err = measure(res.Fitted, dtest); err != nil {
		return nil, fmt.Errorf("couldn't measure %s on the test set: %w", def.Name, err)
	}
	trainScores, err := ml.Scores(res.Fitted, dtrain)
	if err != nil {
		return nil, err
	}
	res.Baseline = newBaseline(dtrain, trainScores)
	return res, nil
}

// fitBase fits the learner of opts on the training set, stopping early on the validation set.
func fitBase(ctx context.Context, def *Definition, train, valid *ml.Dataset, opts TrainOptions) (ml.Model, map[string]any, error) {
	switch opts.Algorithm {
	case "", AlgorithmGBM:
		p := def.GBM
		if opts.GBM.Task != 0 {
			p = opts.GBM
		}
		p.Task, p.Seed, p.Workers = def.Task, opts.Seed, opts.Workers
		m, err := ml.FitGBMWithValidation(ctx, train, valid, p)
		if err != nil {
			return nil, nil, err
		}
		return m, map[string]any{"algorithm": AlgorithmGBM, "gbm": m.Params(), "trees": m.NumTrees()}, nil
	case AlgorithmForest:
		p := opts.Forest
		p.Task, p.Seed, p.Workers = def.Task, opts.Seed, opts.Workers
		if p.MinSamplesLeaf == 0 {
			p.MinSamplesLeaf = 20
		}
		m, err := ml.FitForest(ctx, train, p)
		if err != nil {
			return nil, nil, err
		}
		return m, map[string]any{"algorithm": AlgorithmForest, "forest": m.Params()}, nil
	default:
		return nil, nil, fmt.Errorf("unknown algorithm %q (want %s or %s)", opts.Algorithm, AlgorithmGBM, AlgorithmForest)
	}
}

// calibrate chooses between isotonic and Platt calibration by cross-fitting on the validation
// set (each method fitted on one half and scored by the Brier score on the other, both ways
// round, the halves interleaved so each spans the whole window) and fits the chosen one on the
// whole set. Choosing on the rows a calibrator was fitted on would always pick isotonic, which
// fits them best. The Brier score rather than the log-loss judges them because isotonic
// regression gives exact 0s and 1s at the ends of its range, which the log-loss punishes without
// bound for a single unlucky row.
func calibrate(ctx context.Context, base ml.Model, valid *ml.Dataset) (*ml.Calibrated, map[string]float64, error) {
	var even, odd []int
	for i := range valid.Rows() {
		if i%2 == 0 {
			even = append(even, i)
		} else {
			odd = append(odd, i)
		}
	}
	folds := [2]*ml.Dataset{valid.Subset(even), valid.Subset(odd)}
	losses := map[string]float64{}
	best, bestLoss := ml.CalibrationPlatt, 0.0
	for _, method := range []ml.CalibrationMethod{ml.CalibrationPlatt, ml.CalibrationIsotonic} {
		total := 0.0
		for k := range folds {
			c, err := ml.FitCalibrated(ctx, base, folds[k], method)
			if err != nil {
				return nil, nil, err
			}
			p, err := ml.PredictProba(c, folds[1-k])
			if err != nil {
				return nil, nil, err
			}
			ll, err := ml.Brier(folds[1-k].Y, p)
			if err != nil {
				return nil, nil, err
			}
			total += ll * float64(folds[1-k].Rows())
		}
		loss := total / float64(valid.Rows())
		losses[string(method)] = loss
		if len(losses) == 1 || loss < bestLoss {
			best, bestLoss = method, loss
		}
	}
	c, err := ml.FitCalibrated(ctx, base, valid, best)
	if err != nil {
		return nil, nil, err
	}
	return c, losses, nil
}

// measure computes the metrics of m on the rows of d.
func measure(m ml.Model, d *ml.Dataset) (Metrics, error) {
	scores, err := ml.Scores(m, d)
	if err != nil {
		return nil, err
	}
	return evaluate(m.Task(), d.Y, scores)
}
