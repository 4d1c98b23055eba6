package report

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
)

// Document is a built report: what every renderer draws, and what the JSON format holds.
type Document struct {
	// Title is the report's title; Template the template it was built from.
	Title       string `json:"title"`
	Template    string `json:"template"`
	Description string `json:"description,omitempty"`
	// Period is the reported period and the one it is compared with.
	Period Period `json:"period"`
	// TimeZone is the IANA zone of the period's days and of the times shown.
	TimeZone string `json:"timezone"`
	// Filters restrict the population of beneficiaries; empty means the whole platform.
	Filters analytics.Filters `json:"filters,omitzero"`
	// KPISource says where KPI values came from: "postgresql" or "prometheus".
	KPISource string `json:"kpi_source"`
	// GeneratedAt is when the document was built.
	GeneratedAt time.Time `json:"generated_at"`
	Sections    []Section `json:"sections"`

	loc *time.Location
}

// Location is the document's time zone.
func (d *Document) Location() *time.Location {
	if d.loc == nil {
		loc, err := time.LoadLocation(d.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		d.loc = loc
	}
	return d.loc
}

// Period is a reporting period [From, To) and the previous period of the same kind it is
// compared with.
type Period struct {
	// Kind is day, week, month, quarter or custom.
	Kind string `json:"kind"`
	// Label names the period for a reader ("Week 22, 25–31 May 2026").
	Label        string    `json:"label"`
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	PreviousFrom time.Time `json:"previous_from"`
	PreviousTo   time.Time `json:"previous_to"`
}

// Section is one part of a report. Data sections hold one table and charts drawn from its
// columns; a text section holds paragraphs only.
type Section struct {
	// Kind is the catalogue entry (kpis, trend, cohorts, ...); Name a short unique identifier
	// used for sheet and file names.
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	Title string `json:"title"`
	// Summary is the section's takeaway in a sentence, shown under its heading.
	Summary string `json:"summary,omitempty"`
	// Paragraphs are free text (text sections, explanations).
	Paragraphs []string `json:"paragraphs,omitempty"`
	Table      *Table   `json:"table,omitempty"`
	Charts     []Chart  `json:"charts,omitempty"`
	// Notes qualify the figures (a filter that does not apply, a model missing).
	Notes []string `json:"notes,omitempty"`
}

// Table is a section's data: typed cells with their display text.
type Table struct {
	Columns []Column `json:"columns"`
	Rows    [][]Cell `json:"rows"`
	// ShowFrom is the first row the PDF and HTML list (a forecast lists its forecast days; the
	// history before them is drawn in the chart); XLSX, CSV and JSON hold every row.
	ShowFrom int `json:"show_from,omitempty"`
}

// Column is a table column. Heat asks renderers to shade its numeric cells by value (0 to 1),
// as in a retention matrix. Detail columns (a KPI's metric selector) are for analysts: the PDF
// and HTML leave them out, XLSX, CSV and JSON keep them.
type Column struct {
	Name   string `json:"name"`
	Title  string `json:"title"`
	Heat   bool   `json:"heat,omitempty"`
	Detail bool   `json:"detail,omitempty"`
}

// shown is the part of the table the PDF and HTML show: the rows from ShowFrom, without the
// detail columns.
func (t *Table) shown() *Table {
	out := &Table{}
	var keep []int
	for j, c := range t.Columns {
		if !c.Detail {
			keep = append(keep, j)
			out.Columns = append(out.Columns, c)
		}
	}
	for _, row := range t.Rows[min(t.ShowFrom, len(t.Rows)):] {
		r := make([]Cell, len(keep))
		for k, j := range keep {
			r[k] = row[j]
		}
		out.Rows = append(out.Rows, r)
	}
	return out
}

// Cell is one value: Value is typed (float64, int64, string, time.Time or nil when missing),
// Text is how a reader sees it, Unit how a spreadsheet formats it, Tone whether a change is good
// or bad news ("good", "bad" or empty).
type Cell struct {
	Value any    `json:"value"`
	Text  string `json:"text"`
	Unit  string `json:"unit,omitempty"`
	Tone  string `json:"tone,omitempty"`
}

// Float returns the cell's value as a number, NaN when it is not one.
func (c Cell) Float() float64 {
	switch v := c.Value.(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	case int:
		return float64(v)
	}
	return math.NaN()
}

// Chart kinds.
const (
	ChartLine = "line"
	ChartBar  = "bar"
)

// Chart draws columns of its section's table: X is the column of the horizontal axis (times for
// a line chart, categories for a bar chart), each series a numeric column, with an optional
// interval band between two more columns.
type Chart struct {
	Name   string   `json:"name"`
	Title  string   `json:"title"`
	Kind   string   `json:"kind"`
	X      string   `json:"x"`
	Series []Series `json:"series"`
	// YTitle names the vertical axis; Unit formats its ticks like the cells.
	YTitle string `json:"y_title,omitempty"`
	Unit   string `json:"unit,omitempty"`
}

// Series is a column drawn as a line or bars, with the intervals drawn as bands around it.
type Series struct {
	Column string `json:"column"`
	Title  string `json:"title"`
	Bands  []Band `json:"bands,omitempty"`
	// Dashed draws the line dashed (forecasts).
	Dashed bool `json:"dashed,omitempty"`
}

// Band is an interval: the columns of its lower and upper bounds.
type Band struct {
	Title string `json:"title"`
	Lower string `json:"lower"`
	Upper string `json:"upper"`
}

// column returns the index of the named column, or -1.
func (t *Table) column(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// floats returns a numeric column (NaN where missing).
func (t *Table) floats(name string) []float64 {
	i := t.column(name)
	out := make([]float64, len(t.Rows))
	for r, row := range t.Rows {
		out[r] = math.NaN()
		if i >= 0 {
			out[r] = row[i].Float()
		}
	}
	return out
}

// MarshalJSON writes a missing or non-finite number as null (JSON has no NaN).
func (c Cell) MarshalJSON() ([]byte, error) {
	type plain Cell
	p := plain(c)
	if f, ok := p.Value.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		p.Value = nil
	}
	return json.Marshal(p)
}

// UnmarshalJSON reads a cell back; numbers become float64, RFC 3339 strings of a time unit
// become time.Time.
func (c *Cell) UnmarshalJSON(data []byte) error {
	type plain Cell
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	if s, ok := p.Value.(string); ok && (p.Unit == UnitTime || p.Unit == UnitDate) {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			p.Value = t
		}
	}
	*c = Cell(p)
	return nil
}

// text is a cell of text.
func text(s string) Cell { return Cell{Value: s, Text: s} }

// integer is a cell of a count.
func integer(n int64) Cell {
	return Cell{Value: n, Text: FormatValue(float64(n), UnitCount), Unit: UnitCount}
}

// number is a cell of a value in unit; NaN is a missing value.
func number(v float64, unit string) Cell {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Cell{Text: "–", Unit: unit}
	}
	return Cell{Value: v, Text: FormatValue(v, unit), Unit: unit}
}

// instant is a cell of a time, shown in loc; date cells show the day only.
func instant(t time.Time, unit string, loc *time.Location) Cell {
	layout := "2006-01-02 15:04"
	if unit == UnitDate {
		layout = "2006-01-02"
	}
	return Cell{Value: t, Text: t.In(loc).Format(layout), Unit: unit}
}

// id is a cell of a row id (an appointment, a beneficiary).
func id(n int64) Cell {
	return Cell{Value: n, Text: strconv.FormatInt(n, 10), Unit: UnitID}
}
