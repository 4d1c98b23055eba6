package report

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// XLSX layout: a summary sheet, then one sheet per section: its title, summary and notes above
// the table, whose header is on tableRow; the charts are native Excel charts over the table's
// cells, to the right of it.
const (
	summarySheet = "Summary"
	tableRow     = 4
)

// numberFormats are the spreadsheet formats of the units (custom formats, Excel's syntax).
var numberFormats = map[string]string{
	UnitCount:    "#,##0",
	UnitNumber:   "#,##0.00",
	UnitRatio:    "0.0%",
	UnitPercent:  `0.0" %"`,
	UnitSeconds:  `#,##0.0" s"`,
	UnitCurrency: `#,##0.00" €"`,
	UnitScore:    "0.00",
	UnitTime:     "yyyy-mm-dd hh:mm",
	UnitDate:     "yyyy-mm-dd",
	UnitID:       "0",
}

// writeXLSX writes the workbook; values are numbers, times and text as typed in the document,
// so a spreadsheet computes with them.
func writeXLSX(doc *Document, w io.Writer) error {
	x := excelize.NewFile()
	defer x.Close()
	st, err := newXLSXStyles(x)
	if err != nil {
		return err
	}
	if err := x.SetSheetName("Sheet1", summarySheet); err != nil {
		return err
	}
	names := sheetNames(doc)
	if err := summary(x, doc, names, st); err != nil {
		return err
	}
	for i, s := range doc.Sections {
		if err := sectionSheet(x, doc, s, names[i], st); err != nil {
			return fmt.Errorf("sheet %s: %w", names[i], err)
		}
	}
	x.SetActiveSheet(0)
	_, err = x.WriteTo(w)
	return err
}

type xlsxStyles struct {
	title, bold, header, note int
	units                     map[string]int
	tones                     map[string]map[string]int // unit → tone → style
}

func newXLSXStyles(x *excelize.File) (*xlsxStyles, error) {
	st := &xlsxStyles{units: map[string]int{}, tones: map[string]map[string]int{}}
	var err error
	mk := func(s *excelize.Style) int {
		if err != nil {
			return 0
		}
		var id int
		id, err = x.NewStyle(s)
		return id
	}
	st.title = mk(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 16, Color: "1F5FA8"}})
	st.bold = mk(&excelize.Style{Font: &excelize.Font{Bold: true}})
	st.header = mk(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"EEF2F6"}},
		Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}, Border: []excelize.Border{{Type: "bottom", Color: "D5DBE1", Style: 2}}})
	st.note = mk(&excelize.Style{Font: &excelize.Font{Italic: true, Color: "5D6D7E"}})
	for unit, format := range numberFormats {
		f := format
		st.units[unit] = mk(&excelize.Style{CustomNumFmt: &f})
		st.tones[unit] = map[string]int{
			"good": mk(&excelize.Style{CustomNumFmt: &f, Font: &excelize.Font{Bold: true, Color: "2E7D32"}}),
			"bad":  mk(&excelize.Style{CustomNumFmt: &f, Font: &excelize.Font{Bold: true, Color: "C0392B"}}),
		}
	}
	return st, err
}

// sheetNames gives each section a sheet name: its number and title, within Excel's 31
// characters and without the characters Excel refuses.
func sheetNames(doc *Document) []string {
	clean := strings.NewReplacer(":", " ", "\\", " ", "/", " ", "?", " ", "*", " ", "[", "(", "]", ")", "'", " ")
	out := make([]string, len(doc.Sections))
	for i, s := range doc.Sections {
		name := fmt.Sprintf("%d %s", i+1, clean.Replace(s.Title))
		for utf8.RuneCountInString(name) > 31 {
			r := []rune(name)
			name = string(r[:31])
		}
		out[i] = strings.TrimSpace(name)
	}
	return out
}

