package predict

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/bdc-analytics/bdc/pkg/ml"
)

// MissingValue is what a numeric feature that is unknown for a row (no earlier evaluation to
// average, no earlier activity to date) is encoded as. Every numeric feature here is a count, a
// duration, an age or an hour, never negative, so trees split the unknown rows apart.
const MissingValue = -1

// DefaultMaxLevels bounds the levels a categorical feature keeps: the most frequent in the
// training rows. Rarer and unseen values encode as MissingValue.
const DefaultMaxLevels = 32

// minLevelRows is the fewest training rows a categorical level needs to be kept.
const minLevelRows = 10

// ErrSchemaMismatch is returned when rows lack a feature a model was trained on.
var ErrSchemaMismatch = errors.New("rows do not match the model's feature schema")

// Schema is a model's feature schema: the features it reads and how they are encoded into the
// columns of its dataset, one column per feature. It is stored with every model version, so a
// version always encodes new rows as it was trained.
//
// A categorical feature is encoded as the rank of its value among the levels, which are ordered
// by their mean label in the training rows: one split of a tree then separates the values with
// a high label from those with a low one, the best single split of a categorical feature for
// squared error and log-loss (Fisher, 1958), without the dozens of sparse columns of a one-hot
// encoding. Contributions stay per feature, so a main factor reads "region = bretagne".
type Schema struct {
	Features []SchemaFeature `json:"features"`
}

// SchemaFeature is one feature of a Schema.
type SchemaFeature struct {
	// Name is the feature's name, a column of the feature query.
	Name string `json:"name"`
	// Kind is "numeric" or "categorical".
	Kind string `json:"kind"`
	// Levels are the values of a categorical feature, by ascending mean label in the training
	// rows: value Levels[k] is encoded as k.
	Levels []string `json:"levels,omitempty"`
	// Doc says what the feature is, and as of when.
	Doc string `json:"doc,omitempty"`
}

// Feature kinds of a SchemaFeature.
const (
	KindNumeric     = "numeric"
	KindCategorical = "categorical"
)

// newSchema builds the schema of features fs from labelled training rows.
func newSchema(fs []feature, f *Frame, maxLevels int) Schema {
	if maxLevels <= 0 {
		maxLevels = DefaultMaxLevels
	}
	var s Schema
	cat := 0
	for _, ft := range fs {
		sf := SchemaFeature{Name: ft.Name, Kind: KindNumeric, Doc: ft.Doc}
		if ft.Categorical {
			sf.Kind = KindCategorical
			sf.Levels = orderedLevels(f, cat, maxLevels)
			cat++
		}
		s.Features = append(s.Features, sf)
	}
	return s
}

// orderedLevels returns the values of categorical column j seen in at least minLevelRows
// labelled rows, the maxLevels most frequent of them, by ascending mean label (ties by value).
func orderedLevels(f *Frame, j, maxLevels int) []string {
	type stat struct {
		n   int
		sum float64
	}
	stats := map[string]*stat{}
	for i := range f.Len() {
		v, y := f.CatRow(i)[j], f.Y[i]
		if v == "" || math.IsNaN(y) {
			continue
		}
		st := stats[v]
		if st == nil {
			st = &stat{}
			stats[v] = st
		}
		st.n++
		st.sum += y
	}
	var levels []string
	for v, st := range stats {
		if st.n >= minLevelRows {
			levels = append(levels, v)
		}
	}
	slices.SortFunc(levels, func(a, b string) int {
		if c := cmp.Compare(stats[b].n, stats[a].n); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	if len(levels) > maxLevels {
		levels = levels[:maxLevels]
	}
	slices.SortFunc(levels, func(a, b string) int {
		if c := cmp.Compare(stats[a].sum/float64(stats[a].n), stats[b].sum/float64(stats[b].n)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return levels
}

// Columns returns the names of the encoded columns: the features' names, in schema order.
func (s Schema) Columns() []string {
	out := make([]string, len(s.Features))
	for i, f := range s.Features {
		out[i] = f.Name
	}
	return out
}

// Encode turns the frame's rows into a dataset with the schema's columns. Unknown numeric
// values and categorical values that are not levels become MissingValue. Labels are copied when
// every row has one; otherwise the dataset has none (rows to score).
func (s Schema) Encode(f *Frame) (*ml.Dataset, error) {
	type source struct {
		cat    bool
		idx    int
		levels map[string]int
	}
	srcs := make([]source, len(s.Features))
	for i, sf := range s.Features {
		switch sf.Kind {
		case KindNumeric:
			j := slices.Index(f.Numeric, sf.Name)
			if j < 0 {
				return nil, fmt.Errorf("%w: no numeric feature %q", ErrSchemaMismatch, sf.Name)
			}
			srcs[i] = source{idx: j}
		case KindCategorical:
			j := slices.Index(f.Categorical, sf.Name)
			if j < 0 {
				return nil, fmt.Errorf("%w: no categorical feature %q", ErrSchemaMismatch, sf.Name)
			}
			lv := make(map[string]int, len(sf.Levels))
			for k, l := range sf.Levels {
				lv[l] = k
			}
			srcs[i] = source{cat: true, idx: j, levels: lv}
		default:
			return nil, fmt.Errorf("%w: feature %q has unknown kind %q", ErrSchemaMismatch, sf.Name, sf.Kind)
		}
	}
	n, width := f.Len(), len(srcs)
	d := &ml.Dataset{Names: s.Columns(), X: make([]float64, n*width)}
	if !slices.ContainsFunc(f.Y, math.IsNaN) {
		d.Y = slices.Clone(f.Y)
	}
	for r := range n {
		row := d.X[r*width : (r+1)*width]
		num, cat := f.NumRow(r), f.CatRow(r)
		for c, src := range srcs {
			v := float64(MissingValue)
			if src.cat {
				if k, ok := src.levels[cat[src.idx]]; ok {
					v = float64(k)
				}
			} else if x := num[src.idx]; !math.IsNaN(x) && !math.IsInf(x, 0) {
				v = x
			}
			row[c] = v
		}
	}
	return d, nil
}
