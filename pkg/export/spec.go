package export

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
)

// DefaultTimeZone is the zone timestamps are written in and calendar periods cut in when a spec
// names none: the platform's.
const DefaultTimeZone = analytics.DefaultTimeZone

// Spec describes one export. In reporter.yml it is an item of an export job's export list; on
// the command line, `bdc-reporter export` flags fill it.
type Spec struct {
	// Source is a canonical table (users, appointments, ...) or an analytics result (retention,
	// funnel); see Sources.
	Source string `yaml:"source" json:"source"`
	// Format is csv, json, jsonl, xlsx, parquet, xml or yaml.
	Format string `yaml:"format" json:"format"`
	// Name starts the file names; default the source's name.
	Name string `yaml:"name" json:"name,omitempty"`
	// Params are an analytics source's query parameters (PostHog's names, as in Grafana).
	Params map[string]any `yaml:"params" json:"params,omitempty"`
	// Columns are the source columns to export, in this order; default all.
	Columns []string `yaml:"columns" json:"columns,omitempty"`
	// TimeRange keeps rows in a time range.
	TimeRange *TimeRange `yaml:"time_range" json:"time_range,omitempty"`
	// Where keeps the rows matching every predicate.
	Where []Predicate `yaml:"where" json:"where,omitempty"`
	// Limit stops after this many rows (in key order); 0 means all.
	Limit int64 `yaml:"limit" json:"limit,omitempty"`
	// PII is the policy for personal-data columns: anonymize, drop or keep (see PIIAnonymize).
	PII string `yaml:"pii" json:"pii,omitempty"`
	// Anonymize, Drop, Rename and Derive transform the columns, in the order Derive (from the
	// source values), Anonymize, Drop, Rename.
	Anonymize []string          `yaml:"anonymize" json:"anonymize,omitempty"`
	Drop      []string          `yaml:"drop" json:"drop,omitempty"`
	Rename    map[string]string `yaml:"rename" json:"rename,omitempty"`
	Derive    []Derive          `yaml:"derive" json:"derive,omitempty"`
	// MaxRowsPerFile splits the output into numbered parts of at most this many rows; 0 means the
	// format's limit (XLSX: 1,048,575 rows under the header) or no split.
	MaxRowsPerFile int64 `yaml:"max_rows_per_file" json:"max_rows_per_file,omitempty"`
	// TimeZone writes timestamps and cuts calendar periods; default DefaultTimeZone.
	TimeZone string `yaml:"timezone" json:"timezone,omitempty"`
}

// Plan is a validated spec, ready to run any number of times.
type Plan struct {
	spec      Spec
	src       *Source
	format    *Format
	loc       *time.Location
	read      []int // source columns read, in row order
	selected  []int // read positions of the selected source columns (quality is measured on them)
	keys      []int // read positions of the key columns
	timeCol   int   // read position of the freshness column, or -1
	rng       *TimeRange
	rngColumn int
	where     []resolvedPredicate
	params    any
	outputs   []output
	schema    Schema
	maxRows   int64
	hashKey   []byte
	policy    string
	dropped   []string
	anonym    []string
}

// Spec returns the spec the plan was compiled from.
func (p *Plan) Spec() Spec { return p.spec }

// Schema returns the output columns.
func (p *Plan) Schema() Schema { return p.schema }

// Format returns the output format.
func (p *Plan) Format() *Format { return p.format }

// Stem is the start of the plan's file names.
func (p *Plan) Stem() string {
	if p.spec.Name != "" {
		return p.spec.Name
	}
	return p.src.Name
}

type compiler struct {
	spec       *Spec
	src        *Source
	lines      Lines
	path       string
	key        []byte
	read       []int
	policy     string
	dropped    []string
	anonymized []string
}

// readIndex returns the position of source column k in the read row, adding it if needed.
func (c *compiler) readIndex(k int) int {
	if i := slices.Index(c.read, k); i >= 0 {
		return i
	}
	c.read = append(c.read, k)
	return len(c.read) - 1
}