func summary(x *excelize.File, doc *Document, names []string, st *xlsxStyles) error {
	sh := summarySheet
	loc := doc.Location()
	rows := [][]any{
		{doc.Title},
		{doc.Period.Label},
		{"Period", periodText(doc)},
		{"Population", filterText(doc)},
		{"KPIs from", doc.KPISource},
		{"Generated", doc.GeneratedAt.In(loc).Format("2006-01-02 15:04 MST")},
		{"Template", doc.Template},
		{doc.Description},
		{},
		{"Sheet", "Section", "Summary"},
	}
	for i, s := range doc.Sections {
		rows = append(rows, []any{names[i], s.Title, s.Summary})
	}
	for r, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, r+1)
		if err := x.SetSheetRow(sh, cell, &row); err != nil {
			return err
		}
	}
	_ = x.SetCellStyle(sh, "A1", "A1", st.title)
	_ = x.SetCellStyle(sh, "A2", "A2", st.bold)
	_ = x.SetCellStyle(sh, "A10", "C10", st.header)
	_ = x.SetColWidth(sh, "A", "A", 24)
	_ = x.SetColWidth(sh, "B", "B", 34)
	_ = x.SetColWidth(sh, "C", "C", 100)
	return nil
}

func sectionSheet(x *excelize.File, doc *Document, s Section, sh string, st *xlsxStyles) error {
	if _, err := x.NewSheet(sh); err != nil {
		return err
	}
	loc := doc.Location()
	if err := x.SetCellValue(sh, "A1", s.Title); err != nil {
		return err
	}
	_ = x.SetCellStyle(sh, "A1", "A1", st.title)
	_ = x.SetCellValue(sh, "A2", s.Summary)
	if s.Table == nil {
		for i, p := range s.Paragraphs {
			cell, _ := excelize.CoordinatesToCellName(1, tableRow+i)
			_ = x.SetCellValue(sh, cell, p)
		}
		return notes(x, sh, s.Notes, tableRow+len(s.Paragraphs)+1, st)
	}
	t := s.Table
	for j, c := range t.Columns {
		cell, _ := excelize.CoordinatesToCellName(j+1, tableRow)
		_ = x.SetCellValue(sh, cell, c.Title)
		width := max(10, min(60, float64(utf8.RuneCountInString(c.Title))+2))
		for _, row := range t.Rows {
			width = max(width, min(60, float64(utf8.RuneCountInString(row[j].Text))+2))
		}
		col, _ := excelize.ColumnNumberToName(j + 1)
		_ = x.SetColWidth(sh, col, col, width)
	}
	last, _ := excelize.CoordinatesToCellName(len(t.Columns), tableRow)
	_ = x.SetCellStyle(sh, "A4", last, st.header)
	for i, row := range t.Rows {
		for j, c := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, tableRow+1+i)
			if err := setCell(x, sh, cell, c, loc, st); err != nil {
				return err
			}
		}
	}
	if err := heat(x, sh, t); err != nil {
		return err
	}
	if err := notes(x, sh, s.Notes, tableRow+len(t.Rows)+2, st); err != nil {
		return err
	}
	for k, c := range s.Charts {
		if err := addChart(x, sh, t, c, k); err != nil {
			return err
		}
	}
	return nil
}

// setCell writes a typed value with its unit's format; times are written as the wall clock of
// the report's zone (spreadsheets have no zones).
func setCell(x *excelize.File, sh, cell string, c Cell, loc *time.Location, st *xlsxStyles) error {
	v := c.Value
	switch tv := c.Value.(type) {
	case nil:
		return nil
	case time.Time:
		l := tv.In(loc)
		v = time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
	case float64, int64, string:
	default:
		v = c.Text
	}
	if err := x.SetCellValue(sh, cell, v); err != nil {
		return err
	}
	style, ok := st.units[c.Unit]
	if c.Tone != "" {
		style, ok = st.tones[c.Unit][c.Tone]
	}
	if ok {
		return x.SetCellStyle(sh, cell, cell, style)
	}
	return nil
}

