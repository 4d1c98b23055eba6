package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

//go:embed report.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))

// htmlSection is a section with its charts drawn and its cells styled.
type htmlSection struct {
	Section
	SVGs []template.HTML
	Rows [][]htmlCell
}

type htmlCell struct {
	Text    string
	Class   string
	Style   template.CSS
	Numeric bool
}

// writeHTML writes one self-contained page: inline CSS, charts as inline SVG, no external
// reference (no script, font, image or style sheet is fetched).
func writeHTML(doc *Document, w io.Writer) error {
	loc := doc.Location()
	data := struct {
		Doc       *Document
		Generated string
		Filters   string
		Bounds    string
		Sections  []htmlSection
	}{Doc: doc, Generated: doc.GeneratedAt.In(loc).Format("2 January 2006 15:04 MST"), Filters: filterText(doc), Bounds: periodText(doc)}
	for _, s := range doc.Sections {
		hs := htmlSection{Section: s}
		for _, c := range s.Charts {
			svg, err := chartSVG(c, s.Table, loc)
			if err != nil {
				return err
			}
			hs.SVGs = append(hs.SVGs, template.HTML(svg)) //nolint:gosec // G203: SVG drawn by gonum/plot from the document, which escapes its text
		}
		if s.Table != nil {
			shown := s.Table.shown()
			hs.Table = shown
			for _, row := range shown.Rows {
				var cells []htmlCell
				for j, c := range row {
					hc := htmlCell{Text: c.Text, Class: c.Tone}
					_, isNum := c.Value.(float64)
					_, isInt := c.Value.(int64)
					hc.Numeric = (isNum || isInt) && c.Unit != UnitID
					if shown.Columns[j].Heat {
						if v := c.Float(); !math.IsNaN(v) {
							hc.Style = template.CSS(heatStyle(v)) //nolint:gosec // G203: a colour computed here
						}
					}
					cells = append(cells, hc)
				}
				hs.Rows = append(hs.Rows, cells)
			}
		}
		data.Sections = append(data.Sections, hs)
	}
	return htmlTemplate.Execute(w, data)
}

// heatStyle shades a 0–1 value from white to the report's blue.
func heatStyle(v float64) string {
	v = math.Max(0, math.Min(1, v))
	r, g, b := heatColor(v)
	fg := "#1b1b1b"
	if v > 0.6 {
		fg = "#ffffff"
	}
	return fmt.Sprintf("background:#%02x%02x%02x;color:%s", r, g, b, fg)
}

// heatColor interpolates from white (0) to dark blue (1).
func heatColor(v float64) (r, g, b uint8) {
	lerp := func(a, b float64) uint8 { return uint8(math.Round(a + (b-a)*v)) }
	return lerp(255, 0x1f), lerp(255, 0x5f), lerp(255, 0xa8)
}

// filterText says which population the report covers.
func filterText(doc *Document) string {
	f := doc.Filters
	var parts []string
	add := func(name string, vals []string) {
		if len(vals) > 0 {
			parts = append(parts, name+": "+strings.Join(vals, ", "))
		}
	}
	add("region", f.Region)
	add("acquisition channel", f.AcquisitionChannel)
	add("gender", f.Gender)
	add("age band", f.AgeBand)
	var trainers []string
	for _, id := range f.TrainerID {
		trainers = append(trainers, fmt.Sprint(id))
	}
	add("trainer", trainers)
	add("appointment channel", f.AppointmentChannel)
	if len(parts) == 0 {
		return "all beneficiaries"
	}
	return strings.Join(parts, "; ")
}

// periodText is the period's bounds as a reader sees them.
func periodText(doc *Document) string {
	loc := doc.Location()
	return doc.Period.From.In(loc).Format("2 Jan 2006 15:04") + " – " + doc.Period.To.In(loc).Format("2 Jan 2006 15:04") + " (" + doc.TimeZone + ")"
}
