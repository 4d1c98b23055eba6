package insights

import (
	"errors"
	"time"
)

// Categories of insight.
const (
	// CategoryTrend is a period-over-period change of a KPI.
	CategoryTrend = "trend"
	// CategoryAnomaly is a day whose actual value fell outside a forecast's interval.
	CategoryAnomaly = "anomaly"
	// CategoryRisk summarizes what a promoted model predicts.
	CategoryRisk = "risk"
)

// Priorities of insight, most urgent first.
const (
	PriorityHigh   = "high"
	PriorityMedium = "medium"
	PriorityLow    = "low"
)

// Categories lists the categories; Priorities the priorities, most urgent first.
var (
	Categories = []string{CategoryTrend, CategoryAnomaly, CategoryRisk}
	Priorities = []string{PriorityHigh, PriorityMedium, PriorityLow}
)

// Insight is one finding.
type Insight struct {
	// ID is the stored insight's id; 0 for an insight Detect returned.
	ID int64 `json:"id"`
	// Rule names the rule and its subject, e.g. "trend.noshow_ratio.week" or
	// "anomaly.appointments"; an instant has at most one insight per rule.
	Rule string `json:"rule"`
	// Category is trend, anomaly or risk.
	Category string `json:"category"`
	// Priority is high, medium or low.
	Priority string `json:"priority"`
	// Title says what happened in a line; Detail explains it with the figures, in words a
	// manager understands.
	Title  string `json:"title"`
	Detail string `json:"detail"`
	// Evidence holds the figures the insight rests on, as JSON values (numbers are float64).
	Evidence map[string]any `json:"evidence"`
	// PeriodFrom and PeriodTo bound the time the insight is about.
	PeriodFrom time.Time `json:"period_from"`
	PeriodTo   time.Time `json:"period_to"`
	// DetectedAt is the instant the rules ran at (a job's scheduled time).
	DetectedAt time.Time `json:"detected_at"`
}

// ListOptions filter List. Zero values do not filter.
type ListOptions struct {
	// From and To bound DetectedAt: From <= detected_at <= To.
	From, To time.Time
	// Category and Priority keep one category or one priority.
	Category, Priority string
	// Limit bounds the number of insights; 0 means DefaultLimit, at most MaxLimit.
	Limit int
}

// DefaultLimit and MaxLimit bound the insights List returns.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// ErrBadOptions is returned for list options that cannot be met (unknown category, limit out
// of range, From after To): the caller's mistake.
var ErrBadOptions = errors.New("bad insight list options")