// heat shades the heat columns with a colour scale, as a retention matrix reads.
func heat(x *excelize.File, sh string, t *Table) error {
	for j, c := range t.Columns {
		if !c.Heat || len(t.Rows) == 0 {
			continue
		}
		from, _ := excelize.CoordinatesToCellName(j+1, tableRow+1)
		to, _ := excelize.CoordinatesToCellName(j+1, tableRow+len(t.Rows))
		err := x.SetConditionalFormat(sh, from+":"+to, []excelize.ConditionalFormatOptions{{
			Type: "2_color_scale", Criteria: "=", MinType: "num", MaxType: "num", MinValue: "0", MaxValue: "1",
			MinColor: "#FFFFFF", MaxColor: "#1F5FA8",
		}})
		if err != nil {
			return err
		}
	}
	return nil
}

func notes(x *excelize.File, sh string, ns []string, row int, st *xlsxStyles) error {
	for i, n := range ns {
		cell, _ := excelize.CoordinatesToCellName(1, row+i)
		if err := x.SetCellValue(sh, cell, n); err != nil {
			return err
		}
		_ = x.SetCellStyle(sh, cell, cell, st.note)
	}
	return nil
}

// addChart adds chart c over the table's columns, to the right of the table.
func addChart(x *excelize.File, sh string, t *Table, c Chart, k int) error {
	xi := t.column(c.X)
	if xi < 0 || len(t.Rows) == 0 {
		return nil
	}
	ref := func(col int, header bool) string {
		name, _ := excelize.ColumnNumberToName(col + 1)
		if header {
			return fmt.Sprintf("'%s'!$%s$%d", sh, name, tableRow)
		}
		return fmt.Sprintf("'%s'!$%s$%d:$%s$%d", sh, name, tableRow+1, name, tableRow+len(t.Rows))
	}
	var series []excelize.ChartSeries
	add := func(column string, dashed bool, color string) {
		i := t.column(column)
		if i < 0 {
			return
		}
		s := excelize.ChartSeries{Name: ref(i, true), Categories: ref(xi, false), Values: ref(i, false)}
		if c.Kind == ChartLine {
			s.Line = excelize.LineOptions{Smooth: false, Width: 1.75}
			s.Marker = excelize.ChartMarker{Symbol: "none"}
			if dashed {
				s.Line.Dash = excelize.LineDashDash
			}
		}
		if color != "" {
			s.Fill = excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{color}}
			s.Line.Fill = excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{color}}
		}
		series = append(series, s)
	}
	for i, s := range c.Series {
		col := seriesColor(i)
		hex := fmt.Sprintf("%02X%02X%02X", col.R, col.G, col.B)
		add(s.Column, s.Dashed, hex)
		for _, b := range s.Bands {
			light := fmt.Sprintf("%02X%02X%02X", 255-(255-int(col.R))/3, 255-(255-int(col.G))/3, 255-(255-int(col.B))/3)
			add(b.Lower, true, light)
			add(b.Upper, true, light)
		}
	}
	kind := excelize.Line
	if c.Kind == ChartBar {
		kind = excelize.Col
	}
	anchor, _ := excelize.CoordinatesToCellName(len(t.Columns)+2, tableRow+k*22)
	chart := &excelize.Chart{
		Type:   kind,
		Series: series,
		Title:  excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: c.Title}}},
		Legend: excelize.ChartLegend{Position: "bottom"},
		Format: excelize.GraphicOptions{ScaleX: 1.6, ScaleY: 1.4},
		PlotArea: excelize.ChartPlotArea{
			ShowVal: false,
		},
		ShowBlanksAs: "gap",
	}
	if format, ok := numberFormats[c.Unit]; ok {
		chart.YAxis.NumFmt = excelize.ChartNumFmt{CustomNumFmt: format}
	}
	return x.AddChart(sh, anchor, chart)
}
