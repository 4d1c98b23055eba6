package ml

// SHAPExplainer is implemented by every model of this package: exact SHAP values of one
// prediction, on the RawPredict scale.
//
// For trees, forests and boosting they are path-dependent TreeSHAP values (Lundberg, Erion
// and Lee, "Consistent individualized feature attribution for tree ensembles", 2018,
// algorithm 2): the Shapley values of the game whose value for a set S of known features is
// the tree's expected output when the other features follow the training rows' split (the
// nodes' cover). Unlike Contributions (Saabas), they do not favour features split near the
// root. They cost O(leaves × depth²) per tree, against O(depth) for Contributions: cheap for
// boosting's small trees, slow for a forest of fully grown trees.
//
// For linear and logistic regression the SHAP values of independent features are coefficient
// × deviation from the mean, which is what Contributions returns.
type SHAPExplainer interface {
	// SHAPValues returns the expected raw prediction over the training rows and one value per
	// feature, adding up to RawPredict(x).
	SHAPValues(x []float64) (bias float64, phi []float64)
}

var (
	_ SHAPExplainer = (*Tree)(nil)
	_ SHAPExplainer = (*Forest)(nil)
	_ SHAPExplainer = (*GBM)(nil)
	_ SHAPExplainer = (*Linear)(nil)
	_ SHAPExplainer = (*Logistic)(nil)
	_ SHAPExplainer = (*Calibrated)(nil)
)

// SHAPValues returns the tree's TreeSHAP values for x and its expected value.
func (t *Tree) SHAPValues(x []float64) (bias float64, phi []float64) {
	phi = make([]float64, t.nFeatures)
	return t.addSHAP(x, phi, 1), phi
}

// SHAPValues returns the mean over the trees of their TreeSHAP values.
func (f *Forest) SHAPValues(x []float64) (bias float64, phi []float64) {
	return explainTrees(f.trees, f.nFeatures, x, 0, 1/float64(len(f.trees)), (*Tree).addSHAP)
}

// SHAPValues returns the sum over the trees of their TreeSHAP values, in log-odds for
// classification; the bias adds the baseline.
func (m *GBM) SHAPValues(x []float64) (bias float64, phi []float64) {
	return explainTrees(m.trees, m.nFeatures, x, m.baseline, 1, (*Tree).addSHAP)
}

// SHAPValues returns the base model's SHAP values, on its raw scale.
func (m *Calibrated) SHAPValues(x []float64) (bias float64, phi []float64) {
	return m.base.(SHAPExplainer).SHAPValues(x)
}

// expectedValue is the tree's mean output weighted by cover: each inner node averages its
// children by their share of its cover.
func (t *Tree) expectedValue(i int32) float64 {
	n := &t.nodes[i]
	if n.Feature < 0 {
		return n.Value
	}
	l, r := &t.nodes[n.Left], &t.nodes[n.Right]
	return (l.Weight*t.expectedValue(n.Left) + r.Weight*t.expectedValue(n.Right)) / (l.Weight + r.Weight)
}

// pathElem is one feature on the path of TreeSHAP's recursion: the fraction of "zero" paths
// (feature unknown: cover-weighted) and "one" paths (feature known: follows x) that flow
// through, and the weight of the path's subsets of each size.
type pathElem struct {
	feature int
	zero    float64
	one     float64
	weight  float64
}

// addSHAP adds scale × the TreeSHAP values of x to phi and returns scale × the expected value.
func (t *Tree) addSHAP(x, phi []float64, scale float64) float64 {
	if t.nodes[0].Feature < 0 {
		return scale * t.nodes[0].Value
	}
	depth := t.Depth()
	// One preallocated stack of paths, one segment per recursion level, as in the reference
	// implementation: a level copies its parent's path and extends it.
	buf := make([]pathElem, (depth+2)*(depth+3)/2)
	t.shapRecurse(x, phi, scale, 0, buf, 0, 1, 1, -1)
	return scale * t.expectedValue(0)
}

func (t *Tree) shapRecurse(x, phi []float64, scale float64, node int32, path []pathElem, length int, zero, one float64, feature int) {
	// Copy the parent's path (its first length elements) past it, and extend the copy.
	next := path[length:]
	copy(next, path[:length])
	path = next
	extendPath(path, length, zero, one, feature)
	length++

	n := &t.nodes[node]
	if n.Feature < 0 {
		for i := 1; i < length; i++ {
			w := unwoundPathSum(path, length, i)
			e := path[i]
			phi[e.feature] += scale * w * (e.one - e.zero) * n.Value
		}
		return
	}
	hot, cold := n.Left, n.Right
	if x[n.Feature] > n.Threshold {
		hot, cold = cold, hot
	}
	inZero, inOne := 1.0, 1.0
	// A feature split on again is taken off the path and its fractions carried over.
	k := 1
	for ; k < length; k++ {
		if path[k].feature == int(n.Feature) {
			break
		}
	}
	if k < length {
		inZero, inOne = path[k].zero, path[k].one
		unwindPath(path, length, k)
		length--
	}
	cover := t.nodes[hot].Weight + t.nodes[cold].Weight
	t.shapRecurse(x, phi, scale, hot, path, length, inZero*t.nodes[hot].Weight/cover, inOne, int(n.Feature))
	t.shapRecurse(x, phi, scale, cold, path, length, inZero*t.nodes[cold].Weight/cover, 0, int(n.Feature))
}

// extendPath appends a feature with fractions zero and one to a path of length elements,
// updating the weights of the subsets of each size.
func extendPath(path []pathElem, length int, zero, one float64, feature int) {
	w := 0.0
	if length == 0 {
		w = 1
	}
	path[length] = pathElem{feature: feature, zero: zero, one: one, weight: w}
	l := float64(length)
	for i := length - 1; i >= 0; i-- {
		path[i+1].weight += one * path[i].weight * float64(i+1) / (l + 1)
		path[i].weight = zero * path[i].weight * (l - float64(i)) / (l + 1)
	}
}

// unwindPath undoes extendPath for element k of a path of length elements.
func unwindPath(path []pathElem, length, k int) {
	one, zero := path[k].one, path[k].zero
	l := length - 1
	n := path[l].weight
	for j := l - 1; j >= 0; j-- {
		if one != 0 {
			t := path[j].weight
			path[j].weight = n * float64(l+1) / (float64(j+1) * one)
			n = t - path[j].weight*zero*float64(l-j)/float64(l+1)
		} else {
			path[j].weight = path[j].weight * float64(l+1) / (zero * float64(l-j))
		}
	}
	for j := k; j < l; j++ {
		path[j].feature, path[j].zero, path[j].one = path[j+1].feature, path[j+1].zero, path[j+1].one
	}
}

// unwoundPathSum returns the total weight the path would have without element k, without
// modifying it.
func unwoundPathSum(path []pathElem, length, k int) float64 {
	one, zero := path[k].one, path[k].zero
	l := length - 1
	n := path[l].weight
	total := 0.0
	if one != 0 {
		for j := l - 1; j >= 0; j-- {
			t := n / (float64(j+1) * one)
			total += t
			n = path[j].weight - t*zero*float64(l-j)
		}
		return total * float64(l+1)
	}
	for j := l - 1; j >= 0; j-- {
		total += path[j].weight / (zero * float64(l-j))
	}
	return total * float64(l+1)
}
