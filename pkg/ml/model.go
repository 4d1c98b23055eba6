package ml

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// Task says what a model predicts.
type Task int

const (
	// Classification predicts a binary label (0 or 1) and the probability of label 1.
	Classification Task = iota + 1
	// Regression predicts a real value.
	Regression
)

// String returns "classification" or "regression".
func (t Task) String() string {
	switch t {
	case Classification:
		return "classification"
	case Regression:
		return "regression"
	default:
		return fmt.Sprintf("Task(%d)", int(t))
	}
}

// MarshalText encodes the task as its name, so saved models and parameters read plainly.
func (t Task) MarshalText() ([]byte, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	return []byte(t.String()), nil
}

// UnmarshalText decodes a task from its name.
func (t *Task) UnmarshalText(b []byte) error {
	switch string(b) {
	case "classification":
		*t = Classification
	case "regression":
		*t = Regression
	default:
		return fmt.Errorf("unknown task %q (want classification or regression)", b)
	}
	return nil
}

func (t Task) validate() error {
	if t != Classification && t != Regression {
		return fmt.Errorf("task %d is neither Classification nor Regression", int(t))
	}
	return nil
}

// Model is a trained model. Every model of this package implements it, and its methods are
// safe for concurrent use.
type Model interface {
	// Algorithm names the learning algorithm, e.g. "random_forest", for registries and metrics.
	Algorithm() string
	// Task says whether the model classifies or regresses.
	Task() Task
	// NumFeatures is the number of features the model was trained on, in Dataset column order.
	NumFeatures() int
	// Predict returns the prediction for one row of features: the predicted value for a
	// regressor, the predicted label (1 when the probability of 1 is above 0.5, else 0) for a
	// classifier.
	Predict(x []float64) float64
	// RawPredict returns the prediction on the scale where contributions add up: the log-odds
	// for gradient boosting and logistic regression classifiers, the probability of 1 for tree
	// and forest classifiers, the value for regressors.
	RawPredict(x []float64) float64
	// Contributions splits RawPredict(x) into a bias, the same for every row, and one
	// contribution per feature, such that bias + Σ contrib = RawPredict(x) up to rounding.
	// These are the "main factors" of a prediction.
	Contributions(x []float64) (bias float64, contrib []float64)
}

// Classifier is a model that also gives probabilities.
type Classifier interface {
	Model
	// PredictProba returns the probability that the label of row x is 1. Models that can be
	// trained for either task (trees, forests, boosting) return the predicted value when they
	// were trained for regression; the package-level PredictProba refuses them.
	PredictProba(x []float64) float64
}

// classify turns the probability of label 1 into a label, as scikit-learn does (ties go to 0).
func classify(p float64) float64 {
	if p > 0.5 {
		return 1
	}
	return 0
}

// predictKind selects which of a model's per-row predictions a batch computes.
type predictKind int

const (
	kindPredict predictKind = iota // Model.Predict
	kindProba                      // Classifier.PredictProba
	kindRaw                        // Model.RawPredict
)

// blockPredictor is implemented by ensembles. They predict a block of rows one tree at a time,
// so each tree stays in cache while it serves the whole block, rather than walking every tree
// for each row; each row still sums its trees in the same order as the per-row methods, so
// the results are bit-identical to theirs.
type blockPredictor interface {
	predictBlock(x []float64, out []float64, kind predictKind)
}

// blockRows is how many rows a blockPredictor is given at a time.
const blockRows = 512

// rowFunc returns the per-row method of m that kind selects.
func rowFunc(m Model, kind predictKind) func([]float64) float64 {
	switch kind {
	case kindProba:
		return m.(Classifier).PredictProba
	case kindRaw:
		return m.RawPredict
	default:
		return m.Predict
	}
}

// predictInto writes kind of prediction for the row-major rows x into out, on the calling
// goroutine.
func predictInto(m Model, x, out []float64, kind predictKind) {
	p := m.NumFeatures()
	if bp, ok := m.(blockPredictor); ok {
		for lo := 0; lo < len(out); lo += blockRows {
			hi := min(lo+blockRows, len(out))
			bp.predictBlock(x[lo*p:hi*p], out[lo:hi], kind)
		}
		return
	}
	f := rowFunc(m, kind)
	for i := range out {
		out[i] = f(x[i*p : (i+1)*p])
	}
}

// predictAll returns kind of prediction for every row of d, spreading contiguous blocks of
// rows across the available cores. Each row is computed alone, so the result does not depend
// on scheduling.
func predictAll(m Model, d *Dataset, kind predictKind) []float64 {
	n, p := d.Rows(), d.Cols()
	out := make([]float64, n)
	parallelFor(n, parallelRowsMin, func(lo, hi int) {
		predictInto(m, d.X[lo*p:hi*p], out[lo:hi], kind)
	})
	return out
}

// Predict returns m.Predict for every row of d, in row order.
func Predict(m Model, d *Dataset) ([]float64, error) {
	if err := checkFeatures(m, d); err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	return predictAll(m, d, kindPredict), nil
}

// PredictProba returns the probability of label 1 for every row of d, in row order. m must
// be a classifier trained for classification.
func PredictProba(m Model, d *Dataset) ([]float64, error) {
	if err := checkClassifier(m); err != nil {
		return nil, fmt.Errorf("predict probabilities: %w", err)
	}
	if err := checkFeatures(m, d); err != nil {
		return nil, fmt.Errorf("predict probabilities: %w", err)
	}
	return predictAll(m, d, kindProba), nil
}

// checkClassifier checks that m gives probabilities.
func checkClassifier(m Model) error {
	if _, ok := m.(Classifier); !ok || m.Task() != Classification {
		return fmt.Errorf("%s model for %s: %w", m.Algorithm(), m.Task(), ErrNotClassifier)
	}
	return nil
}

// ErrNotClassifier is returned when probabilities are asked of a model that is not a
// classifier trained for classification.
var ErrNotClassifier = errors.New("not a classifier")

// Scores returns what metrics are computed on: the probability of label 1 for a classifier,
// the predicted value for a regressor.
func Scores(m Model, d *Dataset) ([]float64, error) {
	if m.Task() == Classification {
		return PredictProba(m, d)
	}
	return Predict(m, d)
}

// scoreKind returns the kind of prediction behind Scores.
func scoreKind(m Model) (predictKind, error) {
	if m.Task() != Classification {
		return kindPredict, nil
	}
	return kindProba, checkClassifier(m)
}

// parallelRowsMin is the number of rows below which batch prediction stays on one goroutine.
const parallelRowsMin = 1024

// parallelFor calls body on contiguous blocks [lo, hi) covering [0, n), on up to GOMAXPROCS
// goroutines when n is at least minParallel, and waits for them.
func parallelFor(n, minParallel int, body func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < minParallel || workers < 2 {
		body(0, n)
		return
	}
	if workers > n {
		workers = n
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Go(func() { body(lo, hi) })
	}
	wg.Wait()
}
