package export

import (
	"math"
	"time"
)

// FreshnessGrace is the age of the newest row up to which freshness is 1; FreshnessHorizon the
// age at which it reaches 0.
const (
	FreshnessGrace   = 24 * time.Hour
	FreshnessHorizon = 30 * 24 * time.Hour
)

// Quality is the data-quality score of an export, measured on the source values of the exported
// columns before transforms (anonymizing a column does not change it). Each figure is between 0
// and 1:
//
//	completeness = 1 - null cells / (rows × exported source columns)
//	validity     = 1 - invalid cells / non-null cells, a cell being invalid when its column has a
//	               rule (an e-mail address, one of the statuses, a score from 1 to 5, a timestamp
//	               not more than a year after the export, ...) and the value breaks it
//	uniqueness   = 1 - duplicate keys / rows, rows coming in key order so that a duplicate is a
//	               row whose key equals the previous row's
//	freshness    = 1 while the newest value of the source's freshness column is at most
//	               FreshnessGrace older than the reference (the end of the time range, or the
//	               export's instant), then falling linearly to 0 at FreshnessHorizon; absent when
//	               the source has no such column or no row has a value
//	score        = the mean of the four (of three when freshness is absent)
//
// An export without rows scores 1 on the first three.
type Quality struct {
	Score        float64   `json:"score"`
	Completeness float64   `json:"completeness"`
	Validity     float64   `json:"validity"`
	Uniqueness   float64   `json:"uniqueness"`
	Freshness    *float64  `json:"freshness"`
	Duplicates   int64     `json:"duplicate_keys"`
	Key          []string  `json:"key"`
	FreshnessOf  string    `json:"freshness_column,omitempty"`
	Newest       time.Time `json:"newest,omitzero"`
	Reference    time.Time `json:"reference"`
	// Columns details the exported source columns.
	Columns []ColumnQuality `json:"columns"`
}

// ColumnQuality is one exported source column's part of the score.
type ColumnQuality struct {
	Name    string `json:"name"`
	Nulls   int64  `json:"nulls"`
	Invalid int64  `json:"invalid"`
	Rule    string `json:"rule,omitempty"`
}

// qualityMeter accumulates the score row by row in constant memory.
type qualityMeter struct {
	at       time.Time
	cols     []SourceColumn
	selected []int // read positions
	keys     []int
	fresh    int
	rows     int64
	nulls    []int64
	invalid  []int64
	dups     int64
	prevKey  []any
	newest   time.Time
}

func newQualityMeter(p *Plan, at time.Time) *qualityMeter {
	m := &qualityMeter{at: at, selected: p.selected, keys: p.keys, fresh: p.timeCol,
		nulls: make([]int64, len(p.selected)), invalid: make([]int64, len(p.selected))}
	for _, r := range p.selected {
		m.cols = append(m.cols, p.src.Columns[p.read[r]])
	}
	return m
}

func (m *qualityMeter) observe(row Row) {
	m.rows++
	for i, r := range m.selected {
		v := row[r]
		switch {
		case v == nil:
			m.nulls[i]++
		case m.cols[i].valid != nil && !m.cols[i].valid(v, m.at):
			m.invalid[i]++
		}
	}
	if len(m.keys) > 0 {
		same := m.prevKey != nil
		for i, k := range m.keys {
			if same && (row[k] == nil || m.prevKey[i] == nil || compare(row[k], m.prevKey[i]) != 0) {
				same = false
			}
		}
		if same {
			m.dups++
		}
		if m.prevKey == nil {
			m.prevKey = make([]any, len(m.keys))
		}
		for i, k := range m.keys {
			m.prevKey[i] = row[k]
		}
	}
	if m.fresh >= 0 {
		if t, ok := row[m.fresh].(time.Time); ok && t.After(m.newest) {
			m.newest = t
		}
	}
}

// result computes the score; reference is the instant freshness is measured at.
func (m *qualityMeter) result(key []string, freshColumn string, reference time.Time) Quality {
	q := Quality{Completeness: 1, Validity: 1, Uniqueness: 1, Key: key, FreshnessOf: freshColumn, Reference: reference}
	var nulls, invalid int64
	for i, c := range m.cols {
		q.Columns = append(q.Columns, ColumnQuality{Name: c.Name, Nulls: m.nulls[i], Invalid: m.invalid[i], Rule: c.Rule})
		nulls += m.nulls[i]
		invalid += m.invalid[i]
	}
	if cells := m.rows * int64(len(m.cols)); cells > 0 {
		q.Completeness = 1 - float64(nulls)/float64(cells)
		if nonNull := cells - nulls; nonNull > 0 {
			q.Validity = 1 - float64(invalid)/float64(nonNull)
		}
	}
	if m.rows > 0 {
		q.Uniqueness = 1 - float64(m.dups)/float64(m.rows)
	}
	q.Duplicates = m.dups
	sum, n := q.Completeness+q.Validity+q.Uniqueness, 3.0
	if !m.newest.IsZero() {
		q.Newest = m.newest
		age := reference.Sub(m.newest)
		f := 1 - float64(age-FreshnessGrace)/float64(FreshnessHorizon-FreshnessGrace)
		f = math.Max(0, math.Min(1, f))
		q.Freshness = &f
		sum, n = sum+f, n+1
	}
	q.Score = sum / n
	return q
}
