package ml

import (
	"fmt"
	"math"
	"slices"
)

// checkPairs validates labels and predictions for a metric: same non-zero length, all finite.
func checkPairs(what string, y, p []float64) error {
	if len(y) != len(p) {
		return fmt.Errorf("%s: %d labels but %d predictions", what, len(y), len(p))
	}
	if len(y) == 0 {
		return fmt.Errorf("%s: %w", what, ErrEmpty)
	}
	for i := range y {
		if math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			return fmt.Errorf("%s: label %d is %v", what, i, y[i])
		}
		if math.IsNaN(p[i]) || math.IsInf(p[i], 0) {
			return fmt.Errorf("%s: prediction %d is %v", what, i, p[i])
		}
	}
	return nil
}

// checkBinary validates labels (0 or 1) and scores for a ranking metric.
func checkBinary(what string, y, score []float64) error {
	if err := checkPairs(what, y, score); err != nil {
		return err
	}
	if err := checkBinaryLabels(y); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// checkProbabilities validates labels (0 or 1, one class allowed) and probabilities in [0, 1].
func checkProbabilities(what string, y, p []float64) error {
	if err := checkPairs(what, y, p); err != nil {
		return err
	}
	for i := range y {
		if y[i] != 0 && y[i] != 1 {
			return fmt.Errorf("%s: label %d is %v, want 0 or 1", what, i, y[i])
		}
		if p[i] < 0 || p[i] > 1 {
			return fmt.Errorf("%s: probability %d is %v, outside [0, 1]", what, i, p[i])
		}
	}
	return nil
}

// thresholdCounts sorts rows by descending score and returns, at each distinct score, the
// cumulative counts of positives and negatives scored at or above it. Tied scores share one
// threshold, which is what makes the curves below tie-correct.
func thresholdCounts(y, score []float64) (tps, fps []float64) {
	order := make([]int, len(y))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case score[a] > score[b]:
			return -1
		case score[a] < score[b]:
			return 1
		}
		return 0
	})
	var tp, fp float64
	for k, i := range order {
		if y[i] == 1 {
			tp++
		} else {
			fp++
		}
		if k == len(order)-1 || score[order[k+1]] != score[i] {
			tps = append(tps, tp)
			fps = append(fps, fp)
		}
	}
	return tps, fps
}

// ROCAUC returns the area under the ROC curve of scores against labels 0 and 1. Tied scores
// form one step of the curve, crossed diagonally (the trapezoidal rule), so a tie counts half,
// as in scikit-learn's roc_auc_score. Both classes must be present.
func ROCAUC(y, score []float64) (float64, error) {
	if err := checkBinary("roc auc", y, score); err != nil {
		return 0, err
	}
	tps, fps := thresholdCounts(y, score)
	pos, neg := tps[len(tps)-1], fps[len(fps)-1]
	var area, prevTP, prevFP float64
	for k := range tps {
		area += (fps[k] - prevFP) * (tps[k] + prevTP) / 2
		prevTP, prevFP = tps[k], fps[k]
	}
	return area / (pos * neg), nil
}

// AveragePrecision returns the area under the precision-recall curve as scikit-learn's
// average_precision_score defines it: Σ (Rₖ − Rₖ₋₁) Pₖ over the distinct score thresholds
// from the highest down, with no interpolation. Tied scores form one threshold.
func AveragePrecision(y, score []float64) (float64, error) {
	if err := checkBinary("average precision", y, score); err != nil {
		return 0, err
	}
	tps, fps := thresholdCounts(y, score)
	pos := tps[len(tps)-1]
	var ap, prevRecall float64
	for k := range tps {
		recall := tps[k] / pos
		precision := tps[k] / (tps[k] + fps[k])
		ap += (recall - prevRecall) * precision
		prevRecall = recall
	}
	return ap, nil
}

// logLossEps is where probabilities are clipped before taking logs: float64 machine epsilon,
// as scikit-learn's log_loss does by default.
const logLossEps = 2.220446049250313e-16

