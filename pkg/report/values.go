package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Units of cells and charts: how a value is shown and how a spreadsheet formats it.
const (
	UnitCount    = "count"    // whole number: 1,234
	UnitNumber   = "number"   // decimal number: 12.35
	UnitRatio    = "ratio"    // 0 to 1, shown as a percentage: 18.2 %
	UnitPercent  = "percent"  // already a percentage: 72.5 %
	UnitSeconds  = "seconds"  // a duration: 3.4 h
	UnitCurrency = "currency" // an amount in euros: 12.30 €
	UnitScore    = "score"    // a mean score: 4.21
	UnitTime     = "time"     // an instant
	UnitDate     = "date"     // a calendar day
	UnitID       = "id"       // a row id, shown without separators
)

// kpiUnit maps a KPI's unit (pkg/kpi) to a cell unit.
func kpiUnit(u string) string {
	switch u {
	case "ratio":
		return UnitRatio
	case "percent":
		return UnitPercent
	case "seconds":
		return UnitSeconds
	case "currency":
		return UnitCurrency
	case "score":
		return UnitScore
	}
	return UnitCount
}

// FormatValue shows v in unit as a reader expects it; NaN is a dash.
func FormatValue(v float64, unit string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	switch unit {
	case UnitRatio:
		return strconv.FormatFloat(100*v, 'f', 1, 64) + " %"
	case UnitPercent:
		return strconv.FormatFloat(v, 'f', 1, 64) + " %"
	case UnitSeconds:
		return formatDuration(v)
	case UnitCurrency:
		return thousands(strconv.FormatFloat(v, 'f', 2, 64)) + " €"
	case UnitScore, UnitNumber:
		return thousands(strconv.FormatFloat(v, 'f', 2, 64))
	case UnitID:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	if v == math.Trunc(v) {
		return thousands(strconv.FormatFloat(v, 'f', 0, 64))
	}
	return thousands(strconv.FormatFloat(v, 'f', 1, 64))
}

// formatDuration shows seconds in the largest unit that keeps the figure readable.
func formatDuration(s float64) string {
	a := math.Abs(s)
	switch {
	case a < 120:
		return strconv.FormatFloat(s, 'f', 1, 64) + " s"
	case a < 2*3600:
		return strconv.FormatFloat(s/60, 'f', 1, 64) + " min"
	case a < 48*3600:
		return strconv.FormatFloat(s/3600, 'f', 1, 64) + " h"
	}
	return strconv.FormatFloat(s/86400, 'f', 1, 64) + " d"
}

// thousands groups the integer digits of a formatted number by three with commas.
func thousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}

// Change is how a KPI moved from the previous period: a difference in percentage points for
// ratios and percentages, a relative change otherwise.
type Change struct {
	// Value is the difference (points, as a fraction for ratios) or the relative change
	// (0.05 for +5 %); NaN when it cannot be computed.
	Value float64
	// Unit is UnitRatio for a relative change, or the KPI's unit for a difference.
	Unit string
	Text string
}

// change computes the change from previous to current of a KPI in unit.
func change(current, previous float64, unit string) Change {
	if math.IsNaN(current) || math.IsNaN(previous) {
		return Change{Value: math.NaN(), Unit: unit, Text: "–"}
	}
	switch unit {
	case UnitRatio, UnitPercent:
		d := current - previous
		pts := d
		if unit == UnitRatio {
			pts = 100 * d
		}
		return Change{Value: d, Unit: unit, Text: signed(pts, 1) + " pts"}
	}
	if previous == 0 {
		if current == 0 {
			return Change{Value: 0, Unit: UnitRatio, Text: "0.0 %"}
		}
		return Change{Value: math.NaN(), Unit: UnitRatio, Text: "new"}
	}
	r := (current - previous) / math.Abs(previous)
	return Change{Value: r, Unit: UnitRatio, Text: signed(100*r, 1) + " %"}
}

func signed(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if v > 0 || (v == 0 && !strings.HasPrefix(s, "-")) {
		return "+" + s
	}
	return s
}

// tone says whether a change is good or bad news for a KPI that is better higher (better > 0)
// or lower (better < 0); a change under a hundredth of the value is neither.
func tone(c Change, better int) string {
	if better == 0 || math.IsNaN(c.Value) || math.Abs(c.Value) < 1e-9 {
		return ""
	}
	if (c.Value > 0) == (better > 0) {
		return "good"
	}
	return "bad"
}

// kpiInfo presents a KPI to a reader: its title and which way is better.
type kpiInfo struct {
	Title  string
	Better int // 1 higher is better, -1 lower is better, 0 neither
}

// kpiInfos presents the catalogue's KPIs; a KPI missing here shows under its metric name.
var kpiInfos = map[string]kpiInfo{
	"bdc_users_online":                 {"Users online", 0},
	"bdc_activity_events_total":        {"Activity events (total)", 0},
	"bdc_appointments_today":           {"Appointments today", 0},
	"bdc_appointments_next_hour":       {"Appointments in the next hour", 0},
	"bdc_users_active":                 {"Active users", 1},
	"bdc_users":                        {"User accounts", 1},
	"bdc_beneficiaries":                {"Beneficiaries", 0},
	"bdc_retention_ratio":              {"Retention", 1},
	"bdc_conversion_ratio":             {"Conversion", 1},
	"bdc_revenue_per_active_user":      {"Revenue per active user", 1},
	"bdc_appointment_completion_ratio": {"Appointment completion", 1},
	"bdc_appointment_noshow_ratio":     {"No-show ratio", -1},
	"bdc_evaluation_score":             {"Evaluation score (mean)", 1},
	"bdc_evaluation_completion_ratio":  {"Evaluation completion", 1},
	"bdc_trainer_utilization_ratio":    {"Trainer utilization", 0},
	"bdc_satisfaction_score":           {"Satisfaction (1–5)", 1},
	"bdc_support_resolution_seconds":   {"Support resolution time (mean)", -1},
	"bdc_support_tickets_open":         {"Open support tickets", -1},
	"bdc_page_load_seconds":            {"Page load time (mean)", -1},
}

// kpiTitle is a KPI row's title: the KPI's title and its label values.
func kpiTitle(name string, labels []string, values []string) string {
	title := name
	if info, ok := kpiInfos[name]; ok {
		title = info.Title
	}
	var parts []string
	for i, v := range values {
		switch {
		case v == "":
		case labels[i] == "window" || labels[i] == "step" || labels[i] == "status" || labels[i] == "role" || labels[i] == "category":
			parts = append(parts, strings.ReplaceAll(v, "_", " "))
		default:
			parts = append(parts, labels[i]+" "+v)
		}
	}
	if len(parts) == 0 {
		return title
	}
	return fmt.Sprintf("%s (%s)", title, strings.Join(parts, ", "))
}
