package ml

import (
	"slices"
	"sort"
)

// binningSampleMax is how many rows at most the bin edges are computed from, as in
// scikit-learn: quantiles of 200,000 rows are as good as those of all of them.
const binningSampleMax = 200_000

// binEdges holds, for each feature, ascending upper edges of its bins: bin b holds the values
// in (edges[b−1], edges[b]], the last bin everything above the last edge. A feature with k
// edges has k+1 bins.
type binEdges [][]float64

// fitBinEdges computes up to maxBins bins per feature: between every pair of distinct values
// when a feature has at most maxBins of them, else at maxBins-quantiles (scikit-learn's
// "midpoint" percentiles), duplicates removed.
func fitBinEdges(d *Dataset, rows []int, maxBins int, seed uint64) binEdges {
	if len(rows) > binningSampleMax {
		rng := newRand(seed, streamGBMBinning, 0)
		rows = slices.Clone(rows)
		for k := range binningSampleMax {
			j := k + rng.IntN(len(rows)-k)
			rows[k], rows[j] = rows[j], rows[k]
		}
		rows = rows[:binningSampleMax]
		slices.Sort(rows)
	}
	p := d.Cols()
	edges := make(binEdges, p)
	parallelFor(p, 2, func(lo, hi int) {
		col := make([]float64, len(rows))
		for f := lo; f < hi; f++ {
			for k, i := range rows {
				col[k] = d.X[i*p+f]
			}
			edges[f] = featureEdges(col, maxBins)
		}
	})
	return edges
}

// featureEdges computes the edges of one feature's values (reordered in place).
func featureEdges(col []float64, maxBins int) []float64 {
	slices.Sort(col)
	distinct := slices.Compact(slices.Clone(col))
	if len(distinct) <= maxBins {
		e := make([]float64, len(distinct)-1)
		for k := range e {
			e[k] = (distinct[k] + distinct[k+1]) * 0.5
		}
		return e
	}
	n := len(col)
	e := make([]float64, 0, maxBins-1)
	for k := 1; k < maxBins; k++ {
		// numpy.percentile(method="midpoint") at 100·k/maxBins.
		pos := float64(k) / float64(maxBins) * float64(n-1)
		lo := int(pos)
		v := col[lo]
		if float64(lo) != pos && lo+1 < n {
			a, b := col[lo], col[lo+1]
			v = b - (b-a)*0.5
		}
		if len(e) == 0 || v > e[len(e)-1] {
			e = append(e, v)
		}
	}
	return e
}

// bin returns the bin of value v of feature f: the number of edges strictly below v.
func (e binEdges) bin(f int, v float64) uint8 {
	return uint8(sort.SearchFloat64s(e[f], v))
}

// binColumns maps the given rows of d to bins, column-major: out[f*len(rows)+k] is the bin of
// feature f of rows[k].
func (e binEdges) binColumns(d *Dataset, rows []int) []uint8 {
	n, p := len(rows), d.Cols()
	out := make([]uint8, n*p)
	parallelFor(p, 2, func(lo, hi int) {
		for f := lo; f < hi; f++ {
			dst := out[f*n : (f+1)*n]
			for k, i := range rows {
				dst[k] = e.bin(f, d.X[i*p+f])
			}
		}
	})
	return out
}
