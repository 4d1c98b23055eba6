package ml

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// TreeParams are the hyperparameters of a CART tree. Zero values pick the defaults, which are
// scikit-learn's.
type TreeParams struct {
	// Task is Classification (Gini impurity, leaves hold the probability of label 1) or
	// Regression (squared error, leaves hold the mean label).
	Task Task `json:"task"`
	// MaxDepth bounds the depth of the tree (the root is at depth 0); 0 means unlimited.
	MaxDepth int `json:"max_depth,omitempty"`
	// MinSamplesSplit is the fewest rows a node needs to be split; 0 means 2.
	MinSamplesSplit int `json:"min_samples_split,omitempty"`
	// MinSamplesLeaf is the fewest rows each side of a split must keep; 0 means 1.
	MinSamplesLeaf int `json:"min_samples_leaf,omitempty"`
	// MaxFeatures is how many features are drawn at random as split candidates at each node;
	// 0 means all of them, in column order, and then the seed plays no part.
	MaxFeatures int `json:"max_features,omitempty"`
	// Seed seeds the feature draws.
	Seed uint64 `json:"seed,omitempty"`
}

// withDefaults fills the zero values and checks the others against p features.
func (tp TreeParams) withDefaults(p int) (TreeParams, error) {
	if err := tp.Task.validate(); err != nil {
		return tp, err
	}
	if tp.MaxDepth < 0 || tp.MinSamplesSplit < 0 || tp.MinSamplesLeaf < 0 || tp.MaxFeatures < 0 {
		return tp, fmt.Errorf("tree parameters must not be negative: %+v", tp)
	}
	if tp.MaxFeatures > p {
		return tp, fmt.Errorf("max features %d exceeds the %d features", tp.MaxFeatures, p)
	}
	if tp.MinSamplesSplit == 0 {
		tp.MinSamplesSplit = 2
	}
	if tp.MinSamplesSplit < 2 {
		return tp, fmt.Errorf("min samples split %d must be at least 2", tp.MinSamplesSplit)
	}
	if tp.MinSamplesLeaf == 0 {
		tp.MinSamplesLeaf = 1
	}
	if tp.MaxFeatures == 0 {
		tp.MaxFeatures = p
	}
	return tp, nil
}

// treeNode is one node of a Tree, stored in a flat slice with children addressed by index.
//
// Fields are ordered so the struct packs into 40 bytes: a forest predicting a batch walks
// millions of them.
type treeNode struct {
	// Feature is the feature the node splits on, or -1 for a leaf.
	Feature int32 `json:"f"`
	// Left and Right are the children's indices: rows with x[Feature] <= Threshold go left.
	Left  int32 `json:"l,omitempty"`
	Right int32 `json:"r,omitempty"`
	// Samples is the number of distinct training rows that reached the node.
	Samples   int32   `json:"n"`
	Threshold float64 `json:"t,omitempty"`
	// Value is the weighted mean label of the node's training rows: the prediction at a leaf,
	// the reference that path contributions are measured from at an inner node.
	Value float64 `json:"v"`
	// Weight is the total sample weight of the node's training rows (its "cover").
	Weight float64 `json:"w"`
}

// Tree is a CART decision tree for binary classification or regression.
type Tree struct {
	params    TreeParams
	nFeatures int
	nodes     []treeNode
}

var _ Classifier = (*Tree)(nil)

// FitTree grows a CART tree on d. Split search sorts each feature once and then partitions
// the sorted orders down the tree, so a level of the tree costs O(rows × features).
func FitTree(ctx context.Context, d *Dataset, params TreeParams) (*Tree, error) {
	if err := d.validateFor(params.Task); err != nil {
		return nil, fmt.Errorf("fit tree: %w", err)
	}
	tp, err := params.withDefaults(d.Cols())
	if err != nil {
		return nil, fmt.Errorf("fit tree: %w", err)
	}
	cd := newColumns(d)
	w := make([]float64, cd.n)
	for i := range w {
		w[i] = d.Weight(i)
	}
	b := newTreeBuilder(cd, tp)
	t, err := b.build(ctx, w, newRand(tp.Seed, streamTree, 0))
	if err != nil {
		return nil, fmt.Errorf("fit tree: %w", err)
	}
	return t, nil
}

// Algorithm returns "cart".
func (t *Tree) Algorithm() string { return "cart" }

// Task returns the task the tree was trained for.
func (t *Tree) Task() Task { return t.params.Task }

// Params returns the parameters the tree was trained with, defaults filled in.
func (t *Tree) Params() TreeParams { return t.params }

// NumFeatures returns the number of features the tree was trained on.
func (t *Tree) NumFeatures() int { return t.nFeatures }

