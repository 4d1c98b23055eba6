package predict

import (
	"context"
	"time"

	"github.com/bdc-analytics/bdc/pkg/ml"
)

// churnModel predicts whether an active beneficiary has no activity in the OutcomeWindow after a
// cutoff.
var churnModel = &Definition{
	Name: Churn, Task: ml.Classification, Subject: "beneficiary", Primary: MetricROCAUC,
	Label: "no activity in the 30 days after the cutoff (rows: beneficiaries active in the 90 days before it)",
	AsOf:  "the cutoff",
	GBM:   beneficiaryGBM, features: beneficiaryFeatures,
	labelled: func(ctx context.Context, q querier, tz string, from, to time.Time) (*Frame, error) {
		return labelledBeneficiaries(ctx, q, tz, from, to, churnLabel)
	},
	population: beneficiaryPopulation,
}

// churnLabel turns the active days of a beneficiary row's outcome window into the churn label.
func churnLabel(days float64) float64 { return b2f(days == 0) }
