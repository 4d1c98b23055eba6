package predict

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/ml"
)

// Reasons to retrain a model.
const (
	// ReasonNoModel: the model has no promoted version.
	ReasonNoModel = "no_model"
	// ReasonSchedule: the promoted version is older than the policy's MaxAge.
	ReasonSchedule = "schedule"
	// ReasonDrift: the score's or a feature's PSI passed the policy's threshold.
	ReasonDrift = "drift"
	// ReasonQuality: the primary metric on recently labelled rows fell below the version's test
	// figure by more than the policy allows.
	ReasonQuality = "quality"
)

// RetrainPolicy says when a model is retrained.
type RetrainPolicy struct {
	// MaxAge retrains a version older than this; 0 means 7 days.
	MaxAge time.Duration
	// ScorePSI retrains when the score's PSI exceeds it; 0 means PSIShifted (0.25).
	ScorePSI float64
	// FeaturePSI retrains when a feature's PSI exceeds it; 0 means 0.5 (features move with the
	// seasons more than scores do).
	FeaturePSI float64
	// QualityDrop retrains when the primary metric on recent rows is worse than the version's
	// test figure by more than this; 0 means 0.05.
	QualityDrop float64
	// QualityWindow is how far back recently labelled rows go; 0 means 28 days.
	QualityWindow time.Duration
	// MinQualityRows is the fewest recent rows a quality check needs; 0 means 200.
	MinQualityRows int
}

func (p RetrainPolicy) withDefaults() RetrainPolicy {
	if p.MaxAge <= 0 {
		p.MaxAge = 7 * 24 * time.Hour
	}
	if p.ScorePSI <= 0 {
		p.ScorePSI = PSIShifted
	}
	if p.FeaturePSI <= 0 {
		p.FeaturePSI = 0.5
	}
	if p.QualityDrop <= 0 {
		p.QualityDrop = 0.05
	}
	if p.QualityWindow <= 0 {
		p.QualityWindow = 28 * 24 * time.Hour
	}
	if p.MinQualityRows <= 0 {
		p.MinQualityRows = 200
	}
	return p
}

// Decision says whether to retrain a model, and why.
type Decision struct {
	Model   string `json:"model"`
	Retrain bool   `json:"retrain"`
	// Reasons lists the reasons that apply (ReasonNoModel, ReasonSchedule, ReasonDrift,
	// ReasonQuality), Detail says them in words.
	Reasons []string `json:"reasons,omitempty"`
	Detail  string   `json:"detail"`
}

// Quality is a version's primary metric on recently labelled rows.
type Quality struct {
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
	Rows   int     `json:"rows"`
}

// Decide applies policy p at now to version v (nil when the model has none), its latest drift
// report (nil when none) and its recent quality (nil when unknown). It does no I/O.
func Decide(now time.Time, model string, v *Version, drift *DriftReport, q *Quality, p RetrainPolicy) Decision {
	p = p.withDefaults()
	d := Decision{Model: model}
	var details []string
	add := func(reason, detail string) {
		d.Reasons = append(d.Reasons, reason)
		details = append(details, detail)
	}
	if v == nil {
		add(ReasonNoModel, "no promoted version")
	} else {
		if age := now.Sub(v.TrainedAt); age > p.MaxAge {
			add(ReasonSchedule, fmt.Sprintf("version %d is %s old, more than %s", v.Version, age.Round(time.Minute), p.MaxAge))
		}
		if drift != nil && drift.Version == v.Version {
			if drift.Score > p.ScorePSI {
				add(ReasonDrift, fmt.Sprintf("score PSI %.3f above %.3f", drift.Score, p.ScorePSI))
			} else if f := drift.MaxFeature(); f.PSI > p.FeaturePSI {
				add(ReasonDrift, fmt.Sprintf("feature %s PSI %.3f above %.3f", f.Feature, f.PSI, p.FeaturePSI))
			}
		}
		if q != nil && q.Rows >= p.MinQualityRows {
			if ref, ok := v.Metrics[q.Metric]; ok {
				drop := ref - q.Value
				if !higherIsBetter(q.Metric) {
					drop = -drop
				}
				if drop > p.QualityDrop {
					add(ReasonQuality, fmt.Sprintf("%s %.4f on %d recent rows, %.4f below the test figure %.4f",
						q.Metric, q.Value, q.Rows, drop, ref))
				}
			}
		}
	}
	d.Retrain = len(d.Reasons) > 0
	if d.Retrain {
		d.Detail = strings.Join(details, "; ")
	} else {
		d.Detail = fmt.Sprintf("version %d is recent, stable and as good as when tested", v.Version)
	}
	return d
}

// RecentQuality measures version v's primary metric on the rows whose label became known in the
// window before now: what it would have scored on the latest outcomes.
func (s *Store) RecentQuality(ctx context.Context, v *Version, now time.Time, window time.Duration) (*Quality, error) {
	def, err := Lookup(v.Model)
	if err != nil {
		return nil, err
	}
	m, err := s.RecentMetrics(ctx, v, now, window)
	if err != nil {
		return nil, err
	}
	q := &Quality{Metric: def.Primary, Rows: int(m[MetricRows])}
	if value, ok := m[def.Primary]; ok {
		q.Value = value
	} else {
		q.Rows = 0 // no verdict: no rows, or a single class without an AUC
	}
	return q, nil
}

// RecentMetrics measures version v on the rows whose label became known in the window before
// now. The result always has MetricRows; it has the other metrics only when they are defined
// (some rows and, for a classifier, both classes).
func (s *Store) RecentMetrics(ctx context.Context, v *Version, now time.Time, window time.Duration) (Metrics, error) {
	def, err := Lookup(v.Model)
	if err != nil {
		return nil, err
	}
	var f *Frame
	err = s.readOnly(ctx, func(ctx context.Context, tx pgx.Tx) error {
		f, err = def.labelled(ctx, tx, s.timeZone(), now.Add(-window), now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't extract recent %s rows: %w", v.Model, err)
	}
	rows := Metrics{MetricRows: float64(f.Len())}
	if f.Len() == 0 {
		return rows, nil
	}
	d, err := v.Schema.Encode(f)
	if err != nil {
		return nil, fmt.Errorf("couldn't encode recent %s rows: %w", v.Model, err)
	}
	m, err := measure(v.Fitted, d)
	if errors.Is(err, ml.ErrSingleClass) {
		// A window with a single class has no AUC: no verdict rather than a failure.
		return rows, nil
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't measure %s on recent rows: %w", v.Model, err)
	}
	m[MetricRows] = float64(f.Len())
	return m, nil
}

// RetrainDecision loads what Decide needs for model at now (its promoted version, latest drift
// report and recent quality) and decides.
func (s *Store) RetrainDecision(ctx context.Context, model string, now time.Time, p RetrainPolicy) (Decision, error) {
	p = p.withDefaults()
	v, err := s.LatestPromoted(ctx, model)
	if errors.Is(err, ErrNoModel) {
		return Decide(now, model, nil, nil, nil, p), nil
	}
	if err != nil {
		return Decision{}, err
	}
	drift, err := s.LatestDrift(ctx, model)
	if err != nil && !errors.Is(err, ErrNoRows) {
		return Decision{}, err
	}
	q, err := s.RecentQuality(ctx, v, now, p.QualityWindow)
	if err != nil {
		return Decision{}, err
	}
	return Decide(now, model, v, drift, q, p), nil
}
