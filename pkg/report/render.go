package report

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bdc-analytics/bdc/pkg/export"
)

// Format is an output format of reports.
type Format struct {
	// Name is how jobs and the command line name it; Ext ends the file's name.
	Name, Ext string
	write     func(doc *Document, w io.Writer) error
}

var formats = []*Format{
	{Name: "pdf", Ext: ".pdf", write: writePDF},
	{Name: "html", Ext: ".html", write: writeHTML},
	{Name: "xlsx", Ext: ".xlsx", write: writeXLSX},
	{Name: "csv", Ext: ".csv.zip", write: writeCSVZip},
	{Name: "json", Ext: ".json", write: writeJSON},
}

// FormatNames lists the formats.
func FormatNames() []string {
	out := make([]string, len(formats))
	for i, f := range formats {
		out[i] = f.Name
	}
	return out
}

// LookupFormat returns the named format.
func LookupFormat(name string) (*Format, error) {
	for _, f := range formats {
		if f.Name == name {
			return f, nil
		}
	}
	return nil, fmt.Errorf("unknown report format %q (want one of %s)", name, strings.Join(FormatNames(), ", "))
}

// ParseFormats reads a list of format names (from a comma-separated flag or a YAML list),
// refusing unknown and repeated ones.
func ParseFormats(names []string) ([]*Format, error) {
	var out []*Format
	for _, n := range names {
		f, err := LookupFormat(strings.TrimSpace(n))
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, f) {
			return nil, fmt.Errorf("format %s is listed twice", f.Name)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no format given (want some of %s)", strings.Join(FormatNames(), ", "))
	}
	return out, nil
}

// Render writes doc in format f to w.
func (f *Format) Render(doc *Document, w io.Writer) error {
	bw := bufio.NewWriter(w)
	if err := f.write(doc, bw); err != nil {
		return fmt.Errorf("couldn't render %s as %s: %w", doc.Template, f.Name, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("couldn't write %s as %s: %w", doc.Template, f.Name, err)
	}
	return nil
}

// Write renders doc in every format into out as <stem><ext> and describes the files, each with
// the number of table rows the document holds. The staging publishes them (or discards them).
func Write(doc *Document, fs []*Format, out *export.Staging, stem string) ([]export.FileInfo, error) {
	rows := int64(0)
	for _, s := range doc.Sections {
		if s.Table != nil {
			rows += int64(len(s.Table.Rows))
		}
	}
	var files []export.FileInfo
	for _, f := range fs {
		sf, err := out.Create(stem + f.Ext)
		if err != nil {
			return files, err
		}
		if err := f.Render(doc, sf); err != nil {
			_ = sf.Close()
			return files, err
		}
		if err := sf.Close(); err != nil {
			return files, err
		}
		files = append(files, export.FileInfo{Name: sf.Name(), Rows: rows, Bytes: sf.Bytes(), SHA256: sf.SHA256()})
	}
	return files, nil
}

// FileStem names a report's files: <name>_<period start>, for example
// executive_summary_2026-05-25, so a weekly job's files do not collide with a monthly one's.
func FileStem(name string, doc *Document) string {
	from := doc.Period.From.In(doc.Location())
	if isMidnight(from) {
		return name + "_" + from.Format("2006-01-02")
	}
	return name + "_" + from.Format("2006-01-02T1504")
}

// plainValue writes a cell's value for machine reading (CSV): numbers in full precision, times
// in RFC 3339 in loc, days as dates, missing values empty.
func plainValue(c Cell, loc *time.Location) string {
	switch v := c.Value.(type) {
	case nil:
		return ""
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	case int64:
		return strconv.FormatInt(v, 10)
	case time.Time:
		if c.Unit == UnitDate {
			return v.In(loc).Format(time.DateOnly)
		}
		return v.In(loc).Format(time.RFC3339)
	case string:
		return v
	}
	return fmt.Sprint(c.Value)
}
