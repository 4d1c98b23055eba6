package insights_test

import (
	"errors"
	"testing"

	"github.com/bdc-analytics/bdc/pkg/insights"
)

// TestConfigValidation checks that each bad threshold is refused with the path of its field.
func TestConfigValidation(t *testing.T) {
	def := insights.DefaultConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("the default configuration: %v", err)
	}
	for _, c := range []struct {
		field  string
		change func(*insights.Config)
	}{
		{"trend.periods[1]", func(c *insights.Config) { c.Trend.Periods = []string{"week", "quarter"} }},
		{"trend.periods[1]", func(c *insights.Config) { c.Trend.Periods = []string{"week", "week"} }},
		{"trend.significance", func(c *insights.Config) { c.Trend.Significance = 0 }},
		{"trend.significance", func(c *insights.Config) { c.Trend.Significance = 0.9 }},
		{"trend.min_count", func(c *insights.Config) { c.Trend.MinCount = 0 }},
		{"trend.kpis.noshow_ratio.min_change", func(c *insights.Config) { c.Trend.KPIs.NoShowRatio.MinChange = -0.1 }},
		{"trend.kpis.satisfaction_score.high_change", func(c *insights.Config) { c.Trend.KPIs.SatisfactionScore.HighChange = 0.01 }},
		{"anomaly.series[0]", func(c *insights.Config) { c.Anomaly.Series = []string{"revenue"} }},
		{"anomaly.days", func(c *insights.Config) { c.Anomaly.Days = 0 }},
		{"anomaly.days", func(c *insights.Config) { c.Anomaly.Days = insights.MaxAnomalyDays + 1 }},
		{"anomaly.level", func(c *insights.Config) { c.Anomaly.Level = 1 }},
		{"anomaly.high_level", func(c *insights.Config) { c.Anomaly.HighLevel = 0.9 }},
		{"anomaly.history_days", func(c *insights.Config) { c.Anomaly.HistoryDays = 7 }},
		{"risk.noshow_threshold", func(c *insights.Config) { c.Risk.NoShowThreshold = 1.5 }},
		{"risk.churn_threshold", func(c *insights.Config) { c.Risk.ChurnThreshold = 0 }},
		{"risk.high_share", func(c *insights.Config) { c.Risk.HighShare = 0 }},
		{"risk.factors", func(c *insights.Config) { c.Risk.Factors = -1 }},
		{"risk.list_ids", func(c *insights.Config) { c.Risk.ListIDs = insights.MaxListIDs + 1 }},
	} {
		cfg := insights.DefaultConfig()
		c.change(&cfg)
		err := cfg.Validate()
		var fe *insights.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || fe.Reason == "" {
			t.Errorf("%s: %v", c.field, err)
		}
	}
}
