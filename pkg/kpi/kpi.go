// Package kpi defines every KPI of the platform once: its metric name, help, unit, labels and the
// SQL that computes it. The exporter publishes them as Prometheus metrics, the Grafana plugin
// draws them as time series, and the reporter puts them in tables; all three run the same SQL.
//
// Every KPI is evaluated at an instant: its SQL takes the parameters of Params, in that order,
// so the exporter evaluates it now and the plugin at every step of a panel's range. The package
// holds definitions and the code that runs them; it never writes to the database.
package kpi

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Group is a set of KPIs refreshed together, on the same interval.
type Group string

// The KPI groups of DESIGN.md §3.
const (
	RealTime    Group = "realtime"
	Business    Group = "business"
	Operational Group = "operational"
	Experience  Group = "experience"
)

// Kind is the Prometheus type a KPI is published as.
type Kind int

// Kinds of KPI.
const (
	// Gauge: the SQL returns the label columns, then one float8 value column.
	Gauge Kind = iota
	// Counter: as Gauge, for values that only grow (a reset shows as a drop).
	Counter
	// Histogram: the SQL returns the label columns, then one observation column named v; the
	// buckets are counted in SQL (Histogram wraps it) and published as a const histogram.
	Histogram
)

// Definition is one KPI.
type Definition struct {
	// Name is the Prometheus metric name, in base units (bdc_..._seconds, _ratio, _total).
	Name string
	// Help says what is counted, over which window, in which unit.
	Help string
	// Unit of the value ("ratio", "seconds", "users", "EUR", ...), for panels and reports.
	Unit string
	// Group sets the refresh interval.
	Group Group
	// Kind is gauge, counter or histogram.
	Kind Kind
	// Labels are the label columns, first in the SQL's output, in order.
	Labels []string
	// Buckets are the histogram's upper bounds (Histogram only), ascending.
	Buckets []float64
	// SQL computes the KPI at the instant $1 (see Params).
	SQL string
}

// Params are the parameters of every KPI's SQL, bound in this order: $1 always, $2 when it cuts
// calendar days, $3..$6 when it applies the population filters (any subset may be used).
type Params struct {
	// At is the instant the KPI is evaluated at ($1, timestamptz).
	At time.Time
	// TimeZone is the IANA zone of calendar days such as "today" ($2, text).
	TimeZone string
	// Region ($3), AcquisitionChannel ($4), TrainerID ($5) and AppointmentChannel ($6) restrict
	// the beneficiaries counted; an empty list does not filter.
	Region             []string
	AcquisitionChannel []string
	TrainerID          []int64
	AppointmentChannel []string
}

// DefaultTimeZone is the platform's time zone.
const DefaultTimeZone = "Europe/Paris"

// paramDecl declares the types of every parameter of Params, so a KPI's SQL may use any of them.
const paramDecl = `with params as (select $1::timestamptz, $2::text, $3::text[], $4::text[], $5::bigint[], $6::text[])`

// histogramParam is the parameter holding a histogram's bucket bounds.
const histogramParam = 7

// Filterable reports whether the KPI applies the population filters of Params.
func (d *Definition) Filterable() bool { return strings.Contains(d.SQL, "$3") }

// Args returns the bound parameters of Query for p.
func (d *Definition) Args(p Params) []any {
	tz := p.TimeZone
	if tz == "" {
		tz = DefaultTimeZone
	}
	args := []any{p.At, tz, nilIfEmpty(p.Region), nilIfEmpty(p.AcquisitionChannel), nilIfEmpty(p.TrainerID), nilIfEmpty(p.AppointmentChannel)}
	if d.Kind == Histogram {
		args = append(args, d.Buckets)
	}
	return args
}

func nilIfEmpty[T any](v []T) any {
	if len(v) == 0 {
		return nil
	}
	return v
}

// beneficiaryFilter is the SQL predicate of the population filters on a beneficiary row aliased
// b: the one place filters become SQL, always as bound parameters.
const beneficiaryFilter = `($3::text[] is null or b.region = any($3::text[]))
	and ($4::text[] is null or b.acquisition_channel = any($4::text[]))
	and ($5::bigint[] is null or b.trainer_id = any($5::bigint[]))
	and ($6::text[] is null or exists (select 1 from bdc.appointments fa
		where fa.beneficiary_id = b.id and fa.channel = any($6::text[])))`

// Sample is one labelled value of a KPI. For histograms, Buckets holds the cumulative count at
// each of the definition's bounds, Count and Sum the totals, and Value is unused.
type Sample struct {
	Labels  []string
	Value   float64
	Buckets []uint64
	Count   uint64
	Sum     float64
}

// Query returns the statement run for d: its SQL, with histograms wrapped so that PostgreSQL
// counts the buckets.
func (d *Definition) Query() string {
	inner := d.SQL
	if d.Kind == Histogram {
		inner = HistogramSQL(d.SQL, len(d.Labels), len(d.Buckets), histogramParam)
	}
	return paramDecl + "\nselect * from (" + inner + ") as kpi"
}

