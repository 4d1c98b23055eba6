package export

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format is an output file format.
type Format struct {
	// Name is what a spec's format field says.
	Name string
	// Ext is the file name extension, with its dot.
	Ext string
	// MediaType is served by the files API.
	MediaType string
	// MaxRows is the most data rows one file can hold (0: no limit); longer exports are split
	// into numbered parts.
	MaxRows int64
	open    func(w io.Writer, schema Schema, o writerOptions) (rowWriter, error)
}

// XLSXMaxRows is the rows of an XLSX sheet (1,048,576) minus the header row.
const XLSXMaxRows = 1<<20 - 1

// writerOptions are what a writer needs besides the schema.
type writerOptions struct {
	loc    *time.Location
	source string // names the XLSX sheet and the XML root's source attribute
}

// rowWriter encodes rows into one file. Write must not keep the row; Close writes what ends the
// file (a closing bracket, the XLSX archive, the Parquet footer) but does not close w.
type rowWriter interface {
	Write(Row) error
	Close() error
}

var formats = []*Format{
	{Name: "csv", Ext: ".csv", MediaType: "text/csv; charset=utf-8", open: newCSVWriter},
	{Name: "json", Ext: ".json", MediaType: "application/json", open: newJSONWriter},
	{Name: "jsonl", Ext: ".jsonl", MediaType: "application/jsonl", open: newJSONLWriter},
	{Name: "xlsx", Ext: ".xlsx", MediaType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", MaxRows: XLSXMaxRows, open: newXLSXWriter},
	{Name: "parquet", Ext: ".parquet", MediaType: "application/vnd.apache.parquet", open: newParquetWriter},
	{Name: "xml", Ext: ".xml", MediaType: "application/xml", open: newXMLWriter},
	{Name: "yaml", Ext: ".yaml", MediaType: "application/yaml", open: newYAMLWriter},
}

// Formats lists the formats.
func Formats() []*Format { return formats }

// FormatNames lists the formats' names.
func FormatNames() []string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = f.Name
	}
	return names
}

// LookupFormat returns the named format.
func LookupFormat(name string) (*Format, error) {
	for _, f := range formats {
		if f.Name == strings.ToLower(name) {
			return f, nil
		}
	}
	return nil, fmt.Errorf("unknown format %q (want one of %s)", name, strings.Join(FormatNames(), ", "))
}

// FormatByExt returns the format of a file name's extension, or nil.
func FormatByExt(name string) *Format {
	for _, f := range formats {
		if strings.HasSuffix(name, f.Ext) {
			return f
		}
	}
	return nil
}

// appendText appends the text form of a value shared by the text formats: integers in decimal,
// floats in the shortest form that reads back the same (integral ones with ".0", so they stay
// floats), RFC 3339 timestamps in loc, dates as YYYY-MM-DD, true and false. Nulls append nothing.
func appendText(b []byte, t Type, v any, loc *time.Location) []byte {
	switch x := v.(type) {
	case nil:
		return b
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return appendFloat(b, x)
	case string:
		return append(b, x...)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Time:
		if t == Date {
			return x.AppendFormat(b, time.DateOnly)
		}
		return x.In(loc).AppendFormat(b, time.RFC3339Nano)
	}
	return fmt.Append(b, v)
}

func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	start := len(b)
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		// YAML 1.1 readers want a dot in the mantissa: 1.0e-07, not 1e-07.
		b = strconv.AppendFloat(b, f, 'e', -1, 64)
		e := start + bytes.IndexByte(b[start:], 'e')
		if bytes.IndexByte(b[start:e], '.') < 0 {
			b = slices.Insert(b, e, '.', '0')
		}
		return b
	}
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	for _, c := range b[start:] {
		if c == '.' {
			return b
		}
	}
	return append(b, ".0"...)
}

// appendJSONString appends s as a JSON string. Besides what JSON requires, it escapes DEL, the
// C1 controls and U+FEFF, so that the same text is also a valid YAML double-quoted scalar, and
// replaces invalid UTF-8 with U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if (r >= 0x80 && r <= 0x9f) || r == 0xfeff || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONValue appends a value as JSON: numbers, strings, booleans, null; timestamps and dates
// as strings in appendText's form. NaN and infinities, which JSON lacks, become null.
func appendJSONValue(b []byte, t Type, v any, loc *time.Location) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...)
		}
		return appendFloat(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case string:
		return appendJSONString(b, x)
	}
	var tmp [64]byte
	return appendJSONString(b, string(appendText(tmp[:0], t, v, loc)))
}
