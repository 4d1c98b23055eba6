package report

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/bdc-analytics/bdc/pkg/analytics"
)

// funnel is the conversion funnel of the period: users at each step and the conversion.
func (bd *build) funnel(ctx context.Context, s SectionSpec) (Section, error) {
	steps := make([]analytics.Event, len(s.Steps))
	for i, st := range s.Steps {
		e, err := analytics.ParseEvent(st)
		if err != nil {
			return Section{}, err
		}
		steps[i] = e
	}
	q := analytics.FunnelQuery{Query: bd.query(bd.per.From, bd.per.To), Series: steps,
		FunnelWindowInterval: s.WindowDays, FunnelWindowIntervalUnit: analytics.UnitDay}
	res, err := bd.analytics.Funnel(ctx, q)
	if err != nil {
		return Section{}, err
	}
	t := &Table{Columns: []Column{
		{Name: "step", Title: "Step"},
		{Name: "users", Title: "Beneficiaries"},
		{Name: "from_first", Title: "Of the first step"},
		{Name: "from_previous", Title: "Of the previous step"},
		{Name: "median_time", Title: "Median time from the previous step"},
	}}
	sec := Section{Title: s.Title, Table: t}
	if len(res.Series) == 0 {
		sec.Notes = append(sec.Notes, "No beneficiary entered the funnel in the period.")
		return sec, nil
	}
	st := res.Series[0].Steps
	for _, step := range st {
		median := math.NaN()
		if step.MedianConversionTime != nil {
			median = *step.MedianConversionTime
		}
		t.Rows = append(t.Rows, []Cell{text(strings.ReplaceAll(step.Name, "_", " ")), integer(step.Count),
			number(step.ConversionFromFirst, UnitRatio), number(step.ConversionFromPrevious, UnitRatio), number(median, UnitSeconds)})
	}
	sec.Charts = []Chart{{Title: s.Title, Kind: ChartBar, X: "step", Unit: UnitCount, YTitle: "Beneficiaries",
		Series: []Series{{Column: "users", Title: "Beneficiaries"}}}}
	first, last := st[0], st[len(st)-1]
	sec.Summary = fmt.Sprintf("Of the %s beneficiaries with a %s in the period, %s (%s) reached %s within %d days.",
		FormatValue(float64(first.Count), UnitCount), strings.ReplaceAll(first.Name, "_", " "),
		FormatValue(float64(last.Count), UnitCount), FormatValue(last.ConversionFromFirst, UnitRatio),
		strings.ReplaceAll(last.Name, "_", " "), s.WindowDays)
	return sec, nil
}
