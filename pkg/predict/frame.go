package predict

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Frame is a table of extracted rows before encoding: numeric features as float64, categorical
// ones as strings, with each row's id, as-of instant and, when known, its label.
type Frame struct {
	// Numeric and Categorical name the feature columns, in the order of Num and Cat.
	Numeric     []string
	Categorical []string
	// IDs identifies each row's subject: an appointment, beneficiary or evaluation id. A
	// beneficiary appears once per cutoff in churn and engagement frames.
	IDs []int64
	// At is the instant each row's features are computed as of: nothing at or after it is read.
	At []time.Time
	// LabelAt is when each row's outcome became known; the zero time when it is not known yet.
	LabelAt []time.Time
	// Y holds the labels; NaN where the outcome is not known.
	Y []float64
	// Num holds the numeric features row-major: feature j of row i is Num[i*len(Numeric)+j].
	Num []float64
	// Cat holds the categorical features row-major, "" for a missing value.
	Cat []string
}

// Len returns the number of rows.
func (f *Frame) Len() int { return len(f.IDs) }

// NumRow returns the numeric features of row i, sharing the frame's storage.
func (f *Frame) NumRow(i int) []float64 {
	p := len(f.Numeric)
	return f.Num[i*p : (i+1)*p : (i+1)*p]
}

// CatRow returns the categorical features of row i, sharing the frame's storage.
func (f *Frame) CatRow(i int) []string {
	p := len(f.Categorical)
	return f.Cat[i*p : (i+1)*p : (i+1)*p]
}

// Value returns feature name of row i formatted for people: the number, or the category.
func (f *Frame) Value(i int, name string) (string, bool) {
	for j, n := range f.Numeric {
		if n == name {
			return formatNumber(f.NumRow(i)[j]), true
		}
	}
	for j, n := range f.Categorical {
		if n == name {
			return f.CatRow(i)[j], true
		}
	}
	return "", false
}

// Subset returns a new frame holding copies of the given rows, in the given order.
func (f *Frame) Subset(rows []int) *Frame {
	out := &Frame{
		Numeric: f.Numeric, Categorical: f.Categorical,
		IDs: make([]int64, len(rows)), At: make([]time.Time, len(rows)),
		LabelAt: make([]time.Time, len(rows)), Y: make([]float64, len(rows)),
		Num: make([]float64, 0, len(rows)*len(f.Numeric)),
		Cat: make([]string, 0, len(rows)*len(f.Categorical)),
	}
	for k, i := range rows {
		out.IDs[k], out.At[k], out.LabelAt[k], out.Y[k] = f.IDs[i], f.At[i], f.LabelAt[i], f.Y[i]
		out.Num = append(out.Num, f.NumRow(i)...)
		out.Cat = append(out.Cat, f.CatRow(i)...)
	}
	return out
}

// Labeled returns the indexes of the rows whose label is known.
func (f *Frame) Labeled() []int {
	var out []int
	for i, y := range f.Y {
		if !math.IsNaN(y) {
			out = append(out, i)
		}
	}
	return out
}

// feature is one column of a feature query: its name, the SQL expression computing it (which
// may only read rows before the query's as-of instant) and what it means.
type feature struct {
	Name        string
	SQL         string
	Doc         string
	Categorical bool
}

// querier is what feature queries run on: a read-only transaction in production, any
// transaction in the leakage tests.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// selectList renders the features as "expr as name" lines.
func selectList(fs []feature) string {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteString(",\n\t")
		}
		if f.Categorical {
			fmt.Fprintf(&b, "coalesce((%s)::text, '') as %s", f.SQL, f.Name)
		} else {
			fmt.Fprintf(&b, "coalesce((%s)::float8, 'NaN'::float8) as %s", f.SQL, f.Name)
		}
	}
	return b.String()
}

// queryFrame runs sql, whose columns are id, as-of instant, label instant (null when unknown),
// label (null when unknown) and then the features fs in order, and collects the rows.
func queryFrame(ctx context.Context, q querier, sql string, args pgx.NamedArgs, fs []feature) (*Frame, error) {
	f := &Frame{}
	var numIdx, catIdx []int
	for i, ft := range fs {
		if ft.Categorical {
			f.Categorical = append(f.Categorical, ft.Name)
			catIdx = append(catIdx, i)
		} else {
			f.Numeric = append(f.Numeric, ft.Name)
			numIdx = append(numIdx, i)
		}
	}
	// Feature queries are many small index lookups under lateral joins, which JIT compilation
	// slows down by most of a second and never speeds up.
	if _, err := q.Exec(ctx, "set local jit = off"); err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		id      int64
		at      time.Time
		labelAt *time.Time
		label   *float64
		num     = make([]float64, len(numIdx))
		cat     = make([]string, len(catIdx))
		dest    = make([]any, 4+len(fs))
	)
	dest[0], dest[1], dest[2], dest[3] = &id, &at, &labelAt, &label
	for k, i := range numIdx {
		dest[4+i] = &num[k]
	}
	for k, i := range catIdx {
		dest[4+i] = &cat[k]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		f.IDs = append(f.IDs, id)
		f.At = append(f.At, at)
		if labelAt != nil && label != nil {
			f.LabelAt = append(f.LabelAt, *labelAt)
			f.Y = append(f.Y, *label)
		} else {
			f.LabelAt = append(f.LabelAt, time.Time{})
			f.Y = append(f.Y, math.NaN())
		}
		f.Num = append(f.Num, num...)
		f.Cat = append(f.Cat, cat...)
	}
	return f, rows.Err()
}

func formatNumber(v float64) string {
	if math.IsNaN(v) {
		return "unknown"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}
