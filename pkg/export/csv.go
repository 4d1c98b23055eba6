package export

import (
	"bufio"
	"bytes"
	"io"
)

// csvWriter writes RFC 4180 CSV: a header row of column names, then one line per row, fields
// quoted when they hold a comma, a quote, a line break or leading space. A null is an empty
// field; an empty string is written "" so that readers that care can tell them apart.
type csvWriter struct {
	w      *bufio.Writer
	schema Schema
	o      writerOptions
	buf    []byte
	field  []byte
}

func newCSVWriter(w io.Writer, schema Schema, o writerOptions) (rowWriter, error) {
	c := &csvWriter{w: bufio.NewWriterSize(w, 64<<10), schema: schema, o: o}
	for i, col := range schema {
		if i > 0 {
			c.buf = append(c.buf, ',')
		}
		c.buf = appendCSVField(c.buf, []byte(col.Name), false)
	}
	c.buf = append(c.buf, '\r', '\n')
	_, err := c.w.Write(c.buf)
	return c, err
}

func (c *csvWriter) Write(row Row) error {
	c.buf = c.buf[:0]
	for i, v := range row {
		if i > 0 {
			c.buf = append(c.buf, ',')
		}
		c.field = appendText(c.field[:0], c.schema[i].Type, v, c.o.loc)
		_, isString := v.(string)
		c.buf = appendCSVField(c.buf, c.field, isString)
	}
	c.buf = append(c.buf, '\r', '\n')
	_, err := c.w.Write(c.buf)
	return err
}

func (c *csvWriter) Close() error { return c.w.Flush() }

// appendCSVField appends a field, quoted when needed (as encoding/csv decides), or when it is an
// empty string rather than a null.
func appendCSVField(b, field []byte, isString bool) []byte {
	if !csvNeedsQuotes(field) && (len(field) > 0 || !isString) {
		return append(b, field...)
	}
	b = append(b, '"')
	for {
		i := bytes.IndexByte(field, '"')
		if i < 0 {
			break
		}
		b = append(b, field[:i+1]...)
		b = append(b, '"')
		field = field[i+1:]
	}
	b = append(b, field...)
	return append(b, '"')
}

func csvNeedsQuotes(field []byte) bool {
	if len(field) == 0 {
		return false
	}
	if string(field) == `\.` || field[0] == ' ' || field[0] == '\t' {
		return true
	}
	return bytes.ContainsAny(field, ",\"\r\n")
}
