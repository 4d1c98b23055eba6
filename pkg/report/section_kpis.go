package report

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bdc-analytics/bdc/pkg/kpi"
)

// kpiGroup is the selectors of one KPI in a section, evaluated together.
type kpiGroup struct {
	def  kpi.Definition
	sels []Selector
}

// groupSelectors parses a section's selectors and groups them by KPI, in order of appearance.
func groupSelectors(specs []string) ([]*kpiGroup, error) {
	var groups []*kpiGroup
	byName := map[string]*kpiGroup{}
	for _, s := range specs {
		sel, err := ParseSelector(s)
		if err != nil {
			return nil, err
		}
		g := byName[sel.Def.Name]
		if g == nil {
			g = &kpiGroup{def: sel.Def}
			byName[sel.Def.Name] = g
			groups = append(groups, g)
		}
		g.sels = append(g.sels, sel)
	}
	return groups, nil
}

// kpiRow is one label set of a KPI that a selector picked.
type kpiRow struct {
	def    kpi.Definition
	labels []string
	// values has one value per instant (NaN where missing).
	values []float64
}

// title and selector name the row for a reader and for an analyst.
func (r kpiRow) title() string { return kpiTitle(r.def.Name, r.def.Labels, r.labels) }

func (r kpiRow) selector() string {
	var parts []string
	for i, l := range r.def.Labels {
		parts = append(parts, l+"="+strconv.Quote(r.labels[i]))
	}
	if len(parts) == 0 {
		return r.def.Name
	}
	return r.def.Name + "{" + strings.Join(parts, ",") + "}"
}

// kpiRows evaluates the groups at the instants and returns the rows the selectors pick, each
// label set once, in selector order then the KPI's order. An "auto" window is resolved at the
// last instant for a period of days days.
func (bd *build) kpiRows(ctx context.Context, groups []*kpiGroup, instants []time.Time, days float64) ([]kpiRow, error) {
	var rows []kpiRow
	for _, g := range groups {
		pts, err := bd.kpis.at(ctx, g.def, instants)
		if err != nil {
			return nil, err
		}
		last := pts[len(pts)-1]
		samples := make([]kpi.Sample, len(last))
		for i, p := range last {
			samples[i] = kpi.Sample{Labels: p.labels}
		}
		window := autoWindow(g.def, samples, days)
		// Every label set seen at any instant, in the order first seen.
		var keys []string
		sets := map[string][]string{}
		for _, ps := range pts {
			for _, p := range ps {
				k := strings.Join(p.labels, "\x00")
				if _, ok := sets[k]; !ok {
					sets[k] = p.labels
					keys = append(keys, k)
				}
			}
		}
		taken := map[string]bool{}
		for _, sel := range g.sels {
			for _, k := range keys {
				if taken[k] || !sel.matches(sets[k], window) {
					continue
				}
				taken[k] = true
				row := kpiRow{def: g.def, labels: sets[k], values: make([]float64, len(instants))}
				for i, ps := range pts {
					row.values[i] = math.NaN()
					for _, p := range ps {
						if strings.Join(p.labels, "\x00") == k {
							row.values[i] = p.value
						}
					}
				}
				rows = append(rows, row)
			}
		}
	}
	return rows, nil
}

// kpiTable is the KPIs at the end of the period against the end of the previous period.
func (bd *build) kpiTable(ctx context.Context, s SectionSpec) (Section, error) {
	groups, err := groupSelectors(s.KPIs)
	if err != nil {
		return Section{}, err
	}
	rows, err := bd.kpiRows(ctx, groups, []time.Time{bd.per.PreviousTo, bd.per.To}, bd.per.days())
	if err != nil {
		return Section{}, err
	}
	t := &Table{Columns: []Column{
		{Name: "kpi", Title: "KPI"},
		{Name: "current", Title: "This period"},
		{Name: "previous", Title: "Previous period"},
		{Name: "change", Title: "Change"},
		{Name: "metric", Title: "Metric", Detail: true},
	}}
	var defs []kpi.Definition
	for _, r := range rows {
		unit := kpiUnit(r.def.Unit)
		cur, prev := r.values[1], r.values[0]
		c := change(cur, prev, unit)
		changeCell := number(c.Value, c.Unit)
		changeCell.Text, changeCell.Tone = c.Text, tone(c, kpiInfos[r.def.Name].Better)
		t.Rows = append(t.Rows, []Cell{text(r.title()), number(cur, unit), number(prev, unit), changeCell, text(r.selector())})
		defs = append(defs, r.def)
	}
	sec := Section{Title: s.Title, Table: t, Notes: bd.kpiFilterNotes(defs),
		Summary: fmt.Sprintf("Each KPI at the end of the period (%s) against the end of the previous one (%s); windows count back from those instants.",
			bd.per.To.In(bd.loc).Format("2 Jan 2006 15:04"), bd.per.PreviousTo.In(bd.loc).Format("2 Jan 2006 15:04"))}
	if len(rows) == 0 {
		sec.Notes = append(sec.Notes, "No KPI value matched the selectors.")
	}
	return sec, nil
}
