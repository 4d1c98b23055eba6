package predict

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/ml"
)

// DefaultFactors is the number of main factors given with each score.
const DefaultFactors = 3

// DefaultHorizonDays is how many days ahead upcoming appointments are scored by default.
const DefaultHorizonDays = 7

// Scored is one scored row: the probability (or predicted score) and the features that moved it
// most.
type Scored struct {
	// ID is the appointment, beneficiary or evaluation id.
	ID int64 `json:"id"`
	// AsOf is the instant the features are as of: the booking of an appointment, the scoring
	// instant for a beneficiary, the start of an evaluation.
	AsOf time.Time `json:"as_of"`
	// Score is the calibrated probability of a classifier, the predicted value of a regressor.
	Score float64 `json:"score"`
	// Factors are the main factors, largest absolute contribution first.
	Factors []Factor `json:"factors"`
}

// Factor is a feature's part in a score.
type Factor struct {
	// Feature is the feature's name, Value its value in the row ("phone", "12", "unknown").
	Feature string `json:"feature"`
	Value   string `json:"value"`
	// Contribution is how far the feature moved the model's raw output from its mean: in
	// log-odds for boosted classifiers, in points for regressors. Positive raises the score.
	Contribution float64 `json:"contribution"`
}

// Scoring is the result of Score: the version that scored and the rows, highest score first.
type Scoring struct {
	Version *Version
	Rows    []Scored
}

// ScoreOptions configure Score.
type ScoreOptions struct {
	// Now is the scoring instant. Required.
	Now time.Time
	// HorizonDays bounds the upcoming appointments scored by the no-show model: scheduled in
	// [Now, Now+HorizonDays days); 0 means DefaultHorizonDays.
	HorizonDays int
	// Factors is the number of main factors per row; 0 means DefaultFactors, negative none.
	Factors int
}

// Score scores the current rows of model with its promoted version: for noshow, the appointments
// still scheduled in the next HorizonDays days (each as of its booking, as the model was
// trained); for churn and engagement, the beneficiaries active in the ActiveWindow before Now,
// as of Now; for evaluation_score, the evaluations started in the 30 days before Now and not
// completed by then.
func (s *Store) Score(ctx context.Context, model string, opts ScoreOptions) (*Scoring, error) {
	if opts.Now.IsZero() {
		return nil, fmt.Errorf("score %s: no scoring instant given (ScoreOptions.Now)", model)
	}
	def, err := Lookup(model)
	if err != nil {
		return nil, err
	}
	v, err := s.LatestPromoted(ctx, model)
	if err != nil {
		return nil, err
	}
	var f *Frame
	err = s.readOnly(ctx, func(ctx context.Context, tx pgx.Tx) error {
		f, err = currentRows(ctx, tx, s.timeZone(), def, opts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't extract %s rows to score: %w", model, err)
	}
	rows, err := scoreFrame(v, f, opts.Factors)
	if err != nil {
		return nil, fmt.Errorf("couldn't score %s: %w", model, err)
	}
	return &Scoring{Version: v, Rows: rows}, nil
}

// ScoreUpcomingAppointments scores the appointments still scheduled in the days after now with
// the promoted no-show model.
func (s *Store) ScoreUpcomingAppointments(ctx context.Context, now time.Time, days, factors int) (*Scoring, error) {
	return s.Score(ctx, NoShow, ScoreOptions{Now: now, HorizonDays: days, Factors: factors})
}

// ScoreActiveBeneficiaries scores the beneficiaries active in the ActiveWindow before now with
// the promoted churn or engagement model.
func (s *Store) ScoreActiveBeneficiaries(ctx context.Context, model string, now time.Time, factors int) (*Scoring, error) {
	if model != Churn && model != Engagement {
		return nil, fmt.Errorf("score active beneficiaries: %w %q: want %s or %s", ErrUnknownModel, model, Churn, Engagement)
	}
	return s.Score(ctx, model, ScoreOptions{Now: now, Factors: factors})
}

// currentRows extracts the rows a model scores at opts.Now.
func currentRows(ctx context.Context, q querier, tz string, def *Definition, opts ScoreOptions) (*Frame, error) {
	now := opts.Now
	switch def.Subject {
	case "appointment":
		days := cmp.Or(opts.HorizonDays, DefaultHorizonDays)
		return noShowFrame(ctx, q, tz, AppointmentSelection{
			ScheduledFrom: now, ScheduledTo: now.AddDate(0, 0, days), BookedTo: now, Statuses: []string{"scheduled"},
		})
	case "beneficiary":
		f, err := beneficiaryFrame(ctx, q, tz, []time.Time{now}, now)
		if err != nil {
			return nil, err
		}
		return f, nil
	case "evaluation":
		f, err := evaluationFrame(ctx, q, tz, EvaluationSelection{StartedFrom: now.AddDate(0, 0, -30), StartedTo: now})
		if err != nil {
			return nil, err
		}
		var open []int
		for i := range f.Len() {
			if math.IsNaN(f.Y[i]) || !f.LabelAt[i].Before(now) {
				open = append(open, i)
			}
		}
		return f.Subset(open), nil
	}
	return nil, fmt.Errorf("model %s scores unknown subject %q", def.Name, def.Subject)
}

// scoreFrame scores the rows of f with version v, highest score first (ties by id).
func scoreFrame(v *Version, f *Frame, factors int) ([]Scored, error) {
	if f.Len() == 0 {
		return nil, nil
	}
	d, err := v.Schema.Encode(f)
	if err != nil {
		return nil, err
	}
	scores, err := ml.Scores(v.Fitted, d)
	if err != nil {
		return nil, err
	}
	if factors == 0 {
		factors = DefaultFactors
	}
	out := make([]Scored, f.Len())
	for i := range out {
		out[i] = Scored{ID: f.IDs[i], AsOf: f.At[i], Score: scores[i]}
		if factors > 0 {
			out[i].Factors = mainFactors(v, f, d, i, factors)
		}
	}
	slices.SortStableFunc(out, func(a, b Scored) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// mainFactors returns the k features with the largest absolute contributions to row i.
func mainFactors(v *Version, f *Frame, d *ml.Dataset, i, k int) []Factor {
	_, contrib := v.Fitted.Contributions(d.Row(i))
	out := make([]Factor, len(contrib))
	for j, c := range contrib {
		name := v.Schema.Features[j].Name
		val, _ := f.Value(i, name)
		out[j] = Factor{Feature: name, Value: val, Contribution: c}
	}
	slices.SortStableFunc(out, func(a, b Factor) int { return cmp.Compare(math.Abs(b.Contribution), math.Abs(a.Contribution)) })
	return out[:min(k, len(out))]
}
