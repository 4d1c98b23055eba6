package ml

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
)

// LogisticParams are the hyperparameters of L2 logistic regression.
type LogisticParams struct {
	// C is the inverse of the L2 penalty, as in scikit-learn: the model minimizes
	// Σ wᵢ·logloss(i) + ‖β‖²/(2C) on standardized features, the intercept unpenalized.
	// 0 means 1.
	C float64 `json:"c,omitempty"`
	// MaxIter bounds the L-BFGS iterations; 0 means 1000.
	MaxIter int `json:"max_iter,omitempty"`
}

// Logistic is an L2-regularized logistic regression on standardized features.
type Logistic struct {
	params LogisticParams
	linearModel
}

var _ Classifier = (*Logistic)(nil)

// FitLogistic fits a logistic regression to labels 0 and 1 by minimizing the penalized
// log-loss with gonum's L-BFGS, its gradient supplied. Features are standardized first, so
// the penalty treats them alike whatever their units.
func FitLogistic(ctx context.Context, d *Dataset, params LogisticParams) (*Logistic, error) {
	if err := d.validateFor(Classification); err != nil {
		return nil, fmt.Errorf("fit logistic regression: %w", err)
	}
	if params.C < 0 || math.IsNaN(params.C) || math.IsInf(params.C, 0) || params.MaxIter < 0 {
		return nil, fmt.Errorf("fit logistic regression: C %v and max iter %d must be finite and non-negative", params.C, params.MaxIter)
	}
	if params.C == 0 {
		params.C = 1
	}
	if params.MaxIter == 0 {
		params.MaxIter = 1000
	}
	n, p := d.Rows(), d.Cols()
	sc, _ := fitScaler(d)
	z := make([]float64, n*p)
	w := make([]float64, n)
	sw := 0.0
	for i := range n {
		row := d.Row(i)
		for j := range p {
			z[i*p+j] = sc.z(j, row[j])
		}
		w[i] = d.Weight(i)
		sw += w[i]
	}
	// The objective is divided by Σw so its scale, and the gradient tolerance, do not grow
	// with the number of rows; the minimizer is the same.
	lambda := 1 / (params.C * sw)
	margin := make([]float64, n)
	// eval computes the objective at θ = (β, b) and, when grad is not nil, its gradient.
	eval := func(theta, grad []float64) float64 {
		beta, b := theta[:p], theta[p]
		if grad != nil {
			clear(grad)
		}
		loss := 0.0
		for i := range n {
			m := b
			for j, v := range z[i*p : (i+1)*p] {
				m += beta[j] * v
			}
			margin[i] = m
			y := d.Y[i]
			loss += w[i] * (softplus(m) - y*m)
			if grad != nil {
				r := w[i] * (sigmoid(m) - y) / sw
				for j, v := range z[i*p : (i+1)*p] {
					grad[j] += r * v
				}
				grad[p] += r
			}
		}
		pen := 0.0
		for j, v := range beta {
			pen += v * v
			if grad != nil {
				grad[j] += lambda * v
			}
		}
		return loss/sw + lambda*pen/2
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fit logistic regression: %w", err)
	}
	theta, err := minimizeLBFGS(eval, make([]float64, p+1), params.MaxIter)
	if err != nil {
		return nil, fmt.Errorf("fit logistic regression: %w", err)
	}
	return &Logistic{params: params, linearModel: linearModel{nFeatures: p, scale: sc, bias: theta[p], coef: theta[:p:p]}}, nil
}

// minimizeLBFGS minimizes a smooth convex function with gonum's L-BFGS from x0.
func minimizeLBFGS(eval func(x, grad []float64) float64, x0 []float64, maxIter int) ([]float64, error) {
	problem := optimize.Problem{
		Func: func(x []float64) float64 { return eval(x, nil) },
		Grad: func(grad, x []float64) { eval(x, grad) },
	}
	settings := &optimize.Settings{
		GradientThreshold: 1e-10,
		MajorIterations:   maxIter,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-15, Iterations: 20},
	}
	res, err := optimize.Minimize(problem, x0, settings, &optimize.LBFGS{})
	if res == nil {
		return nil, fmt.Errorf("l-bfgs: %w", err)
	}
	// Whatever the stopping reason (gradient small, no more progress in the line search,
	// iteration limit), accept the point only where the gradient vanishes.
	grad := make([]float64, len(res.X))
	eval(res.X, grad)
	norm := 0.0
	for _, g := range grad {
		if math.IsNaN(g) {
			norm = math.Inf(1)
			break
		}
		norm = math.Max(norm, math.Abs(g))
	}
	if norm > maxGradient {
		if err != nil {
			return nil, fmt.Errorf("l-bfgs did not converge (status %v, gradient %.3g): %w", res.Status, norm, err)
		}
		return nil, fmt.Errorf("l-bfgs did not converge (status %v, gradient %.3g)", res.Status, norm)
	}
	return res.X, nil
}

// maxGradient is the largest gradient (per unit of sample weight) accepted at the optimum of
// the logistic and Platt objectives.
const maxGradient = 1e-6

// Algorithm returns "logistic_regression".
func (m *Logistic) Algorithm() string { return "logistic_regression" }

// Task returns Classification.
func (m *Logistic) Task() Task { return Classification }

// Params returns the parameters the model was trained with, defaults filled in.
func (m *Logistic) Params() LogisticParams { return m.params }

// PredictProba returns the probability of label 1.
func (m *Logistic) PredictProba(x []float64) float64 { return sigmoid(m.RawPredict(x)) }

// Predict returns the predicted label.
func (m *Logistic) Predict(x []float64) float64 { return classify(m.PredictProba(x)) }

// MarshalJSON encodes the model.
func (m *Logistic) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Params LogisticParams `json:"params"`
		linearJSON
	}{m.params, m.toJSON()})
}

// UnmarshalJSON decodes a model saved by MarshalJSON.
func (m *Logistic) UnmarshalJSON(b []byte) error {
	var j struct {
		Params LogisticParams `json:"params"`
		linearJSON
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode logistic regression: %w", err)
	}
	if err := j.check(); err != nil {
		return fmt.Errorf("decode logistic regression: %w", err)
	}
	*m = Logistic{params: j.Params, linearModel: j.model()}
	return nil
}
