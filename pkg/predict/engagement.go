package predict

import (
	"context"
	"fmt"
	"time"

	"github.com/bdc-analytics/bdc/pkg/ml"
)

// HighEngagementDays is the number of active local days in the OutcomeWindow from which a
// beneficiary counts as highly engaged: about once a week.
const HighEngagementDays = 4

// engagementModel predicts whether an active beneficiary is highly engaged in the OutcomeWindow
// after a cutoff.
var engagementModel = &Definition{
	Name: Engagement, Task: ml.Classification, Subject: "beneficiary", Primary: MetricROCAUC,
	Label: fmt.Sprintf("active on at least %d local days of the 30 after the cutoff (rows: beneficiaries active in the 90 days before it)", HighEngagementDays),
	AsOf:  "the cutoff",
	GBM:   beneficiaryGBM, features: beneficiaryFeatures,
	labelled: func(ctx context.Context, q querier, tz string, from, to time.Time) (*Frame, error) {
		return labelledBeneficiaries(ctx, q, tz, from, to, engagementLabel)
	},
	population: beneficiaryPopulation,
}

// engagementLabel turns the active days of a beneficiary row's outcome window into the
// engagement label.
func engagementLabel(days float64) float64 { return b2f(days >= HighEngagementDays) }
