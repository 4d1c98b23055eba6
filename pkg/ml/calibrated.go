package ml

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
)

// CalibrationMethod names a way to calibrate probabilities.
type CalibrationMethod string

const (
	// CalibrationIsotonic fits an Isotonic map: no shape assumed, needs a few thousand rows.
	CalibrationIsotonic CalibrationMethod = "isotonic"
	// CalibrationPlatt fits Platt scaling on the log-odds of the base probability (as
	// scikit-learn's sigmoid method on a decision function): two parameters, fine on small
	// calibration sets, and the identity is one of its maps.
	CalibrationPlatt CalibrationMethod = "platt"
)

// logitClip keeps log-odds finite for probabilities of exactly 0 or 1.
const logitClip = 1e-12

// logOdds returns the log-odds of p, p clipped to [logitClip, 1-logitClip].
func logOdds(p float64) float64 {
	p = min(max(p, logitClip), 1-logitClip)
	return math.Log(p / (1 - p))
}

// Calibrated is a classifier whose probabilities go through a Calibrator fitted on held-out
// rows. Its RawPredict and Contributions are the base model's: calibration is a monotone map
// applied last, so it changes probabilities, not the ranking or the main factors.
type Calibrated struct {
	base   Classifier
	method CalibrationMethod
	cal    Calibrator
	// logOdds feeds the calibrator the base probability's log-odds (Platt scaling) instead of
	// the probability (isotonic, and Platt scaling as saved before it took log-odds).
	logOdds bool
}

var _ Classifier = (*Calibrated)(nil)

// FitCalibrated calibrates base, a classifier trained for classification, on the rows of d,
// which must not be the rows base was trained on.
func FitCalibrated(ctx context.Context, base Model, d *Dataset, method CalibrationMethod) (*Calibrated, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	c, ok := base.(Classifier)
	if !ok || base.Task() != Classification {
		return nil, fmt.Errorf("calibrate %s model for %s: %w", base.Algorithm(), base.Task(), ErrNotClassifier)
	}
	if err := d.validateFor(Classification); err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	p, err := PredictProba(base, d)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	var cal Calibrator
	switch method {
	case CalibrationIsotonic:
		cal, err = FitIsotonic(p, d.Y, d.W)
	case CalibrationPlatt:
		for i, v := range p {
			p[i] = logOdds(v)
		}
		cal, err = FitPlatt(p, d.Y, d.W)
	default:
		return nil, fmt.Errorf("calibrate: unknown method %q (want isotonic or platt)", method)
	}
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	return &Calibrated{base: c, method: method, cal: cal, logOdds: method == CalibrationPlatt}, nil
}

// calibrate maps a base probability to the calibrated one.
func (m *Calibrated) calibrate(p float64) float64 {
	if m.logOdds {
		p = logOdds(p)
	}
	return m.cal.Calibrate(p)
}

// Base returns the uncalibrated model.
func (m *Calibrated) Base() Classifier { return m.base }

// Method returns the calibration method.
func (m *Calibrated) Method() CalibrationMethod { return m.method }

// Algorithm returns the base model's algorithm and the calibration method, e.g.
// "hist_gradient_boosting+isotonic".
func (m *Calibrated) Algorithm() string { return m.base.Algorithm() + "+" + string(m.method) }

// Task returns Classification.
func (m *Calibrated) Task() Task { return Classification }

// NumFeatures returns the base model's number of features.
func (m *Calibrated) NumFeatures() int { return m.base.NumFeatures() }

// PredictProba returns the calibrated probability of label 1.
func (m *Calibrated) PredictProba(x []float64) float64 {
	return m.calibrate(m.base.PredictProba(x))
}

// Predict returns the label of the calibrated probability.
func (m *Calibrated) Predict(x []float64) float64 { return classify(m.PredictProba(x)) }

// predictBlock predicts rows through the base model's block prediction when it has one.
func (m *Calibrated) predictBlock(x, out []float64, kind predictKind) {
	if kind == kindRaw {
		predictInto(m.base, x, out, kindRaw)
		return
	}
	predictInto(m.base, x, out, kindProba)
	for i, v := range out {
		v = m.calibrate(v)
		if kind == kindPredict {
			v = classify(v)
		}
		out[i] = v
	}
}

// RawPredict returns the base model's raw prediction.
func (m *Calibrated) RawPredict(x []float64) float64 { return m.base.RawPredict(x) }

// Contributions returns the base model's contributions, which add up to RawPredict.
func (m *Calibrated) Contributions(x []float64) (bias float64, contrib []float64) {
	return m.base.Contributions(x)
}

type calibratedJSON struct {
	Method     CalibrationMethod `json:"method"`
	Calibrator json.RawMessage   `json:"calibrator"`
	// Input is "log_odds" when the calibrator takes the base probability's log-odds; absent in
	// models saved before Platt scaling did, whose calibrator takes the probability.
	Input string          `json:"input,omitempty"`
	Base  json.RawMessage `json:"base"`
}

// MarshalJSON encodes the calibrator and the base model.
func (m *Calibrated) MarshalJSON() ([]byte, error) {
	base, err := Marshal(m.base)
	if err != nil {
		return nil, err
	}
	cal, err := json.Marshal(m.cal)
	if err != nil {
		return nil, err
	}
	j := calibratedJSON{Method: m.method, Calibrator: cal, Base: base}
	if m.logOdds {
		j.Input = "log_odds"
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes a model saved by MarshalJSON.
func (m *Calibrated) UnmarshalJSON(b []byte) error {
	var j calibratedJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode calibrated: %w", err)
	}
	base, err := Unmarshal(j.Base)
	if err != nil {
		return fmt.Errorf("decode calibrated: %w", err)
	}
	c, ok := base.(Classifier)
	if !ok || base.Task() != Classification {
		return fmt.Errorf("decode calibrated: base %s model: %w", base.Algorithm(), ErrNotClassifier)
	}
	var cal Calibrator
	switch j.Method {
	case CalibrationIsotonic:
		iso := &Isotonic{}
		err, cal = json.Unmarshal(j.Calibrator, iso), iso
	case CalibrationPlatt:
		var pl Platt
		err = json.Unmarshal(j.Calibrator, &pl)
		cal = pl
	default:
		return fmt.Errorf("decode calibrated: unknown method %q", j.Method)
	}
	if err != nil {
		return fmt.Errorf("decode calibrated: %w", err)
	}
	switch j.Input {
	case "", "probability":
	case "log_odds":
	default:
		return fmt.Errorf("decode calibrated: unknown calibrator input %q", j.Input)
	}
	*m = Calibrated{base: c, method: j.Method, cal: cal, logOdds: j.Input == "log_odds"}
	return nil
}
