package report

import (
	"bytes"
	"io"
	"math"
	"strings"

	"codeberg.org/go-fonts/liberation/liberationsansbold"
	"codeberg.org/go-fonts/liberation/liberationsansregular"
	"codeberg.org/go-pdf/fpdf"
)

// PDF layout, in millimetres on A4 portrait. Text is set in Liberation Sans, embedded (as
// TrueType subsets) from the Go module that ships it, so every character of UTF-8 text ("Bilan de
// compétences", "→", "€") comes out right without any font installed.
const (
	pdfMargin      = 15.0
	pdfBottom      = 18.0
	pdfLine        = 4.2 // body line height
	pdfCellPad     = 1.5
	pdfTableFont   = 8.0
	pdfTableLine   = 3.6
	pdfChartHeight = 170 * 7.5 / 17 // the charts' aspect ratio at the text width
)

var (
	accent = [3]int{0x1f, 0x5f, 0xa8}
	muted  = [3]int{0x5d, 0x6d, 0x7e}
	ink    = [3]int{0x1b, 0x1b, 0x1b}
	good   = [3]int{0x2e, 0x7d, 0x32}
	bad    = [3]int{0xc0, 0x39, 0x2b}
)

type pdfDoc struct {
	*fpdf.Fpdf
	doc       *Document
	width     float64 // text width
	pageBreak float64 // y past which content goes to the next page
}

// writePDF builds the PDF natively: text, tables and rules drawn with fpdf, charts drawn by
// gonum/plot as PNG at 200 dpi and placed at the text width.
func writePDF(doc *Document, w io.Writer) error {
	f := fpdf.New("P", "mm", "A4", "")
	f.AddUTF8FontFromBytes("sans", "", liberationsansregular.TTF)
	f.AddUTF8FontFromBytes("sans", "B", liberationsansbold.TTF)
	f.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	f.SetAutoPageBreak(true, pdfBottom)
	f.SetTitle(doc.Title+" – "+doc.Period.Label, true)
	f.SetAuthor("BDC Analytics", true)
	f.SetCreator("bdc-reporter", true)
	f.SetCreationDate(doc.GeneratedAt)
	f.SetModificationDate(doc.GeneratedAt)
	f.SetCatalogSort(true)
	f.AliasNbPages("{nb}")
	pw, ph := f.GetPageSize()
	p := &pdfDoc{Fpdf: f, doc: doc, width: pw - 2*pdfMargin, pageBreak: ph - pdfBottom}
	f.SetFooterFunc(func() {
		f.SetY(-12)
		p.font("", 7.5, muted)
		f.CellFormat(p.width*0.8, 5, "BDC Analytics · "+doc.Title+" · "+doc.Period.Label, "", 0, "L", false, 0, "")
		f.CellFormat(p.width*0.2, 5, "Page "+itoa(f.PageNo())+" of {nb}", "", 0, "R", false, 0, "")
	})
	f.AddPage()
	p.cover()
	for _, s := range doc.Sections {
		if err := p.section(s); err != nil {
			return err
		}
	}
	if err := f.Error(); err != nil {
		return err
	}
	return f.Output(w)
}

func itoa(n int) string { return FormatValue(float64(n), UnitID) }

func (p *pdfDoc) font(style string, size float64, color [3]int) {
	p.SetFont("sans", style, size)
	p.SetTextColor(color[0], color[1], color[2])
}

// cover writes the report's heading: title, period, what it covers.
func (p *pdfDoc) cover() {
	d := p.doc
	p.font("B", 22, ink)
	p.MultiCell(p.width, 9, d.Title, "", "L", false)
	p.font("", 14, accent)
	p.MultiCell(p.width, 7, d.Period.Label, "", "L", false)
	p.Ln(1)
	p.font("", 8.5, muted)
	p.MultiCell(p.width, 4, periodText(d)+" · compared with the previous period · population: "+filterText(d)+
		" · KPIs from "+d.KPISource+" · generated "+d.GeneratedAt.In(d.Location()).Format("2 January 2006 15:04 MST"), "", "L", false)
	p.rule(accent, 0.8)
	if d.Description != "" {
		p.font("", 10.5, ink)
		p.MultiCell(p.width, 5, d.Description, "", "L", false)
		p.Ln(2)
	}
}

