package ml

import "math"

// MAE returns the mean absolute error of predictions p against values y.
func MAE(y, p []float64) (float64, error) {
	if err := checkPairs("mae", y, p); err != nil {
		return 0, err
	}
	sum := 0.0
	for i := range y {
		sum += math.Abs(y[i] - p[i])
	}
	return sum / float64(len(y)), nil
}

// RMSE returns the root mean squared error of predictions p against values y.
func RMSE(y, p []float64) (float64, error) {
	if err := checkPairs("rmse", y, p); err != nil {
		return 0, err
	}
	sum := 0.0
	for i := range y {
		d := y[i] - p[i]
		sum += d * d
	}
	return math.Sqrt(sum / float64(len(y))), nil
}

// R2 returns the coefficient of determination 1 − SSres/SStot of predictions p against values
// y. When y is constant (SStot = 0) it returns 1 for perfect predictions and 0 otherwise, as
// scikit-learn's r2_score does.
func R2(y, p []float64) (float64, error) {
	if err := checkPairs("r2", y, p); err != nil {
		return 0, err
	}
	mean := 0.0
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	var res, tot float64
	for i := range y {
		d := y[i] - p[i]
		res += d * d
		e := y[i] - mean
		tot += e * e
	}
	if tot == 0 {
		if res == 0 {
			return 1, nil
		}
		return 0, nil
	}
	return 1 - res/tot, nil
}
