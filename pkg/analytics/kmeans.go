package analytics

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// K-means as segments uses it: Lloyd's algorithm from k-means++ seeds on standardized features,
// deterministic for a seed. Pure functions of their inputs, tested on plain data.

// Limits of the k-means iterations and of the silhouette's cost.
const (
	// KMeansMaxIterations bounds Lloyd's iterations of one run.
	KMeansMaxIterations = 300
	// SilhouetteSampleSize is the number of points the silhouette is computed over: all of them
	// up to this size, else a random sample of this size drawn with the query's seed (the mean
	// silhouette of a sample, as scikit-learn's sample_size gives). The cost is quadratic in it.
	SilhouetteSampleSize = 2000
)

// standardize returns the z-scores of the columns of x (population standard deviation), with the
// means and deviations used. A constant column (a deviation below 1e-12 of its scale, which is
// rounding) becomes 0, with a deviation of 0.
func standardize(x *mat.Dense) (z *mat.Dense, means, sds []float64) {
	n, d := x.Dims()
	z = mat.NewDense(n, d, nil)
	means, sds = make([]float64, d), make([]float64, d)
	col := make([]float64, n)
	for j := range d {
		mat.Col(col, j, x)
		means[j], sds[j] = stat.PopMeanStdDev(col, nil)
		if sds[j] <= 1e-12*math.Max(1, math.Abs(means[j])) {
			sds[j] = 0
		}
		for i := range n {
			if sds[j] > 0 {
				z.Set(i, j, (col[i]-means[j])/sds[j])
			}
		}
	}
	return z, means, sds
}

// rows returns the rows of m as slices sharing its storage.
func rows(m *mat.Dense) [][]float64 {
	n, _ := m.Dims()
	out := make([][]float64, n)
	for i := range n {
		out[i] = m.RawRowView(i)
	}
	return out
}

