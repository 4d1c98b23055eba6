package ml

import (
	"context"
	"math/rand/v2"
	"slices"
)

// columns is a training set laid out for split search: features column-major, and each
// feature's row order sorted by value once, shared read-only by every tree of a forest.
type columns struct {
	n, p  int
	x     []float64 // x[f*n+i] is feature f of row i
	y     []float64
	order [][]int32 // order[f] lists every row, by ascending feature f (ties by row)
}

func newColumns(d *Dataset) *columns {
	n, p := d.Rows(), d.Cols()
	c := &columns{n: n, p: p, y: d.Y, x: make([]float64, n*p), order: make([][]int32, p)}
	for i := range n {
		row := d.Row(i)
		for f, v := range row {
			c.x[f*n+i] = v
		}
	}
	parallelFor(p, 2, func(lo, hi int) {
		for f := lo; f < hi; f++ {
			xs := c.x[f*n : (f+1)*n]
			o := make([]int32, n)
			for i := range o {
				o[i] = int32(i)
			}
			slices.SortFunc(o, func(a, b int32) int {
				switch {
				case xs[a] < xs[b]:
					return -1
				case xs[a] > xs[b]:
					return 1
				default:
					return int(a - b)
				}
			})
			c.order[f] = o
		}
	})
	return c
}

// treeBuilder grows one tree at a time; a forest worker reuses one for all its trees.
type treeBuilder struct {
	c      *columns
	params TreeParams

	ws    []rowWeight // per row: weight (0: not in this tree's sample) and weight × label
	idx   [][]int32   // idx[f][lo:hi] holds a node's rows sorted by feature f
	left  []bool      // per row: goes to the left child of the node being split
	buf   []int32
	feats []int
	nodes []treeNode
}

func newTreeBuilder(c *columns, params TreeParams) *treeBuilder {
	b := &treeBuilder{
		c: c, params: params,
		ws: make([]rowWeight, c.n), idx: make([][]int32, c.p),
		left: make([]bool, c.n), buf: make([]int32, c.n), feats: make([]int, c.p),
	}
	for f := range b.idx {
		b.idx[f] = make([]int32, c.n)
	}
	return b
}

// rowWeight holds a row's weight and weight × label side by side, read together by the scan.
type rowWeight struct{ w, wy float64 }

// stackItem is a node waiting to be split: its index and its rows' range in every idx[f].
type stackItem struct {
	node, lo, hi, depth int
}

// split is the best split found at a node.
type split struct {
	feature int
	pos     int // rows idx[feature][lo:lo+pos] go left
	thresh  float64
	proxy   float64
}

// build grows a tree on the rows of positive weight in w, drawing candidate features from rng.
func (b *treeBuilder) build(ctx context.Context, w []float64, rng *rand.Rand) (*Tree, error) {
	c := b.c
	m := 0
	for f := range c.p {
		m = 0
		dst := b.idx[f]
		for _, i := range c.order[f] {
			if w[i] > 0 {
				dst[m] = i
				m++
			}
		}
	}
	for i, wi := range w {
		b.ws[i] = rowWeight{w: wi, wy: wi * c.y[i]}
	}
	b.nodes = make([]treeNode, 0, 64)
	b.nodes = append(b.nodes, b.leafNode(b.idx[0][:m]))
	stack := []stackItem{{node: 0, lo: 0, hi: m, depth: 0}}
	for popped := 0; len(stack) > 0; popped++ {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if popped%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if !b.splittable(it, b.idx[0][it.lo:it.hi]) {
			continue
		}
		s, ok := b.bestSplit(it, rng)
		if !ok {
			continue
		}
		mid := it.lo + s.pos
		l, r := len(b.nodes), len(b.nodes)+1
		sorted := b.idx[s.feature]
		b.nodes = append(b.nodes, b.leafNode(sorted[it.lo:mid]), b.leafNode(sorted[mid:it.hi]))
		n := &b.nodes[it.node]
		n.Feature, n.Threshold, n.Left, n.Right = int32(s.feature), s.thresh, int32(l), int32(r)
		li := stackItem{node: l, lo: it.lo, hi: mid, depth: it.depth + 1}
		ri := stackItem{node: r, lo: mid, hi: it.hi, depth: it.depth + 1}
		if b.splittable(li, sorted[it.lo:mid]) || b.splittable(ri, sorted[mid:it.hi]) {
			b.partition(it, s)
			// Right first so the left subtree is grown (and numbered) first.
			stack = append(stack, ri, li)
		}
	}
	return &Tree{params: b.params, nFeatures: c.p, nodes: slices.Clip(b.nodes)}, nil
}

