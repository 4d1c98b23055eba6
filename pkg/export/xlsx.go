package export

import (
	"archive/zip"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// XLSXMaxCellChars is the most characters an XLSX cell holds; a longer text fails the export
// rather than being cut.
const XLSXMaxCellChars = excelize.TotalCellChars

// xlsxWriter writes one sheet, named after the source, with excelize's StreamWriter: a bold,
// frozen header row, then one row per row. Numbers and booleans are native cells, timestamps
// are date-time cells showing the wall-clock time in the export's time zone (yyyy-mm-dd
// hh:mm:ss; Excel keeps about a millisecond of precision and no zone), dates are date cells, and
// nulls are empty cells. The stream writer keeps rows in a temporary file, not in memory, and
// the archive is compressed straight into the output rather than into excelize's buffer.
type xlsxWriter struct {
	f      *excelize.File
	sw     *excelize.StreamWriter
	schema Schema
	o      writerOptions
	styles []int // per column: the number format style of time cells, 0 otherwise
	row    int
	cells  []any
}

func newXLSXWriter(w io.Writer, schema Schema, o writerOptions) (rowWriter, error) {
	f := excelize.NewFile()
	// excelize builds the archive in a buffer the size of the file before copying it out; its
	// zip writer, pointed at the output instead, streams it, and the buffer stays empty.
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(w) })
	x := &xlsxWriter{f: f, schema: schema, o: o, row: 1, cells: make([]any, len(schema)), styles: make([]int, len(schema))}
	if err := x.start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("couldn't start the XLSX sheet: %w", err)
	}
	return x, nil
}

func (x *xlsxWriter) start() error {
	sheet := x.o.source
	if len(sheet) > 31 { // Excel's limit on sheet names
		sheet = sheet[:31]
	}
	if err := x.f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	sw, err := x.f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	x.sw = sw
	header, err := x.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	stamp, date := "yyyy-mm-dd hh:mm:ss", "yyyy-mm-dd"
	stampStyle, err := x.f.NewStyle(&excelize.Style{CustomNumFmt: &stamp})
	if err != nil {
		return err
	}
	dateStyle, err := x.f.NewStyle(&excelize.Style{CustomNumFmt: &date})
	if err != nil {
		return err
	}
	for i, c := range x.schema {
		width := 14.0
		switch c.Type {
		case Timestamp:
			x.styles[i], width = stampStyle, 20
		case Date:
			x.styles[i], width = dateStyle, 12
		}
		if err := sw.SetColWidth(i+1, i+1, width); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	for i, c := range x.schema {
		x.cells[i] = excelize.Cell{StyleID: header, Value: c.Name}
	}
	return sw.SetRow("A1", x.cells)
}

func (x *xlsxWriter) Write(row Row) error {
	x.row++
	for i, v := range row {
		switch val := v.(type) {
		case string:
			if len(val) > XLSXMaxCellChars && utf8.RuneCountInString(val) > XLSXMaxCellChars {
				return fmt.Errorf("column %s holds a text of %d characters, more than an XLSX cell's %d",
					x.schema[i].Name, utf8.RuneCountInString(val), XLSXMaxCellChars)
			}
			x.cells[i] = val
		case time.Time:
			if x.schema[i].Type == Timestamp {
				val = val.In(x.o.loc) // excelize writes the wall-clock time of the value's zone
			}
			x.cells[i] = excelize.Cell{StyleID: x.styles[i], Value: val}
		default:
			x.cells[i] = v
		}
	}
	cell, err := excelize.CoordinatesToCellName(1, x.row)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, x.cells)
}

func (x *xlsxWriter) Close() error {
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return fmt.Errorf("couldn't finish the XLSX sheet: %w", err)
	}
	return x.f.Write(io.Discard) // the archive went to the output through the zip writer
}
