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

// ForestParams are the hyperparameters of a random forest. Zero values pick the defaults,
// which are scikit-learn's.
type ForestParams struct {
	// Task is Classification or Regression, as for a Tree.
	Task Task `json:"task"`
	// Trees is the number of trees; 0 means 100.
	Trees int `json:"trees,omitempty"`
	// MaxDepth, MinSamplesSplit and MinSamplesLeaf bound each tree as in TreeParams.
	MaxDepth        int `json:"max_depth,omitempty"`
	MinSamplesSplit int `json:"min_samples_split,omitempty"`
	MinSamplesLeaf  int `json:"min_samples_leaf,omitempty"`
	// MaxFeatures is how many features each node draws as split candidates; 0 means
	// ⌊√features⌋ for classification and all features for regression.
	MaxFeatures int `json:"max_features,omitempty"`
	// MaxSamples is the size of each tree's bootstrap sample as a fraction of the rows, in
	// (0, 1]; 0 means 1.
	MaxSamples float64 `json:"max_samples,omitempty"`
	// Seed seeds the bootstrap samples and feature draws. Tree k draws from its own stream,
	// so the forest does not depend on how trees are scheduled on cores.
	Seed uint64 `json:"seed,omitempty"`
	// Workers is how many trees are grown at once; 0 means GOMAXPROCS. It changes speed and
	// memory (each worker keeps an index of rows × features), never the model.
	Workers int `json:"-"`
}

func (fp ForestParams) withDefaults(p int) (ForestParams, error) {
	if err := fp.Task.validate(); err != nil {
		return fp, err
	}
	if fp.Trees < 0 || fp.Workers < 0 || fp.MaxFeatures < 0 {
		return fp, fmt.Errorf("forest parameters must not be negative: %+v", fp)
	}
	if fp.MaxSamples < 0 || fp.MaxSamples > 1 || math.IsNaN(fp.MaxSamples) {
		return fp, fmt.Errorf("max samples %v must be in (0, 1]", fp.MaxSamples)
	}
	if fp.Trees == 0 {
		fp.Trees = 100
	}
	if fp.MaxSamples == 0 {
		fp.MaxSamples = 1
	}
	if fp.MaxFeatures == 0 {
		fp.MaxFeatures = p
		if fp.Task == Classification {
			fp.MaxFeatures = max(1, int(math.Sqrt(float64(p))))
		}
	}
	if fp.Workers == 0 {
		fp.Workers = runtime.GOMAXPROCS(0)
	}
	fp.Workers = min(fp.Workers, fp.Trees)
	return fp, nil
}

func (fp ForestParams) tree() TreeParams {
	return TreeParams{
		Task: fp.Task, MaxDepth: fp.MaxDepth, MinSamplesSplit: fp.MinSamplesSplit,
		MinSamplesLeaf: fp.MinSamplesLeaf, MaxFeatures: fp.MaxFeatures,
	}
}

// Forest is a random forest: bootstrap-aggregated CART trees with random feature candidates.
// It predicts the mean of its trees (for classification, the mean probability of label 1).
type Forest struct {
	params    ForestParams
	nFeatures int
	trees     []*Tree
	// oob is the out-of-bag score: ROC AUC for classification, R² for regression; NaN when no
	// row was ever out of bag or the out-of-bag labels hold a single class.
	oob float64
}

var _ Classifier = (*Forest)(nil)

