package ml

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// GBMParams are the hyperparameters of histogram gradient boosting. Zero values pick the
// defaults, which are scikit-learn's HistGradientBoosting ones.
type GBMParams struct {
	// Task is Classification (binary log-loss, raw predictions are log-odds) or Regression
	// (squared error).
	Task Task `json:"task"`
	// MaxIter is the number of boosting rounds (one tree each); 0 means 100.
	MaxIter int `json:"max_iter,omitempty"`
	// LearningRate shrinks each tree's leaf values; 0 means 0.1.
	LearningRate float64 `json:"learning_rate,omitempty"`
	// MaxLeafNodes bounds the leaves of each tree, grown best split first; 0 means 31.
	MaxLeafNodes int `json:"max_leaf_nodes,omitempty"`
	// MaxDepth bounds the depth of each tree; 0 means unlimited (MaxLeafNodes bounds it).
	MaxDepth int `json:"max_depth,omitempty"`
	// MinSamplesLeaf is the fewest rows a leaf may hold; 0 means 20.
	MinSamplesLeaf int `json:"min_samples_leaf,omitempty"`
	// L2 is the L2 regularization of leaf values (λ in −G/(H+λ)); 0 means none.
	L2 float64 `json:"l2,omitempty"`
	// MaxBins is the number of bins per feature, at most 255; 0 means 255.
	MaxBins int `json:"max_bins,omitempty"`
	// EarlyStopping makes FitGBM hold out ValidationFraction of the rows (stratified for
	// classification) and stop when the validation loss has not improved by more than Tol
	// for Patience rounds. FitGBMWithValidation always stops early, on the set it is given.
	EarlyStopping bool `json:"early_stopping,omitempty"`
	// ValidationFraction is the share of rows held out by EarlyStopping; 0 means 0.1.
	ValidationFraction float64 `json:"validation_fraction,omitempty"`
	// Patience is the number of rounds without improvement that stops training; 0 means 10.
	Patience int `json:"patience,omitempty"`
	// Tol is the least decrease of the validation loss that counts as improvement; 0 means
	// 1e-7.
	Tol float64 `json:"tol,omitempty"`
	// Seed seeds the validation split and the row sample the bins are computed from.
	Seed uint64 `json:"seed,omitempty"`
	// Workers is how many goroutines build histograms; 0 means GOMAXPROCS. It changes speed,
	// never the model.
	Workers int `json:"-"`
}

func (gp GBMParams) withDefaults() (GBMParams, error) {
	if err := gp.Task.validate(); err != nil {
		return gp, err
	}
	if gp.MaxIter < 0 || gp.MaxLeafNodes < 0 || gp.MaxDepth < 0 || gp.MinSamplesLeaf < 0 ||
		gp.MaxBins < 0 || gp.Patience < 0 || gp.Workers < 0 {
		return gp, fmt.Errorf("boosting parameters must not be negative: %+v", gp)
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"learning rate", gp.LearningRate}, {"l2", gp.L2}, {"validation fraction", gp.ValidationFraction}, {"tol", gp.Tol}} {
		if c.v < 0 || math.IsNaN(c.v) || math.IsInf(c.v, 0) {
			return gp, fmt.Errorf("%s %v must be finite and non-negative", c.name, c.v)
		}
	}
	if gp.MaxBins > 255 {
		return gp, fmt.Errorf("max bins %d exceeds 255", gp.MaxBins)
	}
	if gp.ValidationFraction >= 1 {
		return gp, fmt.Errorf("validation fraction %v must be below 1", gp.ValidationFraction)
	}
	if gp.MaxLeafNodes == 1 {
		return gp, errors.New("max leaf nodes must be at least 2")
	}
	if gp.MaxBins == 1 {
		return gp, errors.New("max bins must be at least 2")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&gp.MaxIter, 100)
	def(&gp.MaxLeafNodes, 31)
	def(&gp.MinSamplesLeaf, 20)
	def(&gp.MaxBins, 255)
	def(&gp.Patience, 10)
	def(&gp.Workers, runtime.GOMAXPROCS(0))
	deff(&gp.LearningRate, 0.1)
	deff(&gp.ValidationFraction, 0.1)
	deff(&gp.Tol, 1e-7)
	return gp, nil
}

// GBM is a histogram gradient boosting model: a baseline plus a sum of regression trees
// fitted to the gradients of the loss, each tree split on binned features.
type GBM struct {
	params    GBMParams
	nFeatures int
	baseline  float64
	trees     []*Tree
	trainLoss []float64
	validLoss []float64
}

var _ Classifier = (*GBM)(nil)

