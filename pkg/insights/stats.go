package insights

import "math"

// sample holds the sufficient statistics of one period of a measure: the rows, the sum of their
// values and the sum of their squares (for a count, n alone).
type sample struct {
	N, Sum, SumSq float64
}

func (s sample) mean() float64 {
	if s.N == 0 {
		return math.NaN()
	}
	return s.Sum / s.N
}

// variance is the unbiased sample variance.
func (s sample) variance() float64 {
	if s.N < 2 {
		return math.NaN()
	}
	return max(0, (s.SumSq-s.Sum*s.Sum/s.N)/(s.N-1))
}

// twoSided is the two-sided p-value of a standard normal statistic.
func twoSided(z float64) float64 { return math.Erfc(math.Abs(z) / math.Sqrt2) }

// proportionZ is the pooled two-proportion z statistic of x1/n1 against x0/n0; 0 when both
// periods hold the same single outcome (nothing varies, nothing changed).
func proportionZ(prev, cur sample) float64 {
	p := (prev.Sum + cur.Sum) / (prev.N + cur.N)
	se := math.Sqrt(p * (1 - p) * (1/prev.N + 1/cur.N))
	if se == 0 {
		return 0
	}
	return (cur.Sum/cur.N - prev.Sum/prev.N) / se
}

// welchZ is Welch's statistic of the difference of two means, read against the normal
// distribution (both periods have at least min_count rows); 0 when neither period varies and the
// means are equal, ±Inf when they differ without any variance.
func welchZ(prev, cur sample) float64 {
	d := cur.mean() - prev.mean()
	se := math.Sqrt(cur.variance()/cur.N + prev.variance()/prev.N)
	if se == 0 {
		if d == 0 {
			return 0
		}
		return math.Copysign(math.Inf(1), d)
	}
	return d / se
}

// poissonZ compares two counts as Poisson: given their total, the current count is binomial
// with p = 1/2 under no change, whose normal approximation is (c1 − c0) / √(c1 + c0).
func poissonZ(prev, cur sample) float64 {
	if prev.N+cur.N == 0 {
		return 0
	}
	return (cur.N - prev.N) / math.Sqrt(cur.N+prev.N)
}
