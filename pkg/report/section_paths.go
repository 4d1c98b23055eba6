package report

import (
	"context"
	"fmt"
	"strings"

	"github.com/bdc-analytics/bdc/pkg/analytics"
)

// paths lists the period's most common journeys (sessions, merged repeats).
func (bd *build) paths(ctx context.Context, s SectionSpec) (Section, error) {
	q := analytics.PathsQuery{Query: bd.query(bd.per.From, bd.per.To), JourneyLimit: s.Limit}
	res, err := bd.analytics.Paths(ctx, q)
	if err != nil {
		return Section{}, err
	}
	t := &Table{Columns: []Column{
		{Name: "rank", Title: "#"},
		{Name: "journey", Title: "Journey"},
		{Name: "paths", Title: "Sessions"},
		{Name: "share", Title: "Share"},
		{Name: "duration", Title: "Mean duration"},
	}}
	for i, j := range res.Journeys {
		t.Rows = append(t.Rows, []Cell{integer(int64(i + 1)), text(strings.Join(j.Steps, " → ")), integer(j.Paths),
			number(j.Share, UnitRatio), number(j.AverageDuration, UnitSeconds)})
	}
	sec := Section{Title: s.Title, Table: t}
	if len(res.Journeys) == 0 {
		sec.Notes = append(sec.Notes, "No session in the period.")
		return sec, nil
	}
	sec.Summary = fmt.Sprintf("%s sessions of %s beneficiaries; the most common journey (%s of them): %s.",
		FormatValue(float64(res.Paths), UnitCount), FormatValue(float64(res.Users), UnitCount),
		FormatValue(res.Journeys[0].Share, UnitRatio), strings.Join(res.Journeys[0].Steps, " → "))
	return sec, nil
}
