package report

import (
	"context"
	"fmt"
	"strings"

	"github.com/bdc-analytics/bdc/pkg/analytics"
)

// segments splits the beneficiaries by their behaviour over the days before the period's end.
func (bd *build) segments(ctx context.Context, s SectionSpec) (Section, error) {
	end := bd.per.To.In(bd.loc)
	q := analytics.SegmentsQuery{Query: bd.query(end.AddDate(0, 0, -s.Days), end), Method: analytics.SegmentMethod(s.Method)}
	if q.Method == analytics.SegmentKMeans {
		q.Seed = 1 // the same data gives the same segments in every report
	}
	res, err := bd.analytics.Segments(ctx, q)
	if err != nil {
		return Section{}, err
	}
	t := &Table{Columns: []Column{
		{Name: "segment", Title: "Segment"},
		{Name: "users", Title: "Beneficiaries"},
		{Name: "share", Title: "Share"},
	}}
	for _, f := range res.Features {
		t.Columns = append(t.Columns, Column{Name: f, Title: "Mean " + strings.ReplaceAll(strings.TrimSuffix(f, "_cents"), "_", " ")})
	}
	for _, seg := range res.Segments {
		row := []Cell{text(strings.ReplaceAll(seg.Name, "_", " ")), integer(seg.Users), number(seg.Share, UnitRatio)}
		for i, f := range res.Features {
			v := seg.Profile[i]
			if strings.HasSuffix(f, "_cents") {
				row = append(row, number(v/100, UnitCurrency))
				continue
			}
			row = append(row, number(v, UnitNumber))
		}
		t.Rows = append(t.Rows, row)
	}
	sec := Section{Title: s.Title, Table: t}
	if len(res.Segments) == 0 {
		sec.Notes = append(sec.Notes, "No beneficiary to segment.")
		return sec, nil
	}
	sec.Charts = []Chart{{Title: s.Title, Kind: ChartBar, X: "segment", Unit: UnitCount, YTitle: "Beneficiaries",
		Series: []Series{{Column: "users", Title: "Beneficiaries"}}}}
	largest := res.Segments[0]
	for _, seg := range res.Segments {
		if seg.Users > largest.Users {
			largest = seg
		}
	}
	sec.Summary = fmt.Sprintf("%s beneficiaries segmented by their last %d days (%s); the largest segment is %s (%s).",
		FormatValue(float64(res.Users), UnitCount), s.Days, map[string]string{"rfm": "RFM", "kmeans": "k-means"}[s.Method],
		strings.ReplaceAll(largest.Name, "_", " "), FormatValue(largest.Share, UnitRatio))
	return sec, nil
}