// FitGBM trains gradient boosting on d. With params.EarlyStopping it holds out a validation
// set from d and keeps the rounds up to the best validation loss.
func FitGBM(ctx context.Context, d *Dataset, params GBMParams) (*GBM, error) {
	if err := d.validateFor(params.Task); err != nil {
		return nil, fmt.Errorf("fit boosting: %w", err)
	}
	gp, err := params.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("fit boosting: %w", err)
	}
	train := make([]int, d.Rows())
	for i := range train {
		train[i] = i
	}
	var valid []int
	if gp.EarlyStopping {
		train, valid = holdOut(d, gp.Task, gp.ValidationFraction, gp.Seed)
		if len(valid) == 0 || len(train) == 0 {
			return nil, fmt.Errorf("fit boosting: %d rows are too few to hold out a validation set", d.Rows())
		}
	}
	m, err := fitGBM(ctx, d, train, d, valid, gp)
	if err != nil {
		return nil, fmt.Errorf("fit boosting: %w", err)
	}
	return m, nil
}

// FitGBMWithValidation trains gradient boosting on train and stops early on valid: once the
// loss on valid has not improved by more than params.Tol for params.Patience rounds, training
// stops and the model keeps the rounds up to the best validation loss.
func FitGBMWithValidation(ctx context.Context, train, valid *Dataset, params GBMParams) (*GBM, error) {
	if err := train.validateFor(params.Task); err != nil {
		return nil, fmt.Errorf("fit boosting: training set: %w", err)
	}
	if err := valid.Validate(true); err != nil {
		return nil, fmt.Errorf("fit boosting: validation set: %w", err)
	}
	if valid.Cols() != train.Cols() {
		return nil, fmt.Errorf("fit boosting: validation set has %d features, training set %d", valid.Cols(), train.Cols())
	}
	if params.Task == Classification {
		for i, v := range valid.Y {
			if v != 0 && v != 1 {
				return nil, fmt.Errorf("fit boosting: validation label %d is %v, want 0 or 1", i, v)
			}
		}
	}
	gp, err := params.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("fit boosting: %w", err)
	}
	gp.EarlyStopping = true
	all := func(n int) []int {
		r := make([]int, n)
		for i := range r {
			r[i] = i
		}
		return r
	}
	m, err := fitGBM(ctx, train, all(train.Rows()), valid, all(valid.Rows()), gp)
	if err != nil {
		return nil, fmt.Errorf("fit boosting: %w", err)
	}
	return m, nil
}

// holdOut splits the rows of d into training and validation rows at random (per class for
// classification, so both sides keep the class balance), each side in row order.
func holdOut(d *Dataset, task Task, frac float64, seed uint64) (train, valid []int) {
	rng := newRand(seed, streamGBMValidation, 0)
	groups := [][]int{nil}
	if task == Classification {
		groups = [][]int{nil, nil}
	}
	for i, y := range d.Y {
		g := 0
		if task == Classification {
			g = int(y)
		}
		groups[g] = append(groups[g], i)
	}
	isValid := make([]bool, d.Rows())
	for _, g := range groups {
		rng.Shuffle(len(g), func(a, b int) { g[a], g[b] = g[b], g[a] })
		k := int(math.Ceil(frac * float64(len(g))))
		for _, i := range g[:min(k, len(g))] {
			isValid[i] = true
		}
	}
	for i, v := range isValid {
		if v {
			valid = append(valid, i)
		} else {
			train = append(train, i)
		}
	}
	return train, valid
}

// fitGBM runs the boosting rounds on rows train of d, stopping early on rows valid of dv when
// valid is not empty.
func fitGBM(ctx context.Context, d *Dataset, train []int, dv *Dataset, valid []int, gp GBMParams) (*GBM, error) {
	edges := fitBinEdges(d, train, gp.MaxBins, gp.Seed)
	bins := edges.binColumns(d, train)
	n := len(train)
	y := make([]float64, n)
	w := make([]float64, n)
	for k, i := range train {
		y[k], w[k] = d.Y[i], d.Weight(i)
	}
	m := &GBM{params: gp, nFeatures: d.Cols(), baseline: baseline(gp.Task, y, w)}
	raw := make([]float64, n)
	for k := range raw {
		raw[k] = m.baseline
	}
	var rawV, yV, wV []float64
	if len(valid) > 0 {
		rawV, yV, wV = make([]float64, len(valid)), make([]float64, len(valid)), make([]float64, len(valid))
		for k, i := range valid {
			rawV[k], yV[k], wV[k] = m.baseline, dv.Y[i], dv.Weight(i)
		}
	}
	gr := newGrower(bins, edges, n, d.Cols(), w, gp)
	best, bestIter := math.Inf(1), 0
	if len(valid) > 0 {
		best = boostLoss(gp.Task, yV, wV, rawV, gp.Workers)
		m.validLoss = append(m.validLoss, best)
	}
	p, swV := dv.Cols(), sum(wV)
	for iter := 1; iter <= gp.MaxIter; iter++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// The pass that computes the gradients at the current predictions also gives the
		// training loss of the rounds so far.
		m.trainLoss = append(m.trainLoss, gr.gradients(gp.Task, y, raw))
		t := gr.grow()
		gr.addLeaves(t, raw)
		m.trees = append(m.trees, t)
		if len(valid) == 0 {
			continue
		}
		loss := chunkSum(len(valid), gp.Workers, func(lo, hi int) float64 {
			for k := lo; k < hi; k++ {
				i := valid[k]
				rawV[k] += t.RawPredict(dv.X[i*p : (i+1)*p])
			}
			return lossSum(gp.Task, yV[lo:hi], wV[lo:hi], rawV[lo:hi])
		}) / swV
		m.validLoss = append(m.validLoss, loss)
		if loss < best-gp.Tol {
			best, bestIter = loss, iter
		} else if iter-bestIter >= gp.Patience {
			break
		}
	}
	m.trainLoss = append(m.trainLoss, boostLoss(gp.Task, y, w, raw, gp.Workers))
	if len(valid) > 0 {
		m.trees = m.trees[:bestIter]
	}
	return m, nil
}

