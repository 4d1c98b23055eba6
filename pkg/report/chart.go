package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart sizes: a chart spans the text width of an A4 page.
const (
	chartWidth  = 17 * vg.Centimeter
	chartHeight = 7.5 * vg.Centimeter
	// chartDPI is the resolution of the PNG charts embedded in PDFs: sharp when printed.
	chartDPI = 200
)

// palette colours the series, in order; bands take their series' colour, lighter.
var palette = []color.RGBA{
	{0x1f, 0x5f, 0xa8, 0xff}, // blue
	{0xe0, 0x7b, 0x00, 0xff}, // orange
	{0x2e, 0x8b, 0x57, 0xff}, // green
	{0xc0, 0x39, 0x2b, 0xff}, // red
	{0x6c, 0x4f, 0x9e, 0xff}, // purple
	{0x5d, 0x6d, 0x7e, 0xff}, // slate
}

func seriesColor(i int) color.RGBA { return palette[i%len(palette)] }

// sans is the charts' typeface: Liberation Sans, which gonum/plot ships.
func sans(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

// newPlot draws chart c from the columns of table t.
func newPlot(c Chart, t *Table, loc *time.Location) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = c.Title
	p.Title.TextStyle.Font = sans(11)
	p.Title.Padding = 4
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = sans(9)
		ax.Tick.Label.Font = sans(8)
		ax.Color = color.Gray{0x88}
		ax.Tick.Color = color.Gray{0x88}
	}
	p.Legend.TextStyle.Font = sans(8)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Y.Label.Text = c.YTitle
	p.Y.Tick.Marker = unitTicks{unit: c.Unit}
	p.Add(plotter.NewGrid())
	switch c.Kind {
	case ChartLine:
		return p, linePlot(p, c, t, loc)
	case ChartBar:
		return p, barPlot(p, c, t)
	}
	return nil, fmt.Errorf("unknown chart kind %q", c.Kind)
}

