package report

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/bdc-analytics/bdc/pkg/kpi"
)

// trend is KPIs evaluated at every step of the period, as a table and a line chart.
func (bd *build) trend(ctx context.Context, s SectionSpec) (Section, error) {
	groups, err := groupSelectors(s.KPIs)
	if err != nil {
		return Section{}, err
	}
	instants := bd.p.trendInstants(bd.per, bd.loc)
	rows, err := bd.kpiRows(ctx, groups, instants, bd.per.days())
	if err != nil {
		return Section{}, err
	}
	t := &Table{Columns: []Column{{Name: "time", Title: "Time"}}}
	chart := Chart{Title: s.Title, Kind: ChartLine, X: "time"}
	units := map[string]bool{}
	var defs []kpi.Definition
	for i, r := range rows {
		col := fmt.Sprintf("kpi_%d", i+1)
		t.Columns = append(t.Columns, Column{Name: col, Title: r.title()})
		chart.Series = append(chart.Series, Series{Column: col, Title: r.title()})
		units[kpiUnit(r.def.Unit)] = true
		defs = append(defs, r.def)
	}
	if len(units) == 1 {
		for u := range units {
			chart.Unit = u
		}
	}
	for i, at := range instants {
		row := []Cell{instant(at, UnitTime, bd.loc)}
		for _, r := range rows {
			row = append(row, number(r.values[i], kpiUnit(r.def.Unit)))
		}
		t.Rows = append(t.Rows, row)
	}
	sec := Section{Title: s.Title, Table: t}
	if len(rows) > 0 {
		sec.Charts = []Chart{chart}
	} else {
		sec.Notes = append(sec.Notes, "No KPI value matched the selectors.")
	}
	var moves []string
	for _, r := range rows {
		first, last := firstLast(r.values)
		if math.IsNaN(first) {
			continue
		}
		unit := kpiUnit(r.def.Unit)
		moves = append(moves, fmt.Sprintf("%s went from %s to %s", r.title(), FormatValue(first, unit), FormatValue(last, unit)))
	}
	if len(moves) > 0 {
		sec.Summary = strings.Join(moves, "; ") + fmt.Sprintf(" (%d steps, from %s).", len(instants), bd.kpis.name())
	}
	sec.Notes = append(sec.Notes, bd.kpiFilterNotes(defs)...)
	return sec, nil
}

// firstLast returns the first and last values that are not missing.
func firstLast(v []float64) (float64, float64) {
	first, last := math.NaN(), math.NaN()
	for _, x := range v {
		if math.IsNaN(x) {
			continue
		}
		if math.IsNaN(first) {
			first = x
		}
		last = x
	}
	return first, last
}
