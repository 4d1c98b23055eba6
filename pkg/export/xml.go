package export

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"io"
)

// xmlWriter writes
//
//	<?xml version="1.0" encoding="UTF-8"?>
//	<export source="appointments" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
//	<row><id>1</id><status>completed</status><completed_at xsi:nil="true"/></row>
//	</export>
//
// one row per line, an element per column in column order, values in the text formats' form. A
// null is an empty element with xsi:nil="true"; characters XML cannot carry become U+FFFD.
type xmlWriter struct {
	w          *bufio.Writer
	open, shut [][]byte
	null       [][]byte
	types      []Type
	o          writerOptions
	buf        bytes.Buffer
	field      []byte
}

func newXMLWriter(w io.Writer, schema Schema, o writerOptions) (rowWriter, error) {
	x := &xmlWriter{w: bufio.NewWriterSize(w, 64<<10), o: o}
	for _, c := range schema {
		x.open = append(x.open, []byte("<"+c.Name+">"))
		x.shut = append(x.shut, []byte("</"+c.Name+">"))
		x.null = append(x.null, []byte("<"+c.Name+` xsi:nil="true"/>`))
		x.types = append(x.types, c.Type)
	}
	x.buf.WriteString(xml.Header)
	x.buf.WriteString(`<export source="`)
	if err := xml.EscapeText(&x.buf, []byte(o.source)); err != nil {
		return nil, err
	}
	x.buf.WriteString(`" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` + "\n")
	_, err := x.w.Write(x.buf.Bytes())
	return x, err
}

func (x *xmlWriter) Write(row Row) error {
	x.buf.Reset()
	x.buf.WriteString("<row>")
	for i, v := range row {
		if v == nil {
			x.buf.Write(x.null[i])
			continue
		}
		x.buf.Write(x.open[i])
		x.field = appendText(x.field[:0], x.types[i], v, x.o.loc)
		if err := xml.EscapeText(&x.buf, x.field); err != nil {
			return err
		}
		x.buf.Write(x.shut[i])
	}
	x.buf.WriteString("</row>\n")
	_, err := x.w.Write(x.buf.Bytes())
	return err
}

func (x *xmlWriter) Close() error {
	if _, err := x.w.WriteString("</export>\n"); err != nil {
		return err
	}
	return x.w.Flush()
}
