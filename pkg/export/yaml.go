package export

import (
	"bufio"
	"io"
	"math"
	"strings"
)

// yamlWriter writes a YAML sequence of mappings, one per row:
//
//   - id: 1
//     email: "ana@example.org"
//     completed_at: null
//
// Strings are always double-quoted (so "true", "0012" or "null" stay strings in every YAML
// reader), numbers, booleans and null plain, timestamps and dates as plain YAML timestamps. An
// empty export is [].
type yamlWriter struct {
	w     *bufio.Writer
	keys  [][]byte
	types []Type
	o     writerOptions
	buf   []byte
	rows  int64
}

// yamlReserved are keys a YAML 1.1 reader would not read as strings.
var yamlReserved = map[string]bool{"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true,
	"true": true, "false": true, "null": true}

func newYAMLWriter(w io.Writer, schema Schema, o writerOptions) (rowWriter, error) {
	y := &yamlWriter{w: bufio.NewWriterSize(w, 64<<10), o: o}
	for i, c := range schema {
		prefix := "  "
		if i == 0 {
			prefix = "- "
		}
		key := []byte(prefix)
		if yamlReserved[strings.ToLower(c.Name)] {
			key = appendJSONString(key, c.Name)
		} else {
			key = append(key, c.Name...)
		}
		y.keys = append(y.keys, append(key, ':', ' '))
		y.types = append(y.types, c.Type)
	}
	return y, nil
}

func (y *yamlWriter) Write(row Row) error {
	y.buf = y.buf[:0]
	for i, v := range row {
		y.buf = append(y.buf, y.keys[i]...)
		switch x := v.(type) {
		case nil:
			y.buf = append(y.buf, "null"...)
		case string:
			y.buf = appendJSONString(y.buf, x)
		case float64:
			switch {
			case math.IsNaN(x):
				y.buf = append(y.buf, ".nan"...)
			case math.IsInf(x, 1):
				y.buf = append(y.buf, ".inf"...)
			case math.IsInf(x, -1):
				y.buf = append(y.buf, "-.inf"...)
			default:
				y.buf = appendFloat(y.buf, x)
			}
		default:
			y.buf = appendText(y.buf, y.types[i], v, y.o.loc)
		}
		y.buf = append(y.buf, '\n')
	}
	y.rows++
	_, err := y.w.Write(y.buf)
	return err
}

func (y *yamlWriter) Close() error {
	if y.rows == 0 {
		if _, err := y.w.WriteString("[]\n"); err != nil {
			return err
		}
	}
	return y.w.Flush()
}