// LogLoss returns the mean negative log-likelihood of labels 0 and 1 under probabilities p of
// label 1, with p clipped to [ε, 1−ε] (ε the float64 machine epsilon).
func LogLoss(y, p []float64) (float64, error) {
	if err := checkProbabilities("log loss", y, p); err != nil {
		return 0, err
	}
	sum := 0.0
	for i := range y {
		q := min(max(p[i], logLossEps), 1-logLossEps)
		if y[i] == 1 {
			sum -= math.Log(q)
		} else {
			sum -= math.Log(1 - q)
		}
	}
	return sum / float64(len(y)), nil
}

// Brier returns the Brier score: the mean squared difference between probability of label 1
// and label.
func Brier(y, p []float64) (float64, error) {
	if err := checkProbabilities("brier score", y, p); err != nil {
		return 0, err
	}
	sum := 0.0
	for i := range y {
		d := p[i] - y[i]
		sum += d * d
	}
	return sum / float64(len(y)), nil
}

// ReliabilityBin is one point of a reliability curve.
type ReliabilityBin struct {
	// Lower and Upper bound the probabilities that fall in the bin.
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
	// Count is the number of predictions in the bin.
	Count int `json:"count"`
	// MeanPredicted is their mean predicted probability.
	MeanPredicted float64 `json:"mean_predicted"`
	// ObservedRate is the fraction of them whose label is 1.
	ObservedRate float64 `json:"observed_rate"`
}

// ReliabilityCurve bins probabilities into bins equal-width bins over [0, 1] and returns, for
// each non-empty bin in ascending order, the mean prediction and the observed rate of label 1.
// Bin b holds the probabilities in (b/bins, (b+1)/bins], the first bin also holds 0: the edges
// of scikit-learn's calibration_curve with strategy "uniform", which this matches.
func ReliabilityCurve(y, p []float64, bins int) ([]ReliabilityBin, error) {
	if err := checkProbabilities("reliability curve", y, p); err != nil {
		return nil, err
	}
	if bins < 1 {
		return nil, fmt.Errorf("reliability curve: %d bins, want at least 1", bins)
	}
	// The edges are computed as numpy.linspace computes them, so a probability that sits on
	// an edge falls in the same bin as in scikit-learn.
	step := 1 / float64(bins)
	edge := func(b int) float64 { return float64(b) * step }
	count := make([]int, bins)
	sumP := make([]float64, bins)
	sumY := make([]float64, bins)
	for i, v := range p {
		b := innerEdgesBelow(v, bins, edge)
		count[b]++
		sumP[b] += v
		sumY[b] += y[i]
	}
	var out []ReliabilityBin
	for b := range bins {
		if count[b] == 0 {
			continue
		}
		upper := edge(b + 1)
		if b == bins-1 {
			upper = 1
		}
		out = append(out, ReliabilityBin{
			Lower: edge(b), Upper: upper, Count: count[b],
			MeanPredicted: sumP[b] / float64(count[b]), ObservedRate: sumY[b] / float64(count[b]),
		})
	}
	return out, nil
}

// innerEdgesBelow counts the inner edges edge(1) … edge(bins−1) that are strictly below v.
func innerEdgesBelow(v float64, bins int, edge func(int) float64) int {
	lo, hi := 0, bins-1 // answer in [0, bins-1]
	for lo < hi {
		mid := (lo + hi) / 2
		if edge(mid+1) < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// ExpectedCalibrationError returns Σ (nᵦ/n) |mean prediction − observed rate| over the bins of
// ReliabilityCurve(y, p, bins): equal-width bins over [0, 1], each weighted by its share of
// the predictions. 10 or 15 bins are usual.
func ExpectedCalibrationError(y, p []float64, bins int) (float64, error) {
	curve, err := ReliabilityCurve(y, p, bins)
	if err != nil {
		return 0, fmt.Errorf("expected calibration error: %w", err)
	}
	ece := 0.0
	for _, b := range curve {
		ece += float64(b.Count) * math.Abs(b.MeanPredicted-b.ObservedRate)
	}
	return ece / float64(len(y)), nil
}
