package ml

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// ErrEmpty is returned when a dataset, or a slice of labels or scores, has no rows.
var ErrEmpty = errors.New("no rows")

// ErrSingleClass is returned when classification labels hold only 0s or only 1s, so a
// classifier cannot be trained and ROC AUC or average precision are undefined.
var ErrSingleClass = errors.New("a single class: both 0 and 1 are needed")

// Dataset is a feature matrix with its labels and optional sample weights.
//
// The features are stored row-major in one flat slice, so a Dataset built from the rows of a
// query costs one allocation and can be viewed as a gonum matrix without copying (Matrix).
type Dataset struct {
	// Names names the features, in column order; len(Names) is the number of columns.
	Names []string
	// X holds the features row-major: feature j of row i is X[i*len(Names)+j].
	X []float64
	// Y holds one label per row: 0 or 1 for classification, any finite value for regression.
	// It may be nil for a dataset that is only scored.
	Y []float64
	// W holds optional non-negative sample weights, one per row; nil means every row weighs 1.
	W []float64
}

// NewDataset builds a Dataset from rows of features, copying them into one row-major slice,
// and validates it. y may be nil for data that is only scored.
func NewDataset(names []string, rows [][]float64, y []float64) (*Dataset, error) {
	p := len(names)
	x := make([]float64, 0, len(rows)*p)
	for i, r := range rows {
		if len(r) != p {
			return nil, fmt.Errorf("row %d has %d features, want %d (one per name)", i, len(r), p)
		}
		x = append(x, r...)
	}
	d := &Dataset{Names: names, X: x, Y: y}
	if err := d.Validate(y != nil); err != nil {
		return nil, err
	}
	return d, nil
}

// Rows returns the number of rows.
func (d *Dataset) Rows() int {
	if len(d.Names) == 0 {
		return 0
	}
	return len(d.X) / len(d.Names)
}

// Cols returns the number of features.
func (d *Dataset) Cols() int { return len(d.Names) }

// Row returns the features of row i, sharing the dataset's storage.
func (d *Dataset) Row(i int) []float64 {
	p := len(d.Names)
	return d.X[i*p : (i+1)*p : (i+1)*p]
}

// Weight returns the weight of row i: W[i], or 1 when the dataset has no weights.
func (d *Dataset) Weight(i int) float64 {
	if d.W == nil {
		return 1
	}
	return d.W[i]
}

// Matrix returns the features as a gonum matrix that shares the dataset's storage.
func (d *Dataset) Matrix() *mat.Dense {
	return mat.NewDense(d.Rows(), d.Cols(), d.X)
}

// Subset returns a new Dataset holding copies of the given rows, in the given order.
func (d *Dataset) Subset(rows []int) *Dataset {
	p := d.Cols()
	s := &Dataset{Names: d.Names, X: make([]float64, 0, len(rows)*p)}
	if d.Y != nil {
		s.Y = make([]float64, 0, len(rows))
	}
	if d.W != nil {
		s.W = make([]float64, 0, len(rows))
	}
	for _, i := range rows {
		s.X = append(s.X, d.Row(i)...)
		if d.Y != nil {
			s.Y = append(s.Y, d.Y[i])
		}
		if d.W != nil {
			s.W = append(s.W, d.W[i])
		}
	}
	return s
}

// Validate checks that the dataset is well formed: at least one feature and one row, a
// feature slice that is a whole number of rows, finite features, labels (when needLabels, or
// whenever Y is set) and weights of the right length, finite labels, and non-negative finite
// weights with a positive total.
func (d *Dataset) Validate(needLabels bool) error {
	p := len(d.Names)
	if p == 0 {
		return errors.New("dataset has no features (Names is empty)")
	}
	if len(d.X)%p != 0 {
		return fmt.Errorf("dataset has %d feature values, not a multiple of its %d features", len(d.X), p)
	}
	n := len(d.X) / p
	if n == 0 {
		return fmt.Errorf("dataset: %w", ErrEmpty)
	}
	for k, v := range d.X {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("dataset row %d feature %q is %v: features must be finite (impute missing values first)", k/p, d.Names[k%p], v)
		}
	}
	if d.Y == nil && needLabels {
		return errors.New("dataset has no labels (Y is nil)")
	}
	if d.Y != nil {
		if len(d.Y) != n {
			return fmt.Errorf("dataset has %d labels for %d rows", len(d.Y), n)
		}
		for i, v := range d.Y {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("dataset row %d label is %v: labels must be finite", i, v)
			}
		}
	}
	if d.W != nil {
		if len(d.W) != n {
			return fmt.Errorf("dataset has %d weights for %d rows", len(d.W), n)
		}
		total := 0.0
		for i, v := range d.W {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return fmt.Errorf("dataset row %d weight is %v: weights must be finite and non-negative", i, v)
			}
			total += v
		}
		if total <= 0 {
			return errors.New("dataset weights sum to zero")
		}
	}
	return nil
}

// validateFor validates a training set for task: labels are required, and classification
// labels must be 0 or 1 with both classes present.
func (d *Dataset) validateFor(task Task) error {
	if err := task.validate(); err != nil {
		return err
	}
	if err := d.Validate(true); err != nil {
		return err
	}
	if task == Classification {
		return checkBinaryLabels(d.Y)
	}
	return nil
}

// checkBinaryLabels checks that every label is 0 or 1 and that both occur.
func checkBinaryLabels(y []float64) error {
	var pos, neg bool
	for i, v := range y {
		switch v {
		case 0:
			neg = true
		case 1:
			pos = true
		default:
			return fmt.Errorf("label %d is %v: classification labels must be 0 or 1", i, v)
		}
	}
	if !pos || !neg {
		return fmt.Errorf("classification labels: %w", ErrSingleClass)
	}
	return nil
}

// checkFeatures checks that a dataset to be scored has the model's number of features.
func checkFeatures(m Model, d *Dataset) error {
	if err := d.Validate(false); err != nil {
		return err
	}
	if d.Cols() != m.NumFeatures() {
		return fmt.Errorf("dataset has %d features, the model was trained on %d", d.Cols(), m.NumFeatures())
	}
	return nil
}