// leafNode summarizes rows as a leaf.
func (b *treeBuilder) leafNode(rows []int32) treeNode {
	var sw, swy float64
	for _, i := range rows {
		sw += b.ws[i].w
		swy += b.ws[i].wy
	}
	return treeNode{Feature: -1, Value: swy / sw, Weight: sw, Samples: int32(len(rows))}
}

// splittable says whether a node, holding rows, may be split at all: depth, sample counts
// and purity.
func (b *treeBuilder) splittable(it stackItem, rows []int32) bool {
	n := it.hi - it.lo
	p := b.params
	if p.MaxDepth > 0 && it.depth >= p.MaxDepth {
		return false
	}
	if n < p.MinSamplesSplit || n < 2*p.MinSamplesLeaf {
		return false
	}
	// Pure: every label equals the node's first.
	y := b.c.y
	first := y[rows[0]]
	for _, i := range rows[1:] {
		if y[i] != first {
			return true
		}
	}
	return false
}

// bestSplit searches the candidate features of a node for the split that most lowers the
// weighted impurity. For squared error the children's impurity is
// Σy² − sL²/wL − sR²/wR, so the best split maximizes the proxy sL²/wL + sR²/wR. With labels
// 0 and 1, Gini impurity 2p(1−p) is twice the variance of the labels, so the same proxy picks
// the Gini split too. A split that lowers nothing is still taken when it is the best one (as
// scikit-learn does): that is how a tree fits XOR.
func (b *treeBuilder) bestSplit(it stackItem, rng *rand.Rand) (split, bool) {
	c, p := b.c, b.params
	best := split{feature: -1}
	var total, totalY float64
	for _, i := range b.idx[0][it.lo:it.hi] {
		total += b.ws[i].w
		totalY += b.ws[i].wy
	}
	feats := b.feats
	for f := range feats {
		feats[f] = f
	}
	sampled := p.MaxFeatures < c.p
	visited, nonConstant := 0, 0
	for k := range c.p {
		// Draw without replacement until MaxFeatures features are visited and at least one
		// of them can split the node, as scikit-learn does.
		if sampled {
			if visited >= p.MaxFeatures && nonConstant > 0 {
				break
			}
			j := k + rng.IntN(c.p-k)
			feats[k], feats[j] = feats[j], feats[k]
		}
		f := feats[k]
		visited++
		rows := b.idx[f][it.lo:it.hi]
		xs := c.x[f*c.n : (f+1)*c.n]
		if xs[rows[0]] == xs[rows[len(rows)-1]] {
			continue
		}
		nonConstant++
		b.scanFeature(f, rows, xs, total, totalY, &best)
	}
	return best, best.feature >= 0
}

// scanFeature walks the rows of a node in order of feature f and records in best any split
// between two distinct values that beats it.
func (b *treeBuilder) scanFeature(f int, rows []int32, xs []float64, total, totalY float64, best *split) {
	minLeaf := b.params.MinSamplesLeaf
	n := len(rows)
	ws := b.ws
	var wl, sl float64
	xn := xs[rows[0]]
	for k := 0; k < n-1; k++ {
		s := ws[rows[k]]
		wl += s.w
		sl += s.wy
		xi := xn
		xn = xs[rows[k+1]]
		if k+1 < minLeaf || xn <= xi {
			continue
		}
		if n-(k+1) < minLeaf {
			break
		}
		wr := total - wl
		if wr <= 0 {
			continue
		}
		sr := totalY - sl
		proxy := sl*sl/wl + sr*sr/wr
		if best.feature < 0 || proxy > best.proxy {
			t := xi/2 + xn/2
			if t >= xn || t < xi {
				t = xi
			}
			*best = split{feature: f, pos: k + 1, thresh: t, proxy: proxy}
		}
	}
}

// partition reorders every idx[g][lo:hi] so the left child's rows come first, keeping each
// side sorted by g.
func (b *treeBuilder) partition(it stackItem, s split) {
	rows := b.idx[s.feature][it.lo:it.hi]
	for k, i := range rows {
		b.left[i] = k < s.pos
	}
	for g := range b.c.p {
		if g == s.feature {
			continue
		}
		seg := b.idx[g][it.lo:it.hi]
		l, r := 0, 0
		for _, i := range seg {
			if b.left[i] {
				seg[l] = i
				l++
			} else {
				b.buf[r] = i
				r++
			}
		}
		copy(seg[l:], b.buf[:r])
	}
}