func linePlot(p *plot.Plot, c Chart, t *Table, loc *time.Location) error {
	xi := t.column(c.X)
	if xi < 0 {
		return fmt.Errorf("chart %s: no column %q", c.Title, c.X)
	}
	xs := make([]float64, len(t.Rows))
	daily := true
	for r, row := range t.Rows {
		tm, ok := row[xi].Value.(time.Time)
		if !ok {
			return fmt.Errorf("chart %s: column %s holds no time at row %d", c.Title, c.X, r+1)
		}
		xs[r] = float64(tm.Unix())
		lt := tm.In(loc)
		daily = daily && lt.Hour() == 0 && lt.Minute() == 0
	}
	format := "2 Jan"
	if !daily {
		format = "2 Jan 15:04"
	}
	p.X.Tick.Marker = instantTicks{xs: xs, format: format, loc: loc}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		cols := []string{s.Column}
		for _, b := range s.Bands {
			cols = append(cols, b.Lower, b.Upper)
		}
		for _, col := range cols {
			for _, v := range t.floats(col) {
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
		}
	}
	if !math.IsInf(lo, 0) {
		// From zero (or below), with room above the lines for the legend.
		p.Y.Min = min(0, lo)
		p.Y.Max = hi + 0.3*max(hi-p.Y.Min, math.Abs(hi)*0.1, 1e-9)
	}
	for i, s := range c.Series {
		col := seriesColor(i)
		for b, band := range s.Bands {
			lo, hi := t.floats(band.Lower), t.floats(band.Upper)
			alpha := uint8(0x30 + 0x28*(len(s.Bands)-1-b)) // inner bands darker
			for _, run := range runs(xs, lo, hi) {
				poly := make(plotter.XYs, 0, 2*len(run))
				for _, k := range run {
					poly = append(poly, plotter.XY{X: xs[k], Y: lo[k]})
				}
				for j := len(run) - 1; j >= 0; j-- {
					poly = append(poly, plotter.XY{X: xs[run[j]], Y: hi[run[j]]})
				}
				pg, err := plotter.NewPolygon(poly)
				if err != nil {
					return err
				}
				pg.Color = color.NRGBA{col.R, col.G, col.B, alpha}
				pg.Width = 0
				p.Add(pg)
				if len(run) > 0 && run[0] == firstIndex(lo, hi) {
					p.Legend.Add(band.Title, pg)
				}
			}
		}
		ys := t.floats(s.Column)
		legend := false
		for _, run := range runs(xs, ys, ys) {
			pts := make(plotter.XYs, len(run))
			for j, k := range run {
				pts[j] = plotter.XY{X: xs[k], Y: ys[k]}
			}
			l, err := plotter.NewLine(pts)
			if err != nil {
				return err
			}
			l.Color = col
			l.Width = vg.Points(1.6)
			if s.Dashed {
				l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			p.Add(l)
			if len(run) == 1 {
				sc, err := plotter.NewScatter(pts)
				if err != nil {
					return err
				}
				sc.Color = col
				p.Add(sc)
			}
			if !legend {
				p.Legend.Add(s.Title, l)
				legend = true
			}
		}
	}
	return nil
}

// runs splits the rows into runs where the values of a and b are all present.
func runs(xs, a, b []float64) [][]int {
	var out [][]int
	var cur []int
	for i := range xs {
		if math.IsNaN(a[i]) || math.IsNaN(b[i]) || math.IsInf(a[i], 0) || math.IsInf(b[i], 0) {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, i)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func firstIndex(a, b []float64) int {
	for i := range a {
		if !math.IsNaN(a[i]) && !math.IsNaN(b[i]) {
			return i
		}
	}
	return -1
}

func barPlot(p *plot.Plot, c Chart, t *Table) error {
	xi := t.column(c.X)
	if xi < 0 {
		return fmt.Errorf("chart %s: no column %q", c.Title, c.X)
	}
	names := make([]string, len(t.Rows))
	for r, row := range t.Rows {
		names[r] = row[xi].Text
	}
	n := len(c.Series)
	width := vg.Points(min(40, 360/float64(max(1, len(t.Rows)*n))))
	for i, s := range c.Series {
		vals := t.floats(s.Column)
		for k, v := range vals {
			if math.IsNaN(v) {
				vals[k] = 0
			}
		}
		bars, err := plotter.NewBarChart(plotter.Values(vals), width)
		if err != nil {
			return err
		}
		bars.Color = seriesColor(i)
		bars.LineStyle.Width = 0
		bars.Offset = width * vg.Length(float64(i)-float64(n-1)/2)
		p.Add(bars)
		if n > 1 {
			p.Legend.Add(s.Title, bars)
		}
	}
	p.NominalX(names...)
	hi := 0.0
	for _, s := range c.Series {
		for _, v := range t.floats(s.Column) {
			if !math.IsNaN(v) {
				hi = max(hi, v)
			}
		}
	}
	p.Y.Max = max(hi*1.15, 1)
	if len(names) > 6 {
		p.X.Tick.Label.Rotation = math.Pi / 8
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
	}
	p.Y.Min = 0
	return nil
}

// instantTicks marks the rows' instants on the time axis, labelling at most about ten of them.
type instantTicks struct {
	xs     []float64
	format string
	loc    *time.Location
}

func (it instantTicks) Ticks(lo, hi float64) []plot.Tick {
	every := max(1, (len(it.xs)+9)/10)
	var out []plot.Tick
	for i, x := range it.xs {
		if x < lo || x > hi {
			continue
		}
		t := plot.Tick{Value: x}
		if (len(it.xs)-1-i)%every == 0 {
			t.Label = time.Unix(int64(x), 0).In(it.loc).Format(it.format)
		}
		out = append(out, t)
	}
	return out
}

// unitTicks labels the vertical axis in the chart's unit.
type unitTicks struct{ unit string }

func (u unitTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = axisLabel(t.Value, u.unit)
		}
	}
	return ticks
}

// axisLabel is a tick's label: the value in its unit, without needless decimals.
func axisLabel(v float64, unit string) string {
	switch unit {
	case UnitRatio:
		return strconv.FormatFloat(100*v, 'g', 4, 64) + " %"
	case UnitPercent:
		return strconv.FormatFloat(v, 'g', 4, 64) + " %"
	case UnitSeconds:
		return strings.Replace(formatDuration(v), ".0 ", " ", 1)
	case UnitCurrency:
		return strconv.FormatFloat(v, 'g', 6, 64) + " €"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// svgHeader is what vgsvg writes before the <svg> element (an XML declaration and a comment),
// out of place inside an HTML page.
var svgHeader = regexp.MustCompile(`(?s)^.*?<svg`)

// chartSVG draws a chart as an SVG element to inline in HTML; it scales to its container.
func chartSVG(c Chart, t *Table, loc *time.Location) (string, error) {
	p, err := newPlot(c, t, loc)
	if err != nil {
		return "", err
	}
	canvas := vgsvg.New(chartWidth, chartHeight)
	p.Draw(draw.New(canvas))
	var b bytes.Buffer
	if _, err := canvas.WriteTo(&b); err != nil {
		return "", fmt.Errorf("couldn't draw chart %s: %w", c.Title, err)
	}
	s := svgHeader.ReplaceAllString(b.String(), "<svg")
	s = strings.Replace(s, `<svg width=`, `<svg role="img" aria-label="`+htmlAttr(c.Title)+`" style="width:100%;height:auto" data-width=`, 1)
	return s, nil
}

func htmlAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// chartPNG draws a chart as a PNG for the PDF.
func chartPNG(c Chart, t *Table, loc *time.Location) ([]byte, error) {
	p, err := newPlot(c, t, loc)
	if err != nil {
		return nil, err
	}
	canvas := vgimg.NewWith(vgimg.UseWH(chartWidth, chartHeight), vgimg.UseDPI(chartDPI))
	p.Draw(draw.New(canvas))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: canvas}).WriteTo(&b); err != nil {
		return nil, fmt.Errorf("couldn't draw chart %s: %w", c.Title, err)
	}
	return b.Bytes(), nil
}