// HistogramSQL wraps a query returning label columns then one observation column, so that it
// returns, per label set, the label columns, the cumulative count at each of the buckets bounds
// of the float8[] parameter $param, the sum and the count, in one pass over the observations.
func HistogramSQL(sql string, labels, buckets, param int) string {
	var names, cols strings.Builder
	for i := range labels {
		fmt.Fprintf(&names, "l%d, ", i)
		fmt.Fprintf(&cols, "o.l%d, ", i)
	}
	counts := make([]string, buckets)
	for i := range buckets {
		counts[i] = fmt.Sprintf("count(*) filter (where o.v <= ($%d::float8[])[%d])", param, i+1)
	}
	group := "()"
	if labels > 0 {
		group = strings.TrimSuffix(cols.String(), ", ")
	}
	return fmt.Sprintf("with o as (select * from (%s) as x(%sv))\nselect %sarray[%s]::bigint[], coalesce(sum(o.v), 0)::float8, count(*)\nfrom o group by %s",
		sql, names.String(), cols.String(), strings.Join(counts, ", "), group)
}

// Run evaluates d with p in tx and returns its samples.
func (d *Definition) Run(ctx context.Context, tx pgx.Tx, p Params) ([]Sample, error) {
	rows, err := tx.Query(ctx, d.Query(), d.Args(p)...)
	if err != nil {
		return nil, fmt.Errorf("couldn't compute %s: %w", d.Name, err)
	}
	defer rows.Close()
	var out []Sample
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, fmt.Errorf("couldn't read %s: %w", d.Name, err)
		}
		s, err := d.ParseRow(vals)
		if err != nil {
			return nil, fmt.Errorf("couldn't read %s: %w", d.Name, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("couldn't compute %s: %w", d.Name, err)
	}
	if d.Kind == Histogram && len(d.Labels) == 0 && len(out) == 0 {
		out = append(out, Sample{Buckets: make([]uint64, len(d.Buckets))}) // nothing observed yet
	}
	return out, nil
}

// RunAt evaluates d with p at every instant of instants in tx, in one batch (one round trip),
// and returns the samples of each instant in order. Unlike Run, an instant without rows has no
// samples: a series leaves a gap there.
func (d *Definition) RunAt(ctx context.Context, tx pgx.Tx, p Params, instants []time.Time) ([][]Sample, error) {
	out := make([][]Sample, len(instants))
	batch := &pgx.Batch{}
	for i, at := range instants {
		p.At = at
		batch.Queue(d.Query(), d.Args(p)...).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					return err
				}
				s, err := d.ParseRow(vals)
				if err != nil {
					return err
				}
				out[i] = append(out[i], s)
			}
			return rows.Err()
		})
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return nil, fmt.Errorf("couldn't compute %s at %d instants: %w", d.Name, len(instants), err)
	}
	return out, nil
}

// ParseRow converts one result row of Query: the label columns, then the value, or for
// histograms the bucket counts, the sum and the count.
func (d *Definition) ParseRow(vals []any) (Sample, error) {
	want := len(d.Labels) + 1
	if d.Kind == Histogram {
		want = len(d.Labels) + 3
	}
	if len(vals) != want {
		return Sample{}, fmt.Errorf("query returned %d columns, want %d (labels %v then the value)", len(vals), want, d.Labels)
	}
	s := Sample{Labels: make([]string, len(d.Labels))}
	for i := range d.Labels {
		s.Labels[i] = LabelValue(vals[i])
	}
	rest := vals[len(d.Labels):]
	if d.Kind != Histogram {
		v, err := Float(rest[0])
		s.Value = v
		return s, err
	}
	counts, ok := rest[0].([]any)
	if !ok || len(counts) != len(d.Buckets) {
		return Sample{}, fmt.Errorf("bucket counts %v do not match %d buckets", rest[0], len(d.Buckets))
	}
	s.Buckets = make([]uint64, len(counts))
	for i, c := range counts {
		n, err := Float(c)
		if err != nil {
			return Sample{}, err
		}
		s.Buckets[i] = uint64(n)
	}
	sum, err := Float(rest[1])
	if err != nil {
		return Sample{}, err
	}
	count, err := Float(rest[2])
	if err != nil {
		return Sample{}, err
	}
	s.Sum, s.Count = sum, uint64(count)
	return s, nil
}

// LabelValue renders a label column; NULL becomes the empty string.
func LabelValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	default:
		return fmt.Sprint(x)
	}
}

// Float converts a numeric column to float64; NULL is NaN (no data, as Prometheus shows it).
func Float(v any) (float64, error) {
	switch x := v.(type) {
	case nil:
		return math.NaN(), nil
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case int16:
		return float64(x), nil
	case int:
		return float64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case interface{ Float64Value() (pgtype.Float8, error) }:
		f, err := x.Float64Value()
		if err != nil || !f.Valid {
			return math.NaN(), err
		}
		return f.Float64, nil
	case string:
		return strconv.ParseFloat(x, 64)
	default:
		return 0, fmt.Errorf("value %v (%T) is not a number", v, v)
	}
}

var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// ValidName reports whether s is a valid Prometheus metric or label name.
func ValidName(s string) bool { return metricName.MatchString(s) }
