package export

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/store"
)

// DefaultReadTimeout bounds the statement that reads an export when the Exporter sets none.
const DefaultReadTimeout = time.Hour

// MetadataSuffix ends the name of an export's sidecar metadata file.
const MetadataSuffix = ".meta.json"

// Exporter runs export plans against a database. It is safe for concurrent use.
type Exporter struct {
	// DB is the pool reads go through, each export in one read-only transaction.
	DB *store.DB
	// Analytics computes the analytics sources; nil means analytics.NewEngine(DB).
	Analytics *analytics.Engine
	// Timeout is the statement_timeout of an export's read; 0 means DefaultReadTimeout. The
	// caller's context bounds the whole export.
	Timeout time.Duration
	// Now stamps the metadata; nil means time.Now.
	Now func() time.Time
}

// Metadata is the sidecar file of an export (<stem>.meta.json).
type Metadata struct {
	Source      string     `json:"source"`
	SourceKind  string     `json:"source_kind"`
	Format      string     `json:"format"`
	GeneratedAt time.Time  `json:"generated_at"`
	At          time.Time  `json:"at"`
	TimeZone    string     `json:"timezone"`
	Rows        int64      `json:"rows"`
	Files       []FileInfo `json:"files"`
	Schema      Schema     `json:"schema"`
	Filter      FilterInfo `json:"filter"`
	Transforms  Applied    `json:"transforms"`
	Quality     Quality    `json:"quality"`
}