// baseline is the constant prediction that minimizes the loss: the log-odds of the weighted
// mean label for classification, the weighted mean for regression.
func baseline(task Task, y, w []float64) float64 {
	var sw, swy float64
	for i := range y {
		sw += w[i]
		swy += w[i] * y[i]
	}
	mean := swy / sw
	if task == Classification {
		mean = min(max(mean, 1e-12), 1-1e-12)
		return math.Log(mean / (1 - mean))
	}
	return mean
}

// boostLoss is the weighted mean loss of raw predictions: log-loss of the log-odds for
// classification, squared error for regression. It sums on up to workers goroutines, in
// fixed chunks, so the result does not depend on their number.
func boostLoss(task Task, y, w, raw []float64, workers int) float64 {
	return chunkSum(len(y), workers, func(lo, hi int) float64 {
		return lossSum(task, y[lo:hi], w[lo:hi], raw[lo:hi])
	}) / sum(w)
}

// lossSum is the weighted sum of the losses of raw predictions.
func lossSum(task Task, y, w, raw []float64) float64 {
	var s float64
	if task == Classification {
		var logs logSum
		for i, r := range raw {
			// log(1 + e^r) − y·r, computed without overflow.
			s += w[i] * (max(r, 0) - y[i]*r)
			logs.add(w[i], 1+math.Exp(-math.Abs(r)))
		}
		return s + logs.value()
	}
	for i, r := range raw {
		e := y[i] - r
		s += w[i] * e * e
	}
	return s
}

// logSum accumulates Σ wᵢ·log(xᵢ) for xᵢ in [1, 2]. Terms of weight 1 (all of them, in most
// fits) are multiplied together and their logarithm taken once per logBatch: the log-loss of a
// round then costs a multiplication per row instead of a logarithm, and is as exact at its
// precision.
type logSum struct {
	prod float64 // product of the pending factors of weight 1; 0 stands for 1
	exp  int     // binary exponent taken out of prod
	n    int     // factors in prod
	rest float64 // Σ w·log(x) of the other terms
}

// logBatch keeps the product of factors of at most 2 far from overflow.
const logBatch = 256

func (l *logSum) add(w, x float64) {
	if w != 1 {
		l.rest += w * math.Log(x)
		return
	}
	if l.n == 0 {
		l.prod = 1
	}
	l.prod *= x
	if l.n++; l.n%logBatch == 0 {
		frac, e := math.Frexp(l.prod)
		l.prod, l.exp = frac, l.exp+e
	}
}

func (l *logSum) value() float64 {
	if l.n == 0 {
		return l.rest
	}
	return l.rest + math.Log(l.prod) + float64(l.exp)*math.Ln2
}

// lossChunk is the number of rows per chunk of chunkSum.
const lossChunk = 4096

// chunkSum calls fn on consecutive chunks of lossChunk indexes of [0, n), on up to workers
// goroutines, and returns the sum of its results added in chunk order: the same for any
// number of workers.
func chunkSum(n, workers int, fn func(lo, hi int) float64) float64 {
	chunks := (n + lossChunk - 1) / lossChunk
	parts := make([]float64, chunks)
	run := func(c0, c1 int) {
		for c := c0; c < c1; c++ {
			parts[c] = fn(c*lossChunk, min(n, (c+1)*lossChunk))
		}
	}
	workers = min(workers, chunks)
	if workers < 2 {
		run(0, chunks)
	} else {
		var wg sync.WaitGroup
		for wk := range workers {
			c0, c1 := wk*chunks/workers, (wk+1)*chunks/workers
			wg.Go(func() { run(c0, c1) })
		}
		wg.Wait()
	}
	return sum(parts)
}

