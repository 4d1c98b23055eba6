package forecast

import "math"

// initialStates gives the optimizer's starting level, slope and seasonal
// states with the heuristic of Hyndman et al. (2008, section 2.6.1):
//
//   - seasonal states: a centred moving average (2×m when m is even) over
//     the first few full seasons (at most five) is the trend; the average
//     deviation from it at each position in the season, normalised to sum
//     to 0 (additive) or m (multiplicative), gives the seasonal states;
//   - level and slope: a straight line fitted by least squares to the first
//     max(10, 2m) seasonally adjusted values; the mean of those values when
//     there is no trend.
//
// Seasonal models require len(y) >= 2m, checked by the caller.
func initialStates(spec ETSSpec, y []float64, m int) (level, slope float64, season []float64) {
	adjusted := y
	if spec.Seasonal() {
		season = initialSeason(spec.Season, y, m)
		adjusted = make([]float64, len(y))
		for t, v := range y {
			if spec.Season == SeasonMultiplicative {
				adjusted[t] = v / season[t%m]
			} else {
				adjusted[t] = v - season[t%m]
			}
		}
	}
	n := min(max(10, 2*m), len(adjusted))
	if spec.Trend == TrendNone || n < 2 {
		var sum float64
		for _, v := range adjusted[:n] {
			sum += v
		}
		return sum / float64(n), 0, season
	}
	// Least squares of adjusted[t-1] on t = 1..n; the intercept is the
	// level at t = 0, just before the first observation.
	var st, sy, stt, sty float64
	for i, v := range adjusted[:n] {
		t := float64(i + 1)
		st += t
		sy += v
		stt += t * t
		sty += t * v
	}
	fn := float64(n)
	slope = (fn*sty - st*sy) / (fn*stt - st*st)
	level = (sy - slope*st) / fn
	return level, slope, season
}

// initialSeason estimates the seasonal states from the first full seasons
// (at most five) by classical decomposition.
func initialSeason(kind Seasonality, y []float64, m int) []float64 {
	cycles := min(5, len(y)/m)
	return classicalSeasonalIndex(y[:cycles*m], m, kind)
}

// classicalSeasonalIndex gives the seasonal indices of classical
// decomposition: the centred moving average of order m is the trend, the
// mean ratio (multiplicative) or difference (additive) to it at each
// position in the season is the index, and the indices are normalised to
// average 1 (or 0). Index j applies to y[t] with t ≡ j (mod m). The series
// needs two full seasons; multiplicative indices are positive when it is.
func classicalSeasonalIndex(y []float64, m int, kind Seasonality) []float64 {
	trend := centredMovingAverage(y, m)
	sums := make([]float64, m)
	counts := make([]int, m)
	for t, tr := range trend {
		if math.IsNaN(tr) {
			continue
		}
		if kind == SeasonMultiplicative {
			sums[t%m] += y[t] / tr
		} else {
			sums[t%m] += y[t] - tr
		}
		counts[t%m]++
	}
	idx := make([]float64, m)
	var total float64
	for j := range idx {
		if counts[j] > 0 {
			idx[j] = sums[j] / float64(counts[j])
		} else if kind == SeasonMultiplicative {
			idx[j] = 1
		}
		total += idx[j]
	}
	normaliseSeason(kind, idx, total)
	return idx
}

// normaliseSeason makes seasonal states sum to 0 (additive) or to m
// (multiplicative); total is their current sum.
func normaliseSeason(kind Seasonality, season []float64, total float64) {
	m := float64(len(season))
	for j := range season {
		if kind == SeasonMultiplicative {
			season[j] *= m / total
		} else {
			season[j] -= total / m
		}
	}
}

// centredMovingAverage gives the centred moving average of order m (2×m
// when m is even, as in classical decomposition); positions the window does
// not cover are NaN.
func centredMovingAverage(y []float64, m int) []float64 {
	out := make([]float64, len(y))
	half := m / 2
	for t := range out {
		out[t] = math.NaN()
	}
	for t := half; t+half < len(y); t++ {
		var v float64
		if m%2 == 1 {
			for _, x := range y[t-half : t+half+1] {
				v += x
			}
			v /= float64(m)
		} else {
			v = (y[t-half] + y[t+half]) / 2
			for _, x := range y[t-half+1 : t+half] {
				v += x
			}
			v /= float64(m)
		}
		out[t] = v
	}
	return out
}
