package insights

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bdc-analytics/bdc/pkg/predict"
)

// Config holds the rules' thresholds: the insights block of a reporter job. Start from
// DefaultConfig and override what is given, then Validate.
type Config struct {
	Trend   TrendConfig   `yaml:"trend" json:"trend"`
	Anomaly AnomalyConfig `yaml:"anomaly" json:"anomaly"`
	Risk    RiskConfig    `yaml:"risk" json:"risk"`
}

// TrendConfig configures the trend rule.
type TrendConfig struct {
	// Enabled runs the rule.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Periods compared: week (7 days against the 7 before) and month (30 against 30).
	Periods []string `yaml:"periods" json:"periods"`
	// Significance is the largest two-sided p-value of a change reported.
	Significance float64 `yaml:"significance" json:"significance"`
	// MinCount is the fewest rows (appointments, feedback, tickets, registrations, active
	// users) each period needs for its KPI to be compared.
	MinCount int `yaml:"min_count" json:"min_count"`
	// KPIs are the thresholds of each KPI.
	KPIs TrendKPIs `yaml:"kpis" json:"kpis"`
}

// TrendKPIs holds the thresholds of each KPI the trend rule compares.
type TrendKPIs struct {
	ActiveUsers           Threshold `yaml:"active_users" json:"active_users"`
	NoShowRatio           Threshold `yaml:"noshow_ratio" json:"noshow_ratio"`
	CompletionRatio       Threshold `yaml:"completion_ratio" json:"completion_ratio"`
	ConversionRatio       Threshold `yaml:"conversion_ratio" json:"conversion_ratio"`
	SatisfactionScore     Threshold `yaml:"satisfaction_score" json:"satisfaction_score"`
	SupportResolutionTime Threshold `yaml:"support_resolution_time" json:"support_resolution_time"`
}

// Threshold says when a KPI's change is reported.
type Threshold struct {
	// Enabled compares the KPI.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// MinChange is the smallest relative change reported (0.1: 10 % up or down).
	MinChange float64 `yaml:"min_change" json:"min_change"`
	// HighChange is the relative change for the worse from which the insight is high priority.
	HighChange float64 `yaml:"high_change" json:"high_change"`
}

// AnomalyConfig configures the anomaly rule.
type AnomalyConfig struct {
	// Enabled runs the rule.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Series checked, among predict.SeriesNames().
	Series []string `yaml:"series" json:"series"`
	// Days is how many complete days before the instant's day are checked (1: yesterday).
	Days int `yaml:"days" json:"days"`
	// Level is the forecast interval outside which a day is an anomaly (medium priority);
	// HighLevel the wider one outside which it is high priority.
	Level     float64 `yaml:"level" json:"level"`
	HighLevel float64 `yaml:"high_level" json:"high_level"`
	// HistoryDays is how many days of history the forecast is fitted to.
	HistoryDays int `yaml:"history_days" json:"history_days"`
}

// RiskConfig configures the risk rule.
type RiskConfig struct {
	// Enabled runs the rule.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// NoShowThreshold is the no-show probability from which an appointment is high-risk.
	NoShowThreshold float64 `yaml:"noshow_threshold" json:"noshow_threshold"`
	// ChurnThreshold is the churn probability from which a beneficiary is at risk.
	ChurnThreshold float64 `yaml:"churn_threshold" json:"churn_threshold"`
	// HighShare is the share of the population scored at risk from which the insight is high
	// priority.
	HighShare float64 `yaml:"high_share" json:"high_share"`
	// Factors is how many main factors the insight names.
	Factors int `yaml:"factors" json:"factors"`
	// ListIDs is how many ids of the riskiest appointments or beneficiaries the evidence lists.
	ListIDs int `yaml:"list_ids" json:"list_ids"`
}

// Periods the trend rule knows.
const (
	PeriodWeek  = "week"
	PeriodMonth = "month"
)

// DefaultConfig returns the thresholds used when a job gives none.
func DefaultConfig() Config {
	return Config{
		Trend: TrendConfig{
			Enabled: true, Periods: []string{PeriodWeek, PeriodMonth}, Significance: 0.01, MinCount: 30,
			KPIs: TrendKPIs{
				ActiveUsers:           Threshold{Enabled: true, MinChange: 0.10, HighChange: 0.25},
				NoShowRatio:           Threshold{Enabled: true, MinChange: 0.15, HighChange: 0.30},
				CompletionRatio:       Threshold{Enabled: true, MinChange: 0.05, HighChange: 0.10},
				ConversionRatio:       Threshold{Enabled: true, MinChange: 0.10, HighChange: 0.25},
				SatisfactionScore:     Threshold{Enabled: true, MinChange: 0.05, HighChange: 0.10},
				SupportResolutionTime: Threshold{Enabled: true, MinChange: 0.20, HighChange: 0.50},
			},
		},
		Anomaly: AnomalyConfig{
			Enabled: true, Series: predict.SeriesNames(), Days: 1, Level: 0.95, HighLevel: 0.99, HistoryDays: 365,
		},
		Risk: RiskConfig{
			Enabled: true, NoShowThreshold: 0.5, ChurnThreshold: 0.5, HighShare: 0.2, Factors: 3, ListIDs: 10,
		},
	}
}

