package export

import (
	"fmt"
	"io"
	"time"

	"github.com/parquet-go/parquet-go"
)

// parquetRowGroup is the rows buffered before a row group is written: a few megabytes of
// column buffers, whatever the export's size.
const parquetRowGroup = 128 << 10

// parquetBatch is the rows handed to the Parquet writer at once.
const parquetBatch = 1024

// parquetWriter writes an Apache Parquet file, Snappy-compressed, with one optional column per
// output column in column order: INT64, DOUBLE, BYTE_ARRAY (UTF8 string), BOOLEAN,
// TIMESTAMP(MICROS, adjusted to UTC) and DATE.
type parquetWriter struct {
	w      *parquet.GenericWriter[any]
	schema Schema
	batch  []parquet.Row
	n      int
}

// orderedGroup keeps the columns in the export's order; parquet.Group sorts them by name.
type orderedGroup struct {
	parquet.Group
	fields []parquet.Field
}

func (g orderedGroup) Fields() []parquet.Field { return g.fields }

func parquetNode(t Type) parquet.Node {
	switch t {
	case Int:
		return parquet.Int(64)
	case Float:
		return parquet.Leaf(parquet.DoubleType)
	case Bool:
		return parquet.Leaf(parquet.BooleanType)
	case Timestamp:
		return parquet.Timestamp(parquet.Microsecond)
	case Date:
		return parquet.Date()
	}
	return parquet.String()
}

func newParquetWriter(w io.Writer, schema Schema, o writerOptions) (rowWriter, error) {
	group := parquet.Group{}
	for _, c := range schema {
		group[c.Name] = parquet.Optional(parquetNode(c.Type))
	}
	byName := map[string]parquet.Field{}
	for _, f := range group.Fields() {
		byName[f.Name()] = f
	}
	root := orderedGroup{Group: group}
	for _, c := range schema {
		root.fields = append(root.fields, byName[c.Name])
	}
	cfg, err := parquet.NewWriterConfig(
		parquet.NewSchema(o.source, root),
		parquet.Compression(&parquet.Snappy),
		parquet.MaxRowsPerRowGroup(parquetRowGroup),
		parquet.CreatedBy("bdc-reporter", "", ""),
	)
	if err != nil {
		return nil, fmt.Errorf("couldn't configure the Parquet writer: %w", err)
	}
	p := &parquetWriter{w: parquet.NewGenericWriter[any](w, cfg), schema: schema, batch: make([]parquet.Row, parquetBatch)}
	for i := range p.batch {
		p.batch[i] = make(parquet.Row, len(schema))
	}
	return p, nil
}

func (p *parquetWriter) Write(row Row) error {
	out := p.batch[p.n]
	for i, v := range row {
		var pv parquet.Value
		switch x := v.(type) {
		case nil:
			out[i] = parquet.Value{}.Level(0, 0, i)
			continue
		case int64:
			pv = parquet.Int64Value(x)
		case float64:
			pv = parquet.DoubleValue(x)
		case bool:
			pv = parquet.BooleanValue(x)
		case string:
			pv = parquet.ByteArrayValue([]byte(x))
		case time.Time:
			if p.schema[i].Type == Date {
				pv = parquet.Int32Value(int32(x.Unix() / 86400)) // dates are midnight UTC
			} else {
				pv = parquet.Int64Value(x.UnixMicro())
			}
		default:
			return fmt.Errorf("column %s: no Parquet encoding for %T", p.schema[i].Name, v)
		}
		out[i] = pv.Level(0, 1, i)
	}
	p.n++
	if p.n == len(p.batch) {
		return p.flush()
	}
	return nil
}

func (p *parquetWriter) flush() error {
	if p.n == 0 {
		return nil
	}
	_, err := p.w.WriteRows(p.batch[:p.n])
	p.n = 0
	return err
}

func (p *parquetWriter) Close() error {
	if err := p.flush(); err != nil {
		return err
	}
	return p.w.Close()
}
