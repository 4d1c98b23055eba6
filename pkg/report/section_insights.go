package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/bdc-analytics/bdc/pkg/insights"
)

// insights lists the insights of the period: those the insights job saved from the period's
// start to the report's instant (the latest of each rule), or, when it saved none, those found
// now at the period's end.
func (bd *build) insights(ctx context.Context, s SectionSpec) (Section, error) {
	src := bd.b.Insights
	if src == nil {
		src = insights.NewStore(bd.b.DB)
	}
	stored, err := src.List(ctx, insights.ListOptions{From: bd.per.From, To: bd.p.At, Limit: insights.MaxLimit})
	if err != nil {
		return Section{}, err
	}
	found := stored
	var note string
	if len(stored) == 0 {
		if found, err = src.Detect(ctx, bd.per.To); err != nil {
			return Section{}, err
		}
		note = "Insights found for this report at the end of the period: the insights job saved none for it."
	} else {
		note = "Insights saved by the insights job during the period, the latest of each rule."
	}
	// The latest of each rule (List returns newest first), then most urgent first.
	seen := map[string]bool{}
	var list []insights.Insight
	for _, in := range found {
		if seen[in.Rule] || (s.Category != "" && in.Category != s.Category) || (s.Priority != "" && in.Priority != s.Priority) {
			continue
		}
		seen[in.Rule] = true
		list = append(list, in)
	}
	slices.SortStableFunc(list, func(a, b insights.Insight) int {
		return cmp.Or(cmp.Compare(slices.Index(insights.Priorities, a.Priority), slices.Index(insights.Priorities, b.Priority)),
			b.DetectedAt.Compare(a.DetectedAt))
	})
	total := len(list)
	if len(list) > s.Limit {
		list = list[:s.Limit]
	}
	t := &Table{Columns: []Column{
		{Name: "priority", Title: "Priority"},
		{Name: "category", Title: "Category"},
		{Name: "title", Title: "Insight"},
		{Name: "detail", Title: "Detail"},
		{Name: "detected_at", Title: "Detected"},
	}}
	counts := map[string]int{}
	for _, in := range list {
		counts[in.Priority]++
		t.Rows = append(t.Rows, []Cell{text(in.Priority), text(in.Category), text(in.Title), text(in.Detail),
			instant(in.DetectedAt, UnitTime, bd.loc)})
	}
	sec := Section{Title: s.Title, Table: t, Notes: append([]string{note}, bd.unfilteredNote("Insights")...)}
	if total == 0 {
		sec.Summary = "Nothing stood out: no trend change, anomaly or risk passed its rule's threshold."
	} else {
		sec.Summary = fmt.Sprintf("%d insights: %d high, %d medium and %d low priority.", total,
			counts[insights.PriorityHigh], counts[insights.PriorityMedium], counts[insights.PriorityLow])
		if total > len(list) {
			sec.Notes = append(sec.Notes, fmt.Sprintf("The %d most urgent are listed.", len(list)))
		}
	}
	return sec, nil
}
