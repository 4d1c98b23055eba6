package report

import (
	"context"
	"fmt"

	"github.com/bdc-analytics/bdc/pkg/analytics"
)

// cohorts is the retention matrix of the registration cohorts of the periods before the report's
// end: one row per cohort, its size, and the share of it back in each later period.
func (bd *build) cohorts(ctx context.Context, s SectionSpec) (Section, error) {
	end := bd.per.To.In(bd.loc)
	from := end.AddDate(0, 0, -7*s.Cohorts)
	switch s.Period {
	case "day":
		from = end.AddDate(0, 0, -s.Cohorts)
	case "month":
		from = end.AddDate(0, -s.Cohorts, 0)
	}
	returning, err := analytics.ParseEvent(s.Returning)
	if err != nil {
		return Section{}, err
	}
	q := analytics.RetentionQuery{Query: bd.query(from, end), Period: analytics.Period(s.Period), TotalIntervals: s.Intervals,
		TargetEntity: analytics.Event{Kind: analytics.EventSignup}, ReturningEntity: returning}
	res, err := bd.analytics.Retention(ctx, q)
	if err != nil {
		return Section{}, err
	}
	t := &Table{Columns: []Column{{Name: "cohort", Title: "Cohort"}, {Name: "size", Title: "Registered"}}}
	for k := range s.Intervals {
		t.Columns = append(t.Columns, Column{Name: fmt.Sprintf("p%d", k), Title: fmt.Sprintf("%s %d", s.Period, k), Heat: true})
	}
	var size, back int64
	for _, c := range res.Cohorts {
		row := []Cell{instant(c.Start, UnitDate, bd.loc), integer(c.Size)}
		for k := range s.Intervals {
			cell := Cell{Text: "", Unit: UnitRatio}
			if k < len(c.Intervals) {
				cell = number(c.Intervals[k].Ratio, UnitRatio)
				if k == 1 {
					size += c.Size
					back += c.Intervals[k].Count
				}
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	sec := Section{Title: s.Title, Table: t, Paragraphs: []string{fmt.Sprintf(
		"Beneficiaries by the %s they registered in; each column is the share of them with %s in the %s that many %ss later (%s 0 is the cohort itself).",
		s.Period, eventWords(returning), s.Period, s.Period, s.Period)}}
	if size > 0 {
		sec.Summary = fmt.Sprintf("%s of the beneficiaries of the cohorts with a complete first %s came back in it.",
			FormatValue(float64(back)/float64(size), UnitRatio), s.Period)
	}
	return sec, nil
}

// eventWords says an event in words.
func eventWords(e analytics.Event) string {
	switch {
	case e.Kind == analytics.EventActivity && e.ActivityType == "" && e.Feature == "":
		return "any activity"
	case e.Kind == analytics.EventActivity:
		return "activity " + e.String()
	}
	return "a " + string(e.Kind) + " event"
}