// FitForest grows a random forest on d, trees in parallel, and computes its out-of-bag score.
func FitForest(ctx context.Context, d *Dataset, params ForestParams) (*Forest, error) {
	if err := d.validateFor(params.Task); err != nil {
		return nil, fmt.Errorf("fit forest: %w", err)
	}
	fp, err := params.withDefaults(d.Cols())
	if err != nil {
		return nil, fmt.Errorf("fit forest: %w", err)
	}
	tp, err := fp.tree().withDefaults(d.Cols())
	if err != nil {
		return nil, fmt.Errorf("fit forest: %w", err)
	}
	c := newColumns(d)
	n := c.n
	draws := max(1, int(math.Round(fp.MaxSamples*float64(n))))
	trees := make([]*Tree, fp.Trees)
	inBag := make([][]uint64, fp.Trees)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	errs := make([]error, fp.Workers)
	var wg sync.WaitGroup
	for wk := range fp.Workers {
		wg.Go(func() {
			b := newTreeBuilder(c, tp)
			w := make([]float64, n)
			for k := range next {
				rng := newRand(fp.Seed, streamForest, k)
				clear(w)
				for range draws {
					w[rng.IntN(n)]++
				}
				bag := make([]uint64, (n+63)/64)
				for i := range w {
					if w[i] > 0 {
						bag[i/64] |= 1 << (i % 64)
						w[i] *= d.Weight(i)
					}
				}
				t, err := b.build(ctx, w, rng)
				if err != nil {
					errs[wk] = err
					cancel()
					return
				}
				trees[k], inBag[k] = t, bag
			}
		})
	}
	for k := range fp.Trees {
		select {
		case next <- k:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("fit forest: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fit forest: %w", err)
	}
	f := &Forest{params: fp, nFeatures: c.p, trees: trees}
	f.oob = f.outOfBag(d, inBag)
	return f, nil
}

// outOfBag scores every row on the trees that did not draw it. Rows are taken in blocks, one
// tree at a time, each row summing its trees in index order, so the score is the same however
// rows are spread across cores.
func (f *Forest) outOfBag(d *Dataset, inBag [][]uint64) float64 {
	n, p := d.Rows(), d.Cols()
	pred := make([]float64, n)
	seen := make([]bool, n)
	parallelFor(n, parallelRowsMin, func(lo, hi int) {
		count := make([]int, blockRows)
		for b := lo; b < hi; b += blockRows {
			e := min(b+blockRows, hi)
			clear(count)
			for t, tree := range f.trees {
				bag := inBag[t]
				for i := b; i < e; i++ {
					if bag[i/64]&(1<<(i%64)) == 0 {
						pred[i] += tree.RawPredict(d.X[i*p : (i+1)*p])
						count[i-b]++
					}
				}
			}
			for i := b; i < e; i++ {
				if k := count[i-b]; k > 0 {
					pred[i], seen[i] = pred[i]/float64(k), true
				}
			}
		}
	})
	var y, pr []float64
	for i := range n {
		if seen[i] {
			y = append(y, d.Y[i])
			pr = append(pr, pred[i])
		}
	}
	var score float64
	var err error
	if f.params.Task == Classification {
		score, err = ROCAUC(y, pr)
	} else {
		score, err = R2(y, pr)
	}
	if err != nil {
		return math.NaN()
	}
	return score
}

// Algorithm returns "random_forest".
func (f *Forest) Algorithm() string { return "random_forest" }

// Task returns the task the forest was trained for.
func (f *Forest) Task() Task { return f.params.Task }

// Params returns the parameters the forest was trained with, defaults filled in.
func (f *Forest) Params() ForestParams { return f.params }

// NumFeatures returns the number of features the forest was trained on.
func (f *Forest) NumFeatures() int { return f.nFeatures }

// NumTrees returns the number of trees.
func (f *Forest) NumTrees() int { return len(f.trees) }

// OOBScore returns the out-of-bag score, each row predicted by the trees whose bootstrap
// sample left it out: ROC AUC for classification, R² for regression. ok is false when it could
// not be computed (no row was ever out of bag, or those rows hold a single class).
func (f *Forest) OOBScore() (score float64, ok bool) {
	return f.oob, !math.IsNaN(f.oob)
}

// RawPredict returns the mean of the trees' leaf values.
func (f *Forest) RawPredict(x []float64) float64 {
	sum := 0.0
	for _, t := range f.trees {
		sum += t.RawPredict(x)
	}
	return sum / float64(len(f.trees))
}

// PredictProba returns the mean probability of label 1 over the trees.
func (f *Forest) PredictProba(x []float64) float64 { return f.RawPredict(x) }

// Predict returns the label for classification, the mean of the trees for regression.
func (f *Forest) Predict(x []float64) float64 {
	v := f.RawPredict(x)
	if f.params.Task == Classification {
		return classify(v)
	}
	return v
}

// predictBlock predicts rows one tree at a time (see blockPredictor).
func (f *Forest) predictBlock(x, out []float64, kind predictKind) {
	p := f.nFeatures
	clear(out)
	for _, t := range f.trees {
		for i := range out {
			out[i] += t.RawPredict(x[i*p : (i+1)*p])
		}
	}
	k := float64(len(f.trees))
	for i, v := range out {
		v /= k
		if kind == kindPredict && f.params.Task == Classification {
			v = classify(v)
		}
		out[i] = v
	}
}

// Contributions returns the mean over the trees of their Saabas path contributions.
func (f *Forest) Contributions(x []float64) (bias float64, contrib []float64) {
	return explainTrees(f.trees, f.nFeatures, x, 0, 1/float64(len(f.trees)), (*Tree).addContributions)
}

// explainTrees adds up, over trees, add(tree, x, out, scale) into one value per feature and
// its return values into a bias that starts at bias0: the Saabas contributions or the SHAP
// values of an ensemble.
func explainTrees(trees []*Tree, p int, x []float64, bias0, scale float64, add func(*Tree, []float64, []float64, float64) float64) (bias float64, out []float64) {
	out = make([]float64, p)
	bias = bias0
	for _, t := range trees {
		bias += add(t, x, out, scale)
	}
	return bias, out
}

// checkTrees checks decoded trees against their ensemble's features and task.
func checkTrees(trees []*Tree, features int, task Task) error {
	for k, t := range trees {
		if t == nil || t.nFeatures != features || t.params.Task != task {
			return fmt.Errorf("tree %d does not match the ensemble", k)
		}
	}
	return nil
}

// forestJSON is the saved form of a Forest.
type forestJSON struct {
	Params   ForestParams `json:"params"`
	Features int          `json:"features"`
	OOBScore *float64     `json:"oob_score,omitempty"`
	Trees    []*Tree      `json:"trees"`
}

// MarshalJSON encodes the forest with its trees.
func (f *Forest) MarshalJSON() ([]byte, error) {
	j := forestJSON{Params: f.params, Features: f.nFeatures, Trees: f.trees}
	if !math.IsNaN(f.oob) {
		j.OOBScore = &f.oob
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes a forest saved by MarshalJSON.
func (f *Forest) UnmarshalJSON(b []byte) error {
	var j forestJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode forest: %w", err)
	}
	if err := j.Params.Task.validate(); err != nil {
		return fmt.Errorf("decode forest: %w", err)
	}
	if len(j.Trees) == 0 {
		return errors.New("decode forest: no trees")
	}
	if err := checkTrees(j.Trees, j.Features, j.Params.Task); err != nil {
		return fmt.Errorf("decode forest: %w", err)
	}
	oob := math.NaN()
	if j.OOBScore != nil {
		oob = *j.OOBScore
	}
	*f = Forest{params: j.Params, nFeatures: j.Features, trees: j.Trees, oob: oob}
	return nil
}
