package predict

import (
	"fmt"

	"github.com/bdc-analytics/bdc/pkg/ml"
)

// Metric names, the keys of Metrics and of the registry's metrics column.
const (
	MetricRows         = "rows"
	MetricPositiveRate = "positive_rate"
	MetricROCAUC       = "roc_auc"
	MetricPRAUC        = "pr_auc"
	MetricBrier        = "brier"
	MetricECE          = "ece"
	MetricLogLoss      = "log_loss"
	MetricMAE          = "mae"
	MetricRMSE         = "rmse"
	MetricR2           = "r2"
)

// CalibrationBins is the number of equal-width bins of the expected calibration error.
const CalibrationBins = 10

// Metrics are a model's figures on a set of rows: rows, positive_rate, roc_auc, pr_auc, brier,
// ece and log_loss for a classifier (on calibrated probabilities); rows, mae, rmse and r2 for
// a regressor.
type Metrics map[string]float64

// higherIsBetter reports whether a larger value of metric name is better.
func higherIsBetter(name string) bool {
	switch name {
	case MetricROCAUC, MetricPRAUC, MetricR2:
		return true
	}
	return false
}

// atLeastAsGood reports whether candidate is at least as good as current on metric name.
func atLeastAsGood(name string, candidate, current float64) bool {
	if higherIsBetter(name) {
		return candidate >= current
	}
	return candidate <= current
}

// evaluate computes the metrics of scores (probabilities of label 1, or predicted values)
// against labels y.
func evaluate(task ml.Task, y, score []float64) (Metrics, error) {
	m := Metrics{MetricRows: float64(len(y))}
	type metric struct {
		name string
		fn   func(y, p []float64) (float64, error)
	}
	var fs []metric
	if task == ml.Classification {
		pos := 0.0
		for _, v := range y {
			pos += v
		}
		if len(y) > 0 {
			m[MetricPositiveRate] = pos / float64(len(y))
		}
		fs = []metric{
			{MetricROCAUC, ml.ROCAUC}, {MetricPRAUC, ml.AveragePrecision}, {MetricBrier, ml.Brier},
			{MetricECE, func(y, p []float64) (float64, error) { return ml.ExpectedCalibrationError(y, p, CalibrationBins) }},
			{MetricLogLoss, ml.LogLoss},
		}
	} else {
		fs = []metric{{MetricMAE, ml.MAE}, {MetricRMSE, ml.RMSE}, {MetricR2, ml.R2}}
	}
	for _, f := range fs {
		v, err := f.fn(y, score)
		if err != nil {
			return nil, fmt.Errorf("couldn't compute %s: %w", f.name, err)
		}
		m[f.name] = v
	}
	return m, nil
}
