package predict

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/bdc-analytics/bdc/pkg/ml"
)

// Model names: the registry's keys and the value of the exporter's model label.
const (
	NoShow          = "noshow"
	Churn           = "churn"
	Engagement      = "engagement"
	EvaluationScore = "evaluation_score"
)

// Definition describes one model: what it predicts, the rows and features it is trained on,
// and how it is judged.
type Definition struct {
	// Name is the model's registry name.
	Name string
	// Task is Classification or Regression.
	Task ml.Task
	// Subject names what a row is about: "appointment", "beneficiary" or "evaluation".
	Subject string
	// Label says what is predicted, for people.
	Label string
	// AsOf says as of when the features are computed, for people.
	AsOf string
	// Primary is the metric that decides promotion and quality drops: roc_auc for classifiers,
	// r2 for regressors (both higher is better).
	Primary string
	// GBM are the default boosting parameters.
	GBM ml.GBMParams

	features []feature
	// labelled extracts the rows whose label became known in [from, to), to is "now".
	labelled func(ctx context.Context, q querier, tz string, from, to time.Time) (*Frame, error)
	// population extracts the rows predicted in [from, to): what drift compares with training.
	population func(ctx context.Context, q querier, tz string, from, to time.Time) (*Frame, error)
}

// Models lists the models' definitions, in a stable order. They are copies: changing one
// changes nothing else.
func Models() []*Definition {
	var out []*Definition
	for _, d := range []*Definition{noShowModel, churnModel, engagementModel, evaluationModel} {
		c := *d
		out = append(out, &c)
	}
	return out
}

// Lookup returns (a copy of) the definition of the model called name.
func Lookup(name string) (*Definition, error) {
	for _, d := range Models() {
		if d.Name == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%w %q (want %s, %s, %s or %s)", ErrUnknownModel, name, NoShow, Churn, Engagement, EvaluationScore)
}

// Features returns the model's features as a schema without levels: names, kinds and meanings.
func (d *Definition) Features() Schema {
	var s Schema
	for _, f := range d.features {
		k := KindNumeric
		if f.Categorical {
			k = KindCategorical
		}
		s.Features = append(s.Features, SchemaFeature{Name: f.Name, Kind: k, Doc: f.Doc})
	}
	return s
}

// beneficiaryGBM are the churn and engagement classifiers' parameters: their signal is strong
// (recency, upcoming appointments), so a faster rate reaches the same validation loss in half
// the rounds.
var beneficiaryGBM = ml.GBMParams{
	Task: ml.Classification, MaxIter: 500, LearningRate: 0.2, MaxLeafNodes: 6,
	MinSamplesLeaf: 100, L2: 1, Patience: 10,
}

// labelledIn keeps the labelled rows whose label instant is in [from, to); a zero from leaves
// the window open below.
func (f *Frame) labelledIn(from, to time.Time) *Frame {
	var keep []int
	for i, y := range f.Y {
		if math.IsNaN(y) || f.LabelAt[i].IsZero() || !f.LabelAt[i].Before(to) {
			continue
		}
		if !from.IsZero() && f.LabelAt[i].Before(from) {
			continue
		}
		keep = append(keep, i)
	}
	return f.Subset(keep)
}

// shift moves t by d, leaving a zero (open) bound open.
func shift(t time.Time, d time.Duration) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Add(d)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
