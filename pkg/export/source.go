package export

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/store"
)

// Source kinds.
const (
	// KindTable is a canonical table of schema bdc, read with a cursor.
	KindTable = "table"
	// KindAnalytics is a result of package analytics, computed by one query and then listed.
	KindAnalytics = "analytics"
)

// SourceColumn is a column a source offers.
type SourceColumn struct {
	Column
	// PII marks personal data, to which the spec's pii policy applies.
	PII bool
	// Rule describes the validity rule for the quality score ("" when any value of the type is
	// valid); valid applies it.
	Rule  string
	valid func(v any, at time.Time) bool
}

// Source is something an export reads rows from: a canonical table or an analytics result.
type Source struct {
	// Name is what a spec's source field names.
	Name string
	// Kind is KindTable or KindAnalytics.
	Kind string
	// Doc says what a row is.
	Doc string
	// Columns in their natural order.
	Columns []SourceColumn
	// Key identifies a row; rows come ordered by it, which lets the quality score count
	// duplicates without remembering keys.
	Key []string
	// TimeColumn is the default column of a time range and the one freshness is measured on; ""
	// when the source has none.
	TimeColumn string
	// FreshColumn is the column freshness is measured on when it is not TimeColumn: the instant
	// a row was recorded (an appointment's booked_at), not the one it is about.
	FreshColumn string

	// params checks the analytics parameters of a spec and returns the query they describe.
	params func(params map[string]any) (any, error)
	// stream reads the selected rows, in key order, and hands them to fn.
	stream func(ctx context.Context, env *env, src *Source, sel *selection, fn func(Row) error) error
}

// column returns the index of the named column, or -1.
func (s *Source) column(name string) int {
	return slices.IndexFunc(s.Columns, func(c SourceColumn) bool { return c.Name == name })
}

// freshColumn is the column freshness is measured on, or "".
func (s *Source) freshColumn() string {
	if s.FreshColumn != "" {
		return s.FreshColumn
	}
	return s.TimeColumn
}

// columnNames lists the source's columns, for error messages.
func (s *Source) columnNames() string {
	names := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// env is what a source reads with.
type env struct {
	db        *store.DB
	analytics *analytics.Engine
	timeout   time.Duration
}

// selection is a validated filter in terms of a source's column indexes.
type selection struct {
	read   []int // source columns a row holds, in this order
	rng    *resolvedRange
	where  []resolvedPredicate
	limit  int64
	params any
	at     time.Time      // the export's instant
	loc    *time.Location // the export's time zone
}

// Sources lists every source: the canonical tables, then the analytics results.
func Sources() []*Source { return append(slices.Clone(tableSources), analyticsSources...) }

// LookupSource returns the named source.
func LookupSource(name string) (*Source, error) {
	for _, s := range Sources() {
		if s.Name == name {
			return s, nil
		}
	}
	return nil, fmt.Errorf("unknown source %q (want one of %s)", name, strings.Join(SourceNames(), ", "))
}

// SourceNames lists the sources' names.
func SourceNames() []string {
	var names []string
	for _, s := range Sources() {
		names = append(names, s.Name)
	}
	return names
}