func (p *pdfDoc) rule(color [3]int, width float64) {
	p.Ln(2)
	p.SetDrawColor(color[0], color[1], color[2])
	p.SetLineWidth(width)
	y := p.GetY()
	p.Line(pdfMargin, y, pdfMargin+p.width, y)
	p.Ln(3)
}

// need starts a new page unless h millimetres remain on this one.
func (p *pdfDoc) need(h float64) {
	if p.GetY()+h > p.pageBreak {
		p.AddPage()
	}
}

func (p *pdfDoc) section(s Section) error {
	// Keep the heading with what follows: the first chart, or the start of the table.
	if len(s.Charts) > 0 {
		p.need(pdfChartHeight + 30)
	} else {
		p.need(45)
	}
	p.Ln(4)
	p.font("B", 14, accent)
	p.Bookmark(s.Title, 0, -1)
	p.MultiCell(p.width, 6.5, s.Title, "", "L", false)
	p.SetDrawColor(0xd5, 0xdb, 0xe1)
	p.SetLineWidth(0.3)
	y := p.GetY() + 0.5
	p.Line(pdfMargin, y, pdfMargin+p.width, y)
	p.Ln(2.5)
	if s.Summary != "" {
		p.font("B", 10, ink)
		p.MultiCell(p.width, pdfLine+0.6, s.Summary, "", "L", false)
		p.Ln(1.5)
	}
	p.font("", 10, ink)
	for _, para := range s.Paragraphs {
		p.MultiCell(p.width, pdfLine+0.6, para, "", "L", false)
		p.Ln(1.5)
	}
	for _, c := range s.Charts {
		png, err := chartPNG(c, s.Table, p.doc.Location())
		if err != nil {
			return err
		}
		name := "chart-" + c.Name
		p.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(png))
		p.need(pdfChartHeight + 2)
		p.ImageOptions(name, pdfMargin, p.GetY(), p.width, pdfChartHeight, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		p.SetY(p.GetY() + pdfChartHeight + 2)
	}
	if s.Table != nil && len(s.Table.Rows) > 0 {
		p.table(s.Table.shown())
	}
	if len(s.Notes) > 0 {
		p.Ln(1)
		p.font("", 8, muted)
		for _, n := range s.Notes {
			p.MultiCell(p.width, 3.8, "• "+n, "", "L", false)
		}
	}
	return nil
}