// NumNodes returns the number of nodes, leaves included.
func (t *Tree) NumNodes() int { return len(t.nodes) }

// Depth returns the depth of the deepest leaf (0 for a tree that is a single leaf).
func (t *Tree) Depth() int {
	var walk func(i int32, d int) int
	walk = func(i int32, d int) int {
		n := &t.nodes[i]
		if n.Feature < 0 {
			return d
		}
		return max(walk(n.Left, d+1), walk(n.Right, d+1))
	}
	return walk(0, 0)
}

// RootSplit returns the feature and threshold of the root split, and false when the tree is
// a single leaf.
func (t *Tree) RootSplit() (feature int, threshold float64, ok bool) {
	r := t.nodes[0]
	if r.Feature < 0 {
		return 0, 0, false
	}
	return int(r.Feature), r.Threshold, true
}

// leaf returns the index of the leaf that x falls in.
func (t *Tree) leaf(x []float64) int32 {
	nodes := t.nodes
	i := int32(0)
	for {
		n := &nodes[i]
		if n.Feature < 0 {
			return i
		}
		if x[n.Feature] <= n.Threshold {
			i = n.Left
		} else {
			i = n.Right
		}
	}
}

// RawPredict returns the value of the leaf that x falls in: the probability of label 1 for
// classification, the mean label for regression.
func (t *Tree) RawPredict(x []float64) float64 { return t.nodes[t.leaf(x)].Value }

// PredictProba returns the probability of label 1 (the leaf value).
func (t *Tree) PredictProba(x []float64) float64 { return t.RawPredict(x) }

// Predict returns the label for classification, the value for regression.
func (t *Tree) Predict(x []float64) float64 {
	v := t.RawPredict(x)
	if t.params.Task == Classification {
		return classify(v)
	}
	return v
}

// Contributions returns Saabas path contributions: the bias is the root's value, and each
// step down the path adds the change in node value to the feature split on.
func (t *Tree) Contributions(x []float64) (bias float64, contrib []float64) {
	contrib = make([]float64, t.nFeatures)
	return t.addContributions(x, contrib, 1), contrib
}

// addContributions adds scale × the path contributions of x to contrib and returns
// scale × the root value.
func (t *Tree) addContributions(x, contrib []float64, scale float64) float64 {
	nodes := t.nodes
	i := int32(0)
	for {
		n := &nodes[i]
		if n.Feature < 0 {
			return scale * nodes[0].Value
		}
		if x[n.Feature] <= n.Threshold {
			i = n.Left
		} else {
			i = n.Right
		}
		contrib[n.Feature] += scale * (nodes[i].Value - n.Value)
	}
}

// treeJSON is the saved form of a Tree.
type treeJSON struct {
	Params   TreeParams `json:"params"`
	Features int        `json:"features"`
	Nodes    []treeNode `json:"nodes"`
}

// MarshalJSON encodes the tree; float64 values are written in their shortest exact form, so
// a tree loaded back predicts bit for bit the same.
func (t *Tree) MarshalJSON() ([]byte, error) {
	return json.Marshal(treeJSON{Params: t.params, Features: t.nFeatures, Nodes: t.nodes})
}

// UnmarshalJSON decodes a tree saved by MarshalJSON and checks its structure.
func (t *Tree) UnmarshalJSON(b []byte) error {
	var j treeJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode tree: %w", err)
	}
	if err := j.Params.Task.validate(); err != nil {
		return fmt.Errorf("decode tree: %w", err)
	}
	if err := checkNodes(j.Nodes, j.Features); err != nil {
		return fmt.Errorf("decode tree: %w", err)
	}
	*t = Tree{params: j.Params, nFeatures: j.Features, nodes: j.Nodes}
	return nil
}

// checkNodes checks that nodes form a tree rooted at 0 whose children come after their
// parent, so prediction always ends at a leaf and never indexes out of range.
func checkNodes(nodes []treeNode, features int) error {
	if len(nodes) == 0 {
		return errors.New("tree has no nodes")
	}
	if features <= 0 {
		return fmt.Errorf("tree has %d features", features)
	}
	for i, n := range nodes {
		if math.IsNaN(n.Value) || math.IsNaN(n.Threshold) {
			return fmt.Errorf("node %d holds NaN", i)
		}
		if n.Feature < 0 {
			continue
		}
		if int(n.Feature) >= features {
			return fmt.Errorf("node %d splits on feature %d of %d", i, n.Feature, features)
		}
		if int(n.Left) <= i || int(n.Right) <= i || int(n.Left) >= len(nodes) || int(n.Right) >= len(nodes) {
			return fmt.Errorf("node %d has children %d and %d out of order", i, n.Left, n.Right)
		}
	}
	return nil
}