// FileInfo describes one written part.
type FileInfo struct {
	Name   string `json:"name"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// FilterInfo is the filter as applied: the time range resolved to instants.
type FilterInfo struct {
	Columns []string       `json:"columns"`
	Range   *AppliedRange  `json:"time_range,omitempty"`
	Where   []Predicate    `json:"where,omitempty"`
	Limit   int64          `json:"limit,omitempty"`
	Params  map[string]any `json:"params,omitempty"`
}

// AppliedRange is a time range with its bounds computed.
type AppliedRange struct {
	Column string    `json:"column,omitempty"`
	From   time.Time `json:"from,omitzero"`
	To     time.Time `json:"to,omitzero"`
}

// Applied lists the transforms that changed the output.
type Applied struct {
	PII        string            `json:"pii"`
	Anonymized []string          `json:"anonymized,omitempty"`
	Dropped    []string          `json:"dropped,omitempty"`
	Renamed    map[string]string `json:"renamed,omitempty"`
	Derived    []Derive          `json:"derived,omitempty"`
}

// MetadataName is the name of the sidecar of an export named stem in format f.
func MetadataName(stem string, f *Format) string { return stem + f.Ext + MetadataSuffix }

// FileStem is the start of an export's file names at instant at: the plan's name and the instant
// in UTC (UTC so that the two 02:30 of a DST change do not collide), like appointments_20260601T010000Z.
func FileStem(p *Plan, at time.Time) string {
	return p.Stem() + "_" + at.UTC().Format("20060102T150405Z")
}

// Run streams the plan's rows at instant at (the reference of relative time ranges) into files
// staged in out, named after stem: stem.csv, or stem.part-001.xlsx, stem.part-002.xlsx, ... when
// split, and the sidecar stem.csv.meta.json (the format's extension in it, so that one source
// exported in two formats has two sidecars). It does not publish them: the caller does, once the
// whole run has succeeded, or discards them. The rows flow from the database cursor through the
// transforms to the writer one at a time.
func (e *Exporter) Run(ctx context.Context, p *Plan, at time.Time, out *Staging, stem string) (*Metadata, error) {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	engine := e.Analytics
	if engine == nil {
		engine = analytics.NewEngine(e.DB)
	}
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = DefaultReadTimeout
	}
	sel := p.selection(at)
	meter := newQualityMeter(p, at)
	pipe := newPipeline(p.outputs, p.hashKey, p.loc)
	parts := &partSet{out: out, format: p.format, schema: p.schema, stem: stem, max: p.maxRows,
		o: writerOptions{loc: p.loc, source: p.src.Name}}
	err := p.src.stream(ctx, &env{db: e.DB, analytics: engine, timeout: timeout}, p.src, sel, func(row Row) error {
		meter.observe(row)
		return parts.write(pipe.apply(row))
	})
	if err == nil {
		err = parts.close()
	}
	if err != nil {
		parts.abort()
		return nil, fmt.Errorf("couldn't export %s as %s: %w", p.src.Name, p.format.Name, err)
	}

	md := &Metadata{Source: p.src.Name, SourceKind: p.src.Kind, Format: p.format.Name, GeneratedAt: now().UTC().Truncate(time.Millisecond),
		At: at, TimeZone: p.loc.String(), Schema: p.schema, Transforms: p.applied(), Filter: p.filterInfo(sel)}
	for _, pt := range parts.parts {
		md.Rows += pt.rows
		md.Files = append(md.Files, FileInfo{Name: pt.file.Name(), Rows: pt.rows, Bytes: pt.file.Bytes(), SHA256: pt.file.SHA256()})
	}
	reference := at
	if sel.rng != nil && !sel.rng.to.IsZero() && sel.rng.to.Before(at) {
		reference = sel.rng.to
	}
	md.Quality = meter.result(p.src.Key, p.src.freshColumn(), reference)
	if err := writeMetadata(out, MetadataName(stem, p.format), md); err != nil {
		return nil, err
	}
	return md, nil
}

func writeMetadata(out *Staging, name string, md *Metadata) error {
	data, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		return fmt.Errorf("couldn't encode the export metadata: %w", err)
	}
	f, err := out.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		return err
	}
	return f.Close()
}

func (p *Plan) applied() Applied {
	a := Applied{PII: p.policy, Anonymized: p.anonym, Dropped: p.dropped, Derived: p.spec.Derive}
	if len(p.spec.Rename) > 0 {
		a.Renamed = p.spec.Rename
	}
	return a
}

func (p *Plan) filterInfo(sel *selection) FilterInfo {
	f := FilterInfo{Where: p.spec.Where, Limit: p.spec.Limit, Params: p.spec.Params}
	for _, r := range p.selected {
		f.Columns = append(f.Columns, p.src.Columns[p.read[r]].Name)
	}
	if sel.rng != nil {
		f.Range = &AppliedRange{From: sel.rng.from, To: sel.rng.to}
		if sel.rng.column >= 0 {
			f.Range.Column = p.src.Columns[sel.rng.column].Name
		}
	} else if p.src.Kind == KindAnalytics {
		from, to := analyticsRange(sel)
		f.Range = &AppliedRange{From: from, To: to}
	}
	return f
}

// partSet writes rows into numbered parts of at most max rows.
type partSet struct {
	out    *Staging
	format *Format
	schema Schema
	o      writerOptions
	stem   string
	max    int64
	cur    *part
	parts  []*part
}

type part struct {
	file *StagedFile
	w    rowWriter
	rows int64
}

func (s *partSet) partName(i int) string {
	return fmt.Sprintf("%s.part-%03d%s", s.stem, i, s.format.Ext)
}

func (s *partSet) open() error {
	f, err := s.out.Create(s.partName(len(s.parts) + 1))
	if err != nil {
		return err
	}
	w, err := s.format.open(f, s.schema, s.o)
	if err != nil {
		return err
	}
	s.cur = &part{file: f, w: w}
	s.parts = append(s.parts, s.cur)
	return nil
}

func (s *partSet) closeCurrent() error {
	if err := s.cur.w.Close(); err != nil {
		return fmt.Errorf("couldn't finish %s: %w", s.cur.file.Name(), err)
	}
	if err := s.cur.file.Close(); err != nil {
		return err
	}
	s.cur = nil
	return nil
}

func (s *partSet) write(row Row) error {
	if s.cur != nil && s.max > 0 && s.cur.rows >= s.max {
		if err := s.closeCurrent(); err != nil {
			return err
		}
	}
	if s.cur == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	s.cur.rows++
	return s.cur.w.Write(row)
}

// close finishes the last part (an export without rows has one, with the header alone) and
// names a lone part without its number.
func (s *partSet) close() error {
	if len(s.parts) == 0 {
		if err := s.open(); err != nil {
			return err
		}
	}
	if s.cur != nil {
		if err := s.closeCurrent(); err != nil {
			return err
		}
	}
	if len(s.parts) == 1 {
		s.parts[0].file.SetName(s.stem + s.format.Ext)
	}
	return nil
}

// abort closes what is open; the caller discards the staging.
func (s *partSet) abort() {
	if s.cur != nil {
		_ = s.cur.file.Close()
	}
}
