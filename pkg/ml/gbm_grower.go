package ml

import (
	"math"
	"slices"
	"sync"
)

// minHessianToSplit keeps leaves whose hessian sum is too small for a stable Newton step from
// being made, as scikit-learn does.
const minHessianToSplit = 1e-3

// parallelHistMin is the node size (rows × features) from which histograms are built on
// several goroutines.
const parallelHistMin = 1 << 15

// histStride is the number of histogram slots per feature: one per value of a uint8 bin, so
// that indexing by a bin needs no bounds check.
const histStride = 256

// histBin accumulates the gradients, hessians and rows of one bin of one feature at a node.
type histBin struct {
	g, h float64
	n    int32
}

// growNode is a node of the tree being grown.
type growNode struct {
	id, lo, hi, depth int
	g, h              float64 // sums of gradients and hessians of the node's rows
	hist              []histBin
	best              gbmSplit
}

// gbmSplit is a candidate split of a node: rows whose bin of feature is ≤ bin go left.
type gbmSplit struct {
	feature, bin int
	gain, gl, hl float64
	ok           bool
}

// grower grows one regression tree per boosting round on the binned training rows.
type grower struct {
	params GBMParams
	n, p   int
	bins   []uint8 // bins[f*n+k] is the bin of feature f of training row k
	edges  binEdges
	nb     []int // bins per feature
	w      []float64
	sw     float64   // sum of w
	g, h   []float64 // per row gradient and hessian of the loss, times the row's weight
	og, oh []float64 // a node's gradients and hessians in the order of its rows
	idx    []int32   // rows of positive weight; each node owns a range of it
	tmp    []int32
	binBuf [][]uint8 // per histogram worker, a node's bins of one feature
	pool   [][]histBin
	lo, hi []int // per tree node, its rows' range in idx (valid for leaves once grown)
}

func newGrower(bins []uint8, edges binEdges, n, p int, w []float64, gp GBMParams) *grower {
	gr := &grower{
		params: gp, n: n, p: p, bins: bins, edges: edges, nb: make([]int, p), w: w,
		g: make([]float64, n), h: make([]float64, n), og: make([]float64, n), oh: make([]float64, n),
		tmp: make([]int32, n), sw: sum(w),
	}
	gr.binBuf = make([][]uint8, max(1, min(gp.Workers, p)))
	for wk := range gr.binBuf {
		gr.binBuf[wk] = make([]uint8, n)
	}
	for f := range p {
		gr.nb[f] = len(edges[f]) + 1
	}
	for k := range n {
		if w[k] > 0 {
			gr.idx = append(gr.idx, int32(k))
		}
	}
	return gr
}

// gradients computes each row's gradient and hessian of the loss at the raw predictions,
// times its weight, and returns the weighted mean loss there (as boostLoss).
func (gr *grower) gradients(task Task, y, raw []float64) float64 {
	w := gr.w
	return chunkSum(len(y), gr.params.Workers, func(lo, hi int) float64 {
		var s float64
		var logs logSum
		for k := lo; k < hi; k++ {
			if task == Classification {
				// One exponential serves the probability and the log-loss.
				r := raw[k]
				e := math.Exp(-math.Abs(r))
				p := 1 / (1 + e)
				if r < 0 {
					p = e / (1 + e)
				}
				gr.g[k] = w[k] * (p - y[k])
				gr.h[k] = w[k] * p * (1 - p)
				s += w[k] * (max(r, 0) - y[k]*r)
				logs.add(w[k], 1+e)
			} else {
				d := raw[k] - y[k]
				gr.g[k] = w[k] * d
				gr.h[k] = w[k]
				s += w[k] * d * d
			}
		}
		return s + logs.value()
	}) / gr.sw
}

// leafValue is the shrunk Newton step −η·G/(H+λ) of a node.
func (gr *grower) leafValue(g, h float64) float64 {
	den := h + gr.params.L2
	if den <= 0 {
		return 0
	}
	return -gr.params.LearningRate * g / den
}

