package export

import (
	"bufio"
	"io"
)

// jsonWriter writes a JSON array of objects, one per row and one per line, keys in column order.
// Timestamps are RFC 3339 strings in the export's time zone, dates YYYY-MM-DD strings.
type jsonWriter struct {
	w     *bufio.Writer
	lines bool // JSON Lines: objects alone, one per line, no array
	keys  [][]byte
	types []Type
	o     writerOptions
	buf   []byte
	rows  int64
}

func newJSONWriter(w io.Writer, schema Schema, o writerOptions) (rowWriter, error) {
	return newJSONish(w, schema, o, false)
}

func newJSONLWriter(w io.Writer, schema Schema, o writerOptions) (rowWriter, error) {
	return newJSONish(w, schema, o, true)
}

func newJSONish(w io.Writer, schema Schema, o writerOptions, lines bool) (*jsonWriter, error) {
	j := &jsonWriter{w: bufio.NewWriterSize(w, 64<<10), lines: lines, o: o}
	for i, c := range schema {
		key := []byte{}
		if i > 0 {
			key = append(key, ',')
		}
		key = appendJSONString(key, c.Name)
		j.keys = append(j.keys, append(key, ':'))
		j.types = append(j.types, c.Type)
	}
	return j, nil
}

func (j *jsonWriter) Write(row Row) error {
	j.buf = j.buf[:0]
	if !j.lines {
		if j.rows == 0 {
			j.buf = append(j.buf, "[\n"...)
		} else {
			j.buf = append(j.buf, ",\n"...)
		}
	}
	j.buf = append(j.buf, '{')
	for i, v := range row {
		j.buf = append(j.buf, j.keys[i]...)
		j.buf = appendJSONValue(j.buf, j.types[i], v, j.o.loc)
	}
	j.buf = append(j.buf, '}')
	if j.lines {
		j.buf = append(j.buf, '\n')
	}
	j.rows++
	_, err := j.w.Write(j.buf)
	return err
}

func (j *jsonWriter) Close() error {
	if !j.lines {
		end := "\n]\n"
		if j.rows == 0 {
			end = "[]\n"
		}
		if _, err := j.w.WriteString(end); err != nil {
			return err
		}
	}
	return j.w.Flush()
}