// Compile validates the spec and prepares it. hashKey is the key anonymized columns are hashed
// with (nil when none is configured). lines and path locate the spec in a YAML file for error
// messages (nil and "" for a spec from flags); errors are *FieldError.
func Compile(spec Spec, hashKey []byte, lines Lines, path string) (*Plan, error) {
	c := &compiler{spec: &spec, lines: lines, path: path, key: hashKey}
	src, err := LookupSource(spec.Source)
	if spec.Source == "" {
		return nil, lines.Errorf(Join(path, "source"), "is required (one of %s)", strings.Join(SourceNames(), ", "))
	}
	if err != nil {
		return nil, lines.Errorf(Join(path, "source"), "%v", err)
	}
	c.src = src
	format, err := LookupFormat(spec.Format)
	if spec.Format == "" {
		return nil, lines.Errorf(Join(path, "format"), "is required (one of %s)", strings.Join(FormatNames(), ", "))
	}
	if err != nil {
		return nil, lines.Errorf(Join(path, "format"), "%v", err)
	}
	if spec.Name != "" {
		if err := checkName(spec.Name); err != nil {
			return nil, lines.Errorf(Join(path, "name"), "%v", err)
		}
	}
	if spec.TimeZone == "" {
		spec.TimeZone = DefaultTimeZone
	}
	loc, err := LoadZone(spec.TimeZone)
	if err != nil {
		return nil, lines.Errorf(Join(path, "timezone"), "%v", err)
	}
	p := &Plan{spec: spec, src: src, format: format, loc: loc, timeCol: -1, rngColumn: -1, hashKey: hashKey}

	switch {
	case src.Kind == KindAnalytics:
		if p.params, err = src.params(spec.Params); err != nil {
			return nil, lines.Errorf(Join(path, "params"), "%v", err)
		}
	case len(spec.Params) > 0:
		return nil, lines.Errorf(Join(path, "params"), "%v", errNoParams)
	}

	// Selected columns come first in the read row, in the spec's order.
	var selected []int
	if len(spec.Columns) == 0 {
		for k := range src.Columns {
			selected = append(selected, k)
		}
	}
	for i, name := range spec.Columns {
		k := src.column(name)
		if k < 0 {
			return nil, lines.Errorf(Index(Join(path, "columns"), i), "%s has no column %q (it has %s)", src.Name, name, src.columnNames())
		}
		if slices.Contains(selected, k) {
			return nil, lines.Errorf(Index(Join(path, "columns"), i), "%q is listed twice", name)
		}
		selected = append(selected, k)
	}
	for _, k := range selected {
		p.selected = append(p.selected, c.readIndex(k))
	}

	if r := spec.TimeRange; r != nil && !r.IsZero() {
		rangePath := Join(path, "time_range")
		if src.Kind == KindAnalytics {
			if r.Column != "" {
				return nil, lines.Errorf(Join(rangePath, "column"), "an analytics source's range is its query's from and to: no column")
			}
			probe := *src
			probe.TimeColumn, probe.Columns = "t", []SourceColumn{col("t", Timestamp, false)}
			if _, err := r.check(&probe, loc, lines, rangePath); err != nil {
				return nil, err
			}
		} else if p.rngColumn, err = r.check(src, loc, lines, rangePath); err != nil {
			return nil, err
		}
		p.rng = r
	}
	for i, pred := range spec.Where {
		rp, err := pred.resolve(src, lines, Index(Join(path, "where"), i))
		if err != nil {
			return nil, err
		}
		p.where = append(p.where, rp)
	}
	if spec.Limit < 0 {
		return nil, lines.Errorf(Join(path, "limit"), "must be 0 (all rows) or more")
	}
	if p.outputs, p.schema, err = c.transforms(selected); err != nil {
		return nil, err
	}
	p.policy, p.dropped, p.anonym = c.policy, c.dropped, c.anonymized
	if format.Name == "xml" {
		for _, col := range p.schema {
			if strings.HasPrefix(strings.ToLower(col.Name), "xml") {
				return nil, lines.Errorf(path, "XML reserves names starting with \"xml\": rename column %q", col.Name)
			}
		}
	}
	// The key and the time column are read for the quality score even when not exported.
	for _, k := range src.Key {
		p.keys = append(p.keys, c.readIndex(src.column(k)))
	}
	if fc := src.freshColumn(); fc != "" {
		p.timeCol = c.readIndex(src.column(fc))
	}
	p.read = c.read

	switch limit := format.MaxRows; {
	case spec.MaxRowsPerFile < 0:
		return nil, lines.Errorf(Join(path, "max_rows_per_file"), "must be 0 (the format's limit) or more")
	case spec.MaxRowsPerFile == 0:
		p.maxRows = limit
	case limit > 0 && spec.MaxRowsPerFile > limit:
		return nil, lines.Errorf(Join(path, "max_rows_per_file"), "%s holds at most %d rows per file, got %d", format.Name, limit, spec.MaxRowsPerFile)
	default:
		p.maxRows = spec.MaxRowsPerFile
	}
	return p, nil
}

// selection resolves the plan's filter at the export's instant.
func (p *Plan) selection(at time.Time) *selection {
	sel := &selection{read: p.read, where: p.where, limit: p.spec.Limit, params: p.params, at: at, loc: p.loc}
	if p.rng != nil {
		sel.rng = p.rng.resolve(p.rngColumn, at, p.loc)
	}
	return sel
}

// LoadZone resolves an IANA time zone name; "Local" and file paths are refused, so a name means
// the same on every replica.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") || len(name) > 64 {
		return nil, fmt.Errorf("%q is not an IANA time zone name (like Europe/Paris or UTC)", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IANA time zone name (like Europe/Paris or UTC)", name)
	}
	return loc, nil
}