// grow grows one tree, best split first, until MaxLeafNodes leaves or no split gains.
func (gr *grower) grow() *Tree {
	gp := gr.params
	var nodes []treeNode
	gr.lo, gr.hi = gr.lo[:0], gr.hi[:0]
	add := func(nd *growNode) {
		nodes = append(nodes, treeNode{
			Feature: -1, Value: gr.leafValue(nd.g, nd.h), Weight: nd.h, Samples: int32(nd.hi - nd.lo),
		})
		gr.lo = append(gr.lo, nd.lo)
		gr.hi = append(gr.hi, nd.hi)
	}
	root := &growNode{id: 0, lo: 0, hi: len(gr.idx)}
	for _, k := range gr.idx {
		root.g += gr.g[k]
		root.h += gr.h[k]
	}
	add(root)
	var cands []*growNode
	if gr.canSplit(root) {
		gr.buildHist(root)
		if gr.findSplit(root); root.best.ok {
			cands = append(cands, root)
		} else {
			gr.release(root)
		}
	}
	leaves := 1
	for len(cands) > 0 && leaves < gp.MaxLeafNodes {
		bi := 0
		for i, c := range cands {
			if c.best.gain > cands[bi].best.gain {
				bi = i
			}
		}
		nd := cands[bi]
		cands = slices.Delete(cands, bi, bi+1)
		s := nd.best
		mid := gr.partition(nd, s)
		left := &growNode{id: len(nodes), lo: nd.lo, hi: mid, depth: nd.depth + 1, g: s.gl, h: s.hl}
		right := &growNode{id: len(nodes) + 1, lo: mid, hi: nd.hi, depth: nd.depth + 1, g: nd.g - s.gl, h: nd.h - s.hl}
		n := &nodes[nd.id]
		n.Feature, n.Threshold = int32(s.feature), gr.edges[s.feature][s.bin]
		n.Left, n.Right = int32(left.id), int32(right.id)
		add(left)
		add(right)
		leaves++
		if leaves >= gp.MaxLeafNodes || (!gr.canSplit(left) && !gr.canSplit(right)) {
			gr.release(nd)
			continue
		}
		// Build the smaller child's histogram from its rows and get the larger one's by
		// subtraction from the parent's, in the parent's buffer.
		small, large := left, right
		if small.hi-small.lo > large.hi-large.lo {
			small, large = large, small
		}
		gr.buildHist(small)
		large.hist, nd.hist = nd.hist, nil
		for i := range large.hist {
			large.hist[i].g -= small.hist[i].g
			large.hist[i].h -= small.hist[i].h
			large.hist[i].n -= small.hist[i].n
		}
		for _, c := range []*growNode{left, right} {
			if gr.canSplit(c) {
				gr.findSplit(c)
			}
			if c.best.ok {
				cands = append(cands, c)
			} else {
				gr.release(c)
			}
		}
	}
	for _, c := range cands {
		gr.release(c)
	}
	return &Tree{params: TreeParams{Task: Regression}, nFeatures: gr.p, nodes: nodes}
}

// canSplit says whether depth and row count allow splitting a node.
func (gr *grower) canSplit(nd *growNode) bool {
	gp := gr.params
	if gp.MaxDepth > 0 && nd.depth >= gp.MaxDepth {
		return false
	}
	return nd.hi-nd.lo >= 2*gp.MinSamplesLeaf
}

// buildHist accumulates the node's histogram of every feature.
func (gr *grower) buildHist(nd *growNode) {
	rows := gr.idx[nd.lo:nd.hi]
	nd.hist = gr.alloc()
	// A node of every training row (the root, when no weight is zero) reads the columns in
	// row order; other nodes gather their rows' gradients first.
	all := len(rows) == gr.n
	og, oh := gr.g, gr.h
	if !all {
		og, oh = gr.og[:len(rows)], gr.oh[:len(rows)]
		for k, i := range rows {
			og[k], oh[k] = gr.g[i], gr.h[i]
		}
	}
	build := func(f0, f1 int, buf []uint8) {
		for f := f0; f < f1; f++ {
			col := gr.bins[f*gr.n : (f+1)*gr.n]
			if !all {
				buf = buf[:len(rows)]
				for k, i := range rows {
					buf[k] = col[i]
				}
				col = buf
			}
			accumulate((*[histStride]histBin)(nd.hist[f*histStride:(f+1)*histStride]), gr.nb[f], col, og, oh)
		}
	}
	workers := min(gr.params.Workers, gr.p)
	if workers < 2 || len(rows)*gr.p < parallelHistMin {
		build(0, gr.p, gr.binBuf[0])
		return
	}
	var wg sync.WaitGroup
	for wk := range workers {
		f0, f1 := wk*gr.p/workers, (wk+1)*gr.p/workers
		wg.Go(func() { build(f0, f1, gr.binBuf[wk]) })
	}
	wg.Wait()
}