func sqDist(a, b []float64) float64 {
	s := 0.0
	b = b[:len(a)] // one bounds check, not one per coordinate
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

func appendFloatBits(b []byte, v float64) []byte {
	u := math.Float64bits(v + 0) // +0 folds -0 into 0
	for range 8 {
		b = append(b, byte(u))
		u >>= 8
	}
	return b
}

// pointSet holds the points to cluster with their distinct values. Which centroid is nearest
// depends only on a point's value, so Lloyd's assignments and k-means++'s distances are computed
// once per distinct value (the platform's inactive beneficiaries share a few), while every sum
// still runs over all the points in their order: the results are those of the plain algorithm,
// bit for bit. The points and the distinct values are also kept end to end in one slice each
// (flat, dflat: d coordinates per point), which Lloyd's loops read in order.
type pointSet struct {
	points [][]float64
	values int   // the number of distinct values
	of     []int // the index of each point's value, numbered in order of first appearance
	d      int
	flat   []float64
	dflat  []float64 // the distinct values, in order
	// unbounded makes Lloyd compare every distinct value with every centroid (tests).
	unbounded bool
}

func newPointSet(points [][]float64) *pointSet {
	s := &pointSet{points: points, of: make([]int, len(points))}
	if len(points) > 0 {
		s.d = len(points[0])
	}
	s.flat = make([]float64, 0, len(points)*s.d)
	index := map[string]int{}
	var key []byte
	for i, p := range points {
		key = key[:0]
		for _, v := range p {
			key = appendFloatBits(key, v)
		}
		u, ok := index[string(key)]
		if !ok {
			u = s.values
			index[string(key)] = u
			s.values++
			s.dflat = append(s.dflat, p...)
		}
		s.of[i] = u
		s.flat = append(s.flat, p...)
	}
	return s
}

// value is the distinct value u.
func (s *pointSet) value(u int) []float64 { return s.dflat[u*s.d : (u+1)*s.d] }

// kmeansPlusPlus picks k initial centroids among the points (Arthur and Vassilvitskii): the first
// uniformly, each next one with probability proportional to its squared distance to the nearest
// centroid already picked. There must be at least k distinct points.
func kmeansPlusPlus(points [][]float64, k int, r *rand.Rand) [][]float64 {
	return newPointSet(points).plusPlus(k, r)
}

func (s *pointSet) plusPlus(k int, r *rand.Rand) [][]float64 {
	points := s.points
	n := len(points)
	centroids := [][]float64{slices.Clone(points[r.IntN(n)])}
	dd := make([]float64, s.values)
	for u := range dd {
		dd[u] = sqDist(s.value(u), centroids[0])
	}
	d2 := make([]float64, n)
	for i := range points {
		d2[i] = dd[s.of[i]]
	}
	for len(centroids) < k {
		target := r.Float64() * floats.Sum(d2)
		next := -1
		for i, w := range d2 {
			if w > 0 {
				next = i
				if target < w {
					break
				}
				target -= w
			}
		}
		c := slices.Clone(points[next])
		centroids = append(centroids, c)
		for u := range dd {
			dd[u] = min(dd[u], sqDist(s.value(u), c))
		}
		for i := range points {
			d2[i] = dd[s.of[i]]
		}
	}
	return centroids
}

// kmeansFit is one run of Lloyd's algorithm.
type kmeansFit struct {
	initial, centroids [][]float64
	labels             []int
	inertia            float64
	iterations         int
}

// lloyd runs Lloyd's algorithm from the initial centroids: assign every point to its nearest
// centroid (the lowest index on a tie), move every centroid to the mean of its points (a
// centroid left without points stays where it is), until no assignment changes or
// KMeansMaxIterations. Inertia is the sum of squared distances to the assigned centroids.
func lloyd(points [][]float64, initial [][]float64) kmeansFit {
	return newPointSet(points).lloyd(initial)
}

func (s *pointSet) lloyd(initial [][]float64) kmeansFit {
	points := s.points
	k, d := len(initial), s.d
	fit := kmeansFit{initial: initial, labels: make([]int, len(points))}
	// The centroids end to end, d coordinates each.
	cent := make([]float64, k*d)
	for c, ic := range initial {
		copy(cent[c*d:(c+1)*d], ic)
	}
	for i := range fit.labels {
		fit.labels[i] = -1
	}
	b := newHamerly(s, k)
	sums := make([]float64, k*d)
	counts := make([]int, k)
	old := make([]float64, k*d)
	for fit.iterations < KMeansMaxIterations {
		b.assign(cent)
		// The labels and the sums of the next centroids in one pass over the points, in order.
		changed := false
		clear(sums)
		clear(counts)
		for i, u := range s.of {
			c := b.nearest[u]
			if fit.labels[i] != c {
				fit.labels[i], changed = c, true
			}
			p := s.flat[i*d : (i+1)*d]
			sum := sums[c*d : (c+1)*d]
			sum = sum[:len(p)]
			for j, v := range p {
				sum[j] += v
			}
			counts[c]++
		}
		if !changed {
			break
		}
		fit.iterations++
		copy(old, cent)
		for c := range k {
			if counts[c] > 0 {
				floats.ScaleTo(cent[c*d:(c+1)*d], 1/float64(counts[c]), sums[c*d:(c+1)*d])
			}
		}
		b.moved(old, cent)
	}
	fit.centroids = make([][]float64, k)
	for c := range k {
		fit.centroids[c] = cent[c*d : (c+1)*d : (c+1)*d]
	}
	for i, p := range points {
		fit.inertia += sqDist(p, fit.centroids[fit.labels[i]])
	}
	return fit
}

// hamerly finds the nearest centroid of each distinct value as Lloyd's algorithm does (the
// least squared distance, the lowest index on a tie), skipping the values whose nearest
// centroid cannot have changed (Hamerly, "Making k-means even faster", 2010): each value keeps
// an upper bound on its distance to its centroid and a lower bound on its distance to every
// other, which grow and shrink by how far the centroids move. A value is skipped only when the
// upper bound is below the lower one (or half the distance from its centroid to the nearest
// other) by a margin far above the rounding of the bounds: its centroid is then strictly the
// nearest, which the full comparison would find too. Every other value is compared with every
// centroid in full, so the assignments are Lloyd's, bit for bit.
type hamerly struct {
	s       *pointSet
	k       int
	nearest []int
	upper   []float64 // per distinct value: at least its distance to its centroid
	lower   []float64 // at most its distance to any other centroid
	half    []float64 // per centroid: half the distance to the nearest other centroid
	shift   []float64 // per centroid: how far it moved in the last update
	first   bool
}

// hamerlyMargin is the relative margin of a skip; the bounds' rounding is below 1e-13.
const hamerlyMargin = 1e-9

func newHamerly(s *pointSet, k int) *hamerly {
	n := s.values
	return &hamerly{s: s, k: k, nearest: make([]int, n), upper: make([]float64, n), lower: make([]float64, n),
		half: make([]float64, k), shift: make([]float64, k), first: true}
}

// assign updates the nearest centroid of every distinct value to the centroids cent.
func (h *hamerly) assign(cent []float64) {
	k, d := h.k, h.s.d
	for c := range k {
		h.half[c] = math.Inf(1)
		for o := range k {
			if o != c {
				h.half[c] = min(h.half[c], math.Sqrt(sqDist(cent[c*d:(c+1)*d], cent[o*d:(o+1)*d]))/2)
			}
		}
	}
	for u := range h.nearest {
		p := h.s.value(u)
		if !h.first && !h.s.unbounded {
			a := h.nearest[u]
			bound := max(h.half[a], h.lower[u])
			if h.upper[u]*(1+hamerlyMargin)+hamerlyMargin < bound {
				continue
			}
			h.upper[u] = math.Sqrt(sqDist(p, cent[a*d:(a+1)*d]))
			if h.upper[u]*(1+hamerlyMargin)+hamerlyMargin < bound {
				continue
			}
		}
		best, bestD, second := 0, math.Inf(1), math.Inf(1)
		for c := range k {
			if dd := sqDist(p, cent[c*d:(c+1)*d]); dd < bestD {
				best, bestD, second = c, dd, bestD
			} else if dd < second {
				second = dd
			}
		}
		h.nearest[u], h.upper[u], h.lower[u] = best, math.Sqrt(bestD), math.Sqrt(second)
	}
	h.first = false
}

// moved loosens the bounds by how far each centroid moved from old to cent.
func (h *hamerly) moved(old, cent []float64) {
	d := h.s.d
	top, next, topC := 0.0, 0.0, -1 // the two largest moves
	for c := range h.k {
		h.shift[c] = math.Sqrt(sqDist(old[c*d:(c+1)*d], cent[c*d:(c+1)*d]))
		switch {
		case h.shift[c] > top:
			top, next, topC = h.shift[c], top, c
		case h.shift[c] > next:
			next = h.shift[c]
		}
	}
	for u, a := range h.nearest {
		h.upper[u] += h.shift[a]
		if a == topC {
			h.lower[u] -= next
		} else {
			h.lower[u] -= top
		}
	}
}

// kmeans clusters the points into k clusters: nInit runs of Lloyd's algorithm from k-means++
// seeds drawn from r, keeping the one of least inertia (the first on a tie). Clusters are then
// numbered by size, largest first (a tie goes to the cluster of the earlier point).
func kmeans(points [][]float64, k, nInit int, r *rand.Rand) kmeansFit {
	return newPointSet(points).kmeans(k, nInit, r)
}

func (s *pointSet) kmeans(k, nInit int, r *rand.Rand) kmeansFit {
	return s.kmeansEach([]int{k}, nInit, func(int) *rand.Rand { return r }, 1)[0]
}

// kmeansEach is kmeans for each k of ks, the k-means++ seeds of k drawn from rng(k), with up to
// workers runs of Lloyd's algorithm at a time: the seeds of every run are drawn first, in order
// (Lloyd draws nothing), so the runs of all the ks can share the workers evenly and each k still
// gets what kmeans gives it.
func (s *pointSet) kmeansEach(ks []int, nInit int, rng func(k int) *rand.Rand, workers int) []kmeansFit {
	seeds := make([][][]float64, len(ks)*nInit)
	for i, k := range ks {
		r := rng(k)
		for run := range nInit {
			seeds[i*nInit+run] = s.plusPlus(k, r)
		}
	}
	fits := make([]kmeansFit, len(seeds))
	next := make(chan int, len(seeds))
	for i := range seeds {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range max(1, min(workers, len(seeds))) {
		wg.Go(func() {
			for i := range next {
				fits[i] = s.lloyd(seeds[i])
			}
		})
	}
	wg.Wait()
	out := make([]kmeansFit, len(ks))
	for i, k := range ks {
		best := fits[i*nInit]
		for _, fit := range fits[i*nInit+1 : (i+1)*nInit] {
			if fit.inertia < best.inertia {
				best = fit
			}
		}
		out[i] = s.numberBySize(best, k)
	}
	return out
}

// numberBySize numbers the clusters of the fit by size, largest first (a tie goes to the
// cluster of the earlier point).
func (s *pointSet) numberBySize(best kmeansFit, k int) kmeansFit {
	points := s.points
	size := make([]int, k)
	first := make([]int, k)
	for c := range first {
		first[c] = len(points)
	}
	for i, c := range best.labels {
		size[c]++
		first[c] = min(first[c], i)
	}
	order := make([]int, k)
	for c := range order {
		order[c] = c
	}
	slices.SortFunc(order, func(a, b int) int {
		if size[a] != size[b] {
			return cmp.Compare(size[b], size[a])
		}
		return cmp.Compare(first[a], first[b])
	})
	rank := make([]int, k)
	initial, centroids := make([][]float64, k), make([][]float64, k)
	for newC, oldC := range order {
		rank[oldC] = newC
		initial[newC], centroids[newC] = best.initial[oldC], best.centroids[oldC]
	}
	for i, c := range best.labels {
		best.labels[i] = rank[c]
	}
	best.initial, best.centroids = initial, centroids
	return best
}

// silhouetteSample returns the indexes of the points the silhouette is computed over, in order.
func silhouetteSample(n int, r *rand.Rand) []int {
	if n <= SilhouetteSampleSize {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	idx := r.Perm(n)[:SilhouetteSampleSize]
	slices.Sort(idx)
	return idx
}

// silhouette is the mean silhouette over the sample (Rousseeuw): for a point, a is its mean
// distance to the other points of its cluster and b the least mean distance to the points of
// another cluster, both within the sample, and its silhouette is (b - a) / max(a, b), or 0 when
// it is alone in its cluster. Distances are Euclidean.
func silhouette(points [][]float64, labels []int, k int, sample []int) float64 {
	return newSampleDistances(points, sample).silhouette(labels, k)
}

// sampleDistances holds the distances between the points of a silhouette sample, which do not
// depend on the clustering: computed once, they serve every k tried, whose silhouettes are
// then sums over them.
type sampleDistances struct {
	sample []int
	dist   []float64 // dist[a*m+b]: between the a-th and the b-th points of the sample of m
}

func newSampleDistances(points [][]float64, sample []int) *sampleDistances {
	m := len(sample)
	s := &sampleDistances{sample: sample, dist: make([]float64, m*m)}
	for a, i := range sample {
		for b := a + 1; b < m; b++ {
			d := floats.Distance(points[i], points[sample[b]], 2)
			s.dist[a*m+b], s.dist[b*m+a] = d, d
		}
	}
	return s
}

// silhouette is the mean silhouette of the clustering labels (of every point) over the sample.
func (s *sampleDistances) silhouette(labels []int, k int) float64 {
	m := len(s.sample)
	if m == 0 {
		return 0
	}
	count := make([]int, k)
	of := make([]int, m) // the cluster of each point of the sample
	for p, i := range s.sample {
		of[p] = labels[i]
		count[of[p]]++
	}
	sum := make([]float64, k)
	total := 0.0
	for p := range m {
		clear(sum)
		for q, d := range s.dist[p*m : (p+1)*m] {
			if q != p {
				sum[of[q]] += d
			}
		}
		own := of[p]
		if count[own] <= 1 {
			continue
		}
		a := sum[own] / float64(count[own]-1)
		b := math.Inf(1)
		for c := range k {
			if c != own && count[c] > 0 {
				b = min(b, sum[c]/float64(count[c]))
			}
		}
		if math.IsInf(b, 1) {
			continue
		}
		if top := max(a, b); top > 0 {
			total += (b - a) / top
		}
	}
	return total / float64(m)
}