// Limits of the configuration.
const (
	MaxAnomalyDays = 14
	MinHistoryDays = 28
	MaxHistoryDays = 3 * 365
	MaxFactors     = 10
	MaxListIDs     = 100
)

// FieldError is a configuration problem: Field is the path of the field in the insights block,
// such as "trend.kpis.noshow_ratio.min_change".
type FieldError struct {
	Field  string
	Reason string
}

// Error reads like "trend.significance: must be between 0 and 0.5".
func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Validate checks the thresholds; the error is a *FieldError.
func (c *Config) Validate() error {
	t := &c.Trend
	for i, p := range t.Periods {
		if p != PeriodWeek && p != PeriodMonth {
			return fieldErr(fmt.Sprintf("trend.periods[%d]", i), "unknown period %q (want week or month)", p)
		}
		if slices.Index(t.Periods, p) != i {
			return fieldErr(fmt.Sprintf("trend.periods[%d]", i), "%q is given twice", p)
		}
	}
	if t.Significance <= 0 || t.Significance > 0.5 {
		return fieldErr("trend.significance", "must be above 0 and at most 0.5 (a two-sided p-value), got %g", t.Significance)
	}
	if t.MinCount < 1 {
		return fieldErr("trend.min_count", "must be at least 1, got %d", t.MinCount)
	}
	for _, m := range measures {
		th := m.threshold(&t.KPIs)
		field := "trend.kpis." + m.name
		switch {
		case th.MinChange < 0 || th.MinChange > 10:
			return fieldErr(field+".min_change", "must be a relative change between 0 and 10 (0.1 is 10 %%), got %g", th.MinChange)
		case th.HighChange < th.MinChange || th.HighChange > 10:
			return fieldErr(field+".high_change", "must be between min_change (%g) and 10, got %g", th.MinChange, th.HighChange)
		}
	}
	a := &c.Anomaly
	for i, s := range a.Series {
		if !slices.Contains(predict.SeriesNames(), s) {
			return fieldErr(fmt.Sprintf("anomaly.series[%d]", i), "unknown series %q (want one of %s)", s, strings.Join(predict.SeriesNames(), ", "))
		}
		if slices.Index(a.Series, s) != i {
			return fieldErr(fmt.Sprintf("anomaly.series[%d]", i), "%q is given twice", s)
		}
	}
	switch {
	case a.Days < 1 || a.Days > MaxAnomalyDays:
		return fieldErr("anomaly.days", "must be between 1 and %d, got %d", MaxAnomalyDays, a.Days)
	case a.Level <= 0 || a.Level >= 1:
		return fieldErr("anomaly.level", "must be between 0 and 1 (0.95 is a 95 %% interval), got %g", a.Level)
	case a.HighLevel < a.Level || a.HighLevel >= 1:
		return fieldErr("anomaly.high_level", "must be at least level (%g) and below 1, got %g", a.Level, a.HighLevel)
	case a.HistoryDays < MinHistoryDays || a.HistoryDays > MaxHistoryDays:
		return fieldErr("anomaly.history_days", "must be between %d and %d, got %d", MinHistoryDays, MaxHistoryDays, a.HistoryDays)
	}
	r := &c.Risk
	switch {
	case r.NoShowThreshold <= 0 || r.NoShowThreshold > 1:
		return fieldErr("risk.noshow_threshold", "must be a probability above 0 and at most 1, got %g", r.NoShowThreshold)
	case r.ChurnThreshold <= 0 || r.ChurnThreshold > 1:
		return fieldErr("risk.churn_threshold", "must be a probability above 0 and at most 1, got %g", r.ChurnThreshold)
	case r.HighShare <= 0 || r.HighShare > 1:
		return fieldErr("risk.high_share", "must be a share above 0 and at most 1, got %g", r.HighShare)
	case r.Factors < 0 || r.Factors > MaxFactors:
		return fieldErr("risk.factors", "must be between 0 and %d, got %d", MaxFactors, r.Factors)
	case r.ListIDs < 0 || r.ListIDs > MaxListIDs:
		return fieldErr("risk.list_ids", "must be between 0 and %d, got %d", MaxListIDs, r.ListIDs)
	}
	return nil
}