// sum adds xs in order.
func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// softplus returns log(1 + e^x) without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// sigmoid returns 1 / (1 + e^−x) without overflow.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// Algorithm returns "hist_gradient_boosting".
func (m *GBM) Algorithm() string { return "hist_gradient_boosting" }

// Task returns the task the model was trained for.
func (m *GBM) Task() Task { return m.params.Task }

// Params returns the parameters the model was trained with, defaults filled in.
func (m *GBM) Params() GBMParams { return m.params }

// NumFeatures returns the number of features the model was trained on.
func (m *GBM) NumFeatures() int { return m.nFeatures }

// NumTrees returns the number of boosting rounds kept.
func (m *GBM) NumTrees() int { return len(m.trees) }

// TrainLoss returns the training loss before any round and after each round trained (log-loss
// for classification, mean squared error for regression), including rounds that early
// stopping later dropped.
func (m *GBM) TrainLoss() []float64 { return m.trainLoss }

// ValidationLoss returns the validation loss before any round and after each round trained,
// or nil when training did not stop early.
func (m *GBM) ValidationLoss() []float64 { return m.validLoss }

// RawPredict returns the baseline plus the trees' leaf values: log-odds for classification.
func (m *GBM) RawPredict(x []float64) float64 {
	v := m.baseline
	for _, t := range m.trees {
		v += t.RawPredict(x)
	}
	return v
}

// PredictProba returns the probability of label 1 (the sigmoid of RawPredict) for
// classification, the predicted value for regression.
func (m *GBM) PredictProba(x []float64) float64 {
	if m.params.Task == Classification {
		return sigmoid(m.RawPredict(x))
	}
	return m.RawPredict(x)
}

// Predict returns the label for classification, the value for regression.
func (m *GBM) Predict(x []float64) float64 {
	if m.params.Task == Classification {
		return classify(m.PredictProba(x))
	}
	return m.RawPredict(x)
}

// predictBlock predicts rows one tree at a time (see blockPredictor).
func (m *GBM) predictBlock(x, out []float64, kind predictKind) {
	p := m.nFeatures
	for i := range out {
		out[i] = m.baseline
	}
	for _, t := range m.trees {
		for i := range out {
			out[i] += t.RawPredict(x[i*p : (i+1)*p])
		}
	}
	if kind == kindRaw || m.params.Task != Classification {
		return
	}
	for i, v := range out {
		v = sigmoid(v)
		if kind == kindPredict {
			v = classify(v)
		}
		out[i] = v
	}
}

// Contributions returns Saabas path contributions summed over the trees, on the raw (log-odds
// for classification) scale. The bias is the baseline plus each tree's root value.
func (m *GBM) Contributions(x []float64) (bias float64, contrib []float64) {
	return explainTrees(m.trees, m.nFeatures, x, m.baseline, 1, (*Tree).addContributions)
}

// gbmJSON is the saved form of a GBM.
type gbmJSON struct {
	Params    GBMParams `json:"params"`
	Features  int       `json:"features"`
	Baseline  float64   `json:"baseline"`
	TrainLoss []float64 `json:"train_loss"`
	ValidLoss []float64 `json:"validation_loss,omitempty"`
	Trees     []*Tree   `json:"trees"`
}

// MarshalJSON encodes the model with its trees and loss history.
func (m *GBM) MarshalJSON() ([]byte, error) {
	return json.Marshal(gbmJSON{
		Params: m.params, Features: m.nFeatures, Baseline: m.baseline,
		TrainLoss: m.trainLoss, ValidLoss: m.validLoss, Trees: m.trees,
	})
}

// UnmarshalJSON decodes a model saved by MarshalJSON.
func (m *GBM) UnmarshalJSON(b []byte) error {
	var j gbmJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode boosting: %w", err)
	}
	if err := j.Params.Task.validate(); err != nil {
		return fmt.Errorf("decode boosting: %w", err)
	}
	if j.Features <= 0 {
		return fmt.Errorf("decode boosting: %d features", j.Features)
	}
	// Boosting's trees regress the gradients, whatever the model's task.
	if err := checkTrees(j.Trees, j.Features, Regression); err != nil {
		return fmt.Errorf("decode boosting: %w", err)
	}
	*m = GBM{
		params: j.Params, nFeatures: j.Features, baseline: j.Baseline,
		trainLoss: j.TrainLoss, validLoss: j.ValidLoss, trees: j.Trees,
	}
	return nil
}
