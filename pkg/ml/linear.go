package ml

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// ErrCollinear is returned when features are linearly dependent, so least squares has no
// unique solution.
var ErrCollinear = errors.New("features are collinear")

// maxCondition is the largest condition number of the standardized design matrix accepted
// by FitLinear: past it, half the digits of the coefficients are rounding noise.
const maxCondition = 1e8

// Linear is an ordinary least squares linear regression. It is stored on standardized
// features (z = (x − mean)/scale): the bias is the weighted mean label and each standardized
// coefficient says how much one standard deviation of its feature moves the prediction.
type Linear struct {
	linearModel
}

var _ Model = (*Linear)(nil)

// linearModel is what linear and logistic regression share: a bias and coefficients on
// standardized features. Its methods are promoted to both.
type linearModel struct {
	nFeatures int
	scale     scaler
	bias      float64   // the linear predictor at the mean row
	coef      []float64 // on standardized features
}

// FitLinear fits y ≈ intercept + Σ coefⱼ xⱼ by (weighted) least squares. It centres the data,
// standardizes it and solves with a QR factorization (gonum mat.QR), which stays accurate
// where the normal equations lose half the digits. Constant features get coefficient 0.
func FitLinear(ctx context.Context, d *Dataset) (*Linear, error) {
	if err := d.validateFor(Regression); err != nil {
		return nil, fmt.Errorf("fit linear regression: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fit linear regression: %w", err)
	}
	n, p := d.Rows(), d.Cols()
	sc, constant := fitScaler(d)
	var cols []int
	for j := range p {
		if !constant[j] {
			cols = append(cols, j)
		}
	}
	var sw, swy float64
	for i := range n {
		sw += d.Weight(i)
		swy += d.Weight(i) * d.Y[i]
	}
	m := &Linear{linearModel{nFeatures: p, scale: sc, bias: swy / sw, coef: make([]float64, p)}}
	if len(cols) == 0 {
		return m, nil
	}
	if n < len(cols) {
		return nil, fmt.Errorf("fit linear regression: %d rows for %d varying features: %w", n, len(cols), ErrCollinear)
	}
	// Rows scaled by √w turn weighted least squares into ordinary least squares.
	a := mat.NewDense(n, len(cols), nil)
	b := mat.NewVecDense(n, nil)
	for i := range n {
		sq := math.Sqrt(d.Weight(i))
		row := d.Row(i)
		for k, j := range cols {
			a.Set(i, k, sq*sc.z(j, row[j]))
		}
		b.SetVec(i, sq*(d.Y[i]-m.bias))
	}
	var qr mat.QR
	qr.Factorize(a)
	// Standardized columns have comparable norms, so a huge condition number means some
	// feature is (nearly) a combination of others and its coefficient would be noise.
	if cond := qr.Cond(); cond > maxCondition {
		return nil, fmt.Errorf("fit linear regression: condition number %.3g: %w", cond, ErrCollinear)
	}
	var beta mat.VecDense
	if err := qr.SolveVecTo(&beta, false, b); err != nil {
		return nil, fmt.Errorf("fit linear regression: %w: %w", ErrCollinear, err)
	}
	for k, j := range cols {
		m.coef[j] = beta.AtVec(k)
	}
	return m, nil
}

// NumFeatures returns the number of features the model was trained on.
func (m *linearModel) NumFeatures() int { return m.nFeatures }

// Coefficients returns the coefficients on the original feature scale (for logistic
// regression, in log-odds per unit).
func (m *linearModel) Coefficients() []float64 {
	out := make([]float64, m.nFeatures)
	for j, c := range m.coef {
		out[j] = c / m.scale.Scale[j]
	}
	return out
}

// Intercept returns the intercept on the original feature scale.
func (m *linearModel) Intercept() float64 {
	v := m.bias
	for j, c := range m.coef {
		v -= c / m.scale.Scale[j] * m.scale.Mean[j]
	}
	return v
}

// StandardizedCoefficients returns the coefficients on standardized features: the change in
// prediction (log-odds for logistic regression) for one standard deviation of each feature.
func (m *linearModel) StandardizedCoefficients() []float64 { return append([]float64(nil), m.coef...) }

// RawPredict returns the linear predictor: the predicted value of a linear regression, the
// log-odds of label 1 of a logistic regression.
func (m *linearModel) RawPredict(x []float64) float64 {
	v := m.bias
	for j, c := range m.coef {
		v += c * m.scale.z(j, x[j])
	}
	return v
}

// Contributions returns, per feature, its standardized coefficient times its standardized
// deviation from the training mean; the bias is the linear predictor at the mean row (the mean
// label of a linear regression). They add up to RawPredict in the same order, so exactly.
func (m *linearModel) Contributions(x []float64) (bias float64, contrib []float64) {
	contrib = make([]float64, len(m.coef))
	for j, c := range m.coef {
		contrib[j] = c * m.scale.z(j, x[j])
	}
	return m.bias, contrib
}

// SHAPValues returns Contributions, which are the SHAP values of a linear model.
func (m *linearModel) SHAPValues(x []float64) (bias float64, phi []float64) {
	return m.Contributions(x)
}

// Algorithm returns "linear_regression".
func (m *Linear) Algorithm() string { return "linear_regression" }

// Task returns Regression.
func (m *Linear) Task() Task { return Regression }

// Predict returns the predicted value.
func (m *Linear) Predict(x []float64) float64 { return m.RawPredict(x) }

// linearJSON is the saved form of a Linear or a Logistic model.
type linearJSON struct {
	Features int       `json:"features"`
	Scaler   scaler    `json:"scaler"`
	Bias     float64   `json:"bias"`
	Coef     []float64 `json:"coef"`
}

func (m *linearModel) toJSON() linearJSON {
	return linearJSON{Features: m.nFeatures, Scaler: m.scale, Bias: m.bias, Coef: m.coef}
}

func (j linearJSON) model() linearModel {
	return linearModel{nFeatures: j.Features, scale: j.Scaler, bias: j.Bias, coef: j.Coef}
}

func (j linearJSON) check() error {
	if j.Features <= 0 || len(j.Coef) != j.Features || !j.Scaler.valid(j.Features) {
		return fmt.Errorf("%d features with %d coefficients and %d scales", j.Features, len(j.Coef), len(j.Scaler.Scale))
	}
	return nil
}

// MarshalJSON encodes the model.
func (m *Linear) MarshalJSON() ([]byte, error) {
	return json.Marshal(m.toJSON())
}

// UnmarshalJSON decodes a model saved by MarshalJSON.
func (m *Linear) UnmarshalJSON(b []byte) error {
	var j linearJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode linear regression: %w", err)
	}
	if err := j.check(); err != nil {
		return fmt.Errorf("decode linear regression: %w", err)
	}
	*m = Linear{j.model()}
	return nil
}