// chainBins is the most bins a feature may have for accumulate to split its rows between two
// histograms.
const chainBins = 64

// accumulate adds to the histogram hf of a feature of nb bins the gradients og and hessians
// oh of rows whose bins are col.
//
// With few bins, consecutive rows often fall in the same one, and each addition would wait
// for the previous one: even and odd rows then go to two histograms, merged at the end, which
// halves the chain.
func accumulate(hf *[histStride]histBin, nb int, col []uint8, og, oh []float64) {
	og, oh = og[:len(col)], oh[:len(col)]
	k := 0
	if nb <= chainBins {
		var odd [chainBins]histBin
		for ; k+1 < len(col); k += 2 {
			e := &hf[col[k]]
			e.g += og[k]
			e.h += oh[k]
			e.n++
			o := &odd[col[k+1]%chainBins]
			o.g += og[k+1]
			o.h += oh[k+1]
			o.n++
		}
		for b := range nb {
			hf[b].g += odd[b].g
			hf[b].h += odd[b].h
			hf[b].n += odd[b].n
		}
	}
	for ; k < len(col); k++ {
		e := &hf[col[k]]
		e.g += og[k]
		e.h += oh[k]
		e.n++
	}
}

// findSplit finds the node's split of largest gain
// G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ), with at least MinSamplesLeaf rows and
// minHessianToSplit on each side. Only a positive gain makes a split.
func (gr *grower) findSplit(nd *growNode) {
	gp := gr.params
	lam := gp.L2
	count := int32(nd.hi - nd.lo)
	minLeaf := int32(gp.MinSamplesLeaf)
	parent := nd.g * nd.g / (nd.h + lam)
	best := gbmSplit{}
	for f := range gr.p {
		hf := nd.hist[f*histStride : f*histStride+gr.nb[f]]
		var gl, hl float64
		var nl int32
		for b := 0; b < len(hf)-1; b++ {
			gl += hf[b].g
			hl += hf[b].h
			nl += hf[b].n
			if nl < minLeaf {
				continue
			}
			if count-nl < minLeaf {
				break
			}
			hr := nd.h - hl
			if hl < minHessianToSplit || hr < minHessianToSplit {
				continue
			}
			gR := nd.g - gl
			gain := gl*gl/(hl+lam) + gR*gR/(hr+lam) - parent
			if gain > best.gain {
				best = gbmSplit{feature: f, bin: b, gain: gain, gl: gl, hl: hl, ok: true}
			}
		}
	}
	nd.best = best
}

// partition reorders the node's rows so those going left come first (both sides keep their
// order) and returns where the right side starts.
func (gr *grower) partition(nd *growNode, s gbmSplit) int {
	rows := gr.idx[nd.lo:nd.hi]
	col := gr.bins[s.feature*gr.n : (s.feature+1)*gr.n]
	b := uint8(s.bin)
	l, r := 0, 0
	for _, i := range rows {
		if col[i] <= b {
			rows[l] = i
			l++
		} else {
			gr.tmp[r] = i
			r++
		}
	}
	copy(rows[l:], gr.tmp[:r])
	return nd.lo + l
}

// addLeaves adds each leaf's value to the raw predictions of its training rows.
func (gr *grower) addLeaves(t *Tree, raw []float64) {
	for id, n := range t.nodes {
		if n.Feature >= 0 {
			continue
		}
		for _, k := range gr.idx[gr.lo[id]:gr.hi[id]] {
			raw[k] += n.Value
		}
	}
}

// alloc returns a zeroed histogram buffer, reusing released ones.
func (gr *grower) alloc() []histBin {
	if k := len(gr.pool); k > 0 {
		h := gr.pool[k-1]
		gr.pool = gr.pool[:k-1]
		clear(h)
		return h
	}
	return make([]histBin, gr.p*histStride)
}

// release returns a node's histogram to the pool.
func (gr *grower) release(nd *growNode) {
	if nd.hist != nil {
		gr.pool = append(gr.pool, nd.hist)
		nd.hist = nil
	}
}