// table draws a table at the text width: columns as wide as their content (long texts wrap),
// the header repeated on every page the table runs onto.
func (p *pdfDoc) table(t *Table) {
	p.font("", pdfTableFont, ink)
	n := len(t.Columns)
	widths := make([]float64, n)
	numeric := make([]bool, n)
	// Each column's natural width (its longest line) and least width (its longest word), then
	// the text width shared out: wide columns give way first, down to their longest word.
	natural, least := make([]float64, n), make([]float64, n)
	word := func(s string) float64 {
		w := 0.0
		for _, f := range strings.Fields(s) {
			w = math.Max(w, p.GetStringWidth(f))
		}
		return w
	}
	for j, c := range t.Columns {
		p.SetFont("sans", "B", pdfTableFont)
		natural[j], least[j] = p.GetStringWidth(c.Title), word(c.Title)
		p.SetFont("sans", "", pdfTableFont)
		numeric[j] = true
		for _, row := range t.Rows {
			natural[j] = math.Max(natural[j], p.GetStringWidth(row[j].Text))
			least[j] = math.Max(least[j], word(row[j].Text))
			switch row[j].Value.(type) {
			case float64, int64, nil:
			default:
				numeric[j] = false
			}
			if row[j].Unit == UnitID {
				numeric[j] = false
			}
		}
		least[j] = math.Min(least[j], p.width*0.3) + 2*pdfCellPad + 0.5
		natural[j] = math.Min(math.Max(natural[j]+2*pdfCellPad+0.5, least[j]), p.width*0.6)
	}
	sumN, sumL := 0.0, 0.0
	for j := range n {
		sumN, sumL = sumN+natural[j], sumL+least[j]
	}
	for j := range n {
		switch {
		case sumN <= p.width:
			widths[j] = natural[j] * p.width / sumN
		case sumL >= p.width:
			widths[j] = least[j] * p.width / sumL
		default:
			widths[j] = least[j] + (natural[j]-least[j])*(p.width-sumL)/(sumN-sumL)
		}
	}
	header := func() {
		p.SetFont("sans", "B", pdfTableFont)
		p.SetTextColor(ink[0], ink[1], ink[2])
		lines := make([][]string, n)
		h := 0.0
		for j, c := range t.Columns {
			lines[j] = p.SplitText(c.Title, widths[j]-2*pdfCellPad)
			h = math.Max(h, float64(len(lines[j]))*pdfTableLine+2*pdfCellPad)
		}
		p.need(h + 2*pdfTableLine)
		x, y := pdfMargin, p.GetY()
		p.SetFillColor(0xee, 0xf2, 0xf6)
		p.Rect(x, y, p.width, h, "F")
		for j := range t.Columns {
			p.cellLines(x, y, widths[j], lines[j], numeric[j])
			x += widths[j]
		}
		p.SetDrawColor(0xd5, 0xdb, 0xe1)
		p.SetLineWidth(0.4)
		p.Line(pdfMargin, y+h, pdfMargin+p.width, y+h)
		p.SetY(y + h)
	}
	header()
	for _, row := range t.Rows {
		p.SetFont("sans", "", pdfTableFont)
		lines := make([][]string, n)
		h := 0.0
		for j, c := range row {
			lines[j] = p.SplitText(c.Text, widths[j]-2*pdfCellPad)
			h = math.Max(h, float64(max(1, len(lines[j])))*pdfTableLine+2*pdfCellPad)
		}
		if p.GetY()+h > p.pageBreak {
			p.AddPage()
			header()
			p.SetFont("sans", "", pdfTableFont)
		}
		x, y := pdfMargin, p.GetY()
		for j, c := range row {
			if t.Columns[j].Heat {
				if v := c.Float(); !math.IsNaN(v) {
					r, g, b := heatColor(math.Max(0, math.Min(1, v)))
					p.SetFillColor(int(r), int(g), int(b))
					p.Rect(x, y, widths[j], h, "F")
				}
			}
			color := ink
			switch {
			case c.Tone == "good":
				color = good
			case c.Tone == "bad":
				color = bad
			case t.Columns[j].Heat && c.Float() > 0.6:
				color = [3]int{0xff, 0xff, 0xff}
			}
			style := ""
			if c.Tone != "" {
				style = "B"
			}
			p.SetFont("sans", style, pdfTableFont)
			p.SetTextColor(color[0], color[1], color[2])
			p.cellLines(x, y, widths[j], lines[j], numeric[j])
			x += widths[j]
		}
		p.SetDrawColor(0xe3, 0xe7, 0xeb)
		p.SetLineWidth(0.2)
		p.Line(pdfMargin, y+h, pdfMargin+p.width, y+h)
		p.SetY(y + h)
	}
	p.Ln(1)
}

// cellLines writes a cell's lines in the box at (x, y) of width w.
func (p *pdfDoc) cellLines(x, y, w float64, lines []string, right bool) {
	align := "L"
	if right {
		align = "R"
	}
	for i, l := range lines {
		p.SetXY(x+pdfCellPad, y+pdfCellPad+float64(i)*pdfTableLine)
		p.CellFormat(w-2*pdfCellPad, pdfTableLine, l, "", 0, align, false, 0, "")
	}
}
