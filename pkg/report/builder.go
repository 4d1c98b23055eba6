package report

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/insights"
	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/predict"
	"github.com/bdc-analytics/bdc/pkg/store"
)

// DefaultTimeout bounds each statement a report runs.
const DefaultTimeout = 2 * time.Minute

// InsightSource gives the insights of a report: those stored for its period, or found at an
// instant (pkg/insights' Store).
type InsightSource interface {
	List(ctx context.Context, opts insights.ListOptions) ([]insights.Insight, error)
	Detect(ctx context.Context, at time.Time) ([]insights.Insight, error)
}

var _ InsightSource = (*insights.Store)(nil)

// Builder builds documents from the database. Its zero options are the defaults; it is safe for
// concurrent use.
type Builder struct {
	// DB is the platform's database, read in read-only transactions.
	DB *store.DB
	// Timeout bounds each statement; 0 means DefaultTimeout.
	Timeout time.Duration
	// Insights gives the insights sections' content; nil means pkg/insights on DB.
	Insights InsightSource
	// Logger receives a line per section; nil discards them.
	Logger *slog.Logger
	// Now is the clock of GeneratedAt; nil means time.Now.
	Now func() time.Time
}

// build is one document being built.
type build struct {
	b         *Builder
	p         Params
	per       Period
	loc       *time.Location
	kpis      kpiSource
	analytics *analytics.Engine
	predict   *predict.Store
	log       *slog.Logger
}

// Build makes the document of template t for p. A section that cannot be computed fails the
// build, with the section named; a section whose data does not exist yet (no promoted model,
// no insight) says so in a note.
func (b *Builder) Build(ctx context.Context, t *Template, p Params) (*Document, error) {
	per, loc, err := p.resolve(cmp.Or(t.Period, "week"))
	if err != nil {
		return nil, err
	}
	check := analytics.Query{From: per.From, To: per.To, TimeZone: p.TimeZone, Filters: p.Filters}
	if err := check.Validate(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	timeout := cmp.Or(b.Timeout, DefaultTimeout)
	bd := &build{b: b, p: p, per: per, loc: loc, log: b.Logger,
		analytics: &analytics.Engine{DB: b.DB, Timeout: timeout},
		predict:   &predict.Store{DB: b.DB, Timeout: timeout, TimeZone: p.TimeZone}}
	if bd.log == nil {
		bd.log = slog.New(slog.DiscardHandler)
	}
	if p.PrometheusURL != "" {
		if !p.Filters.IsZero() {
			return nil, fmt.Errorf("report: %w", errFiltersNeedPostgres)
		}
		if bd.kpis, err = newPromSource(p.PrometheusURL); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
	} else {
		f := p.Filters
		bd.kpis = &pgSource{db: b.DB, timeout: timeout, params: kpi.Params{TimeZone: p.TimeZone,
			Region: f.Region, AcquisitionChannel: f.AcquisitionChannel, TrainerID: f.TrainerID, AppointmentChannel: f.AppointmentChannel}}
	}
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	doc := &Document{Title: t.Title, Template: t.Name, Description: t.Description, Period: per, TimeZone: p.TimeZone,
		Filters: p.Filters, KPISource: bd.kpis.name(), loc: loc}
	for i, spec := range t.Sections {
		start := time.Now()
		sec, err := bd.section(ctx, spec)
		if err != nil {
			return nil, fmt.Errorf("couldn't build section %d (%s, %q) of %s: %w", i+1, spec.Kind, sectionTitle(spec), t.Name, err)
		}
		sec.Kind = spec.Kind
		sec.Name = fmt.Sprintf("%02d_%s", i+1, spec.Kind)
		if sec.Title == "" {
			sec.Title = sectionTitle(spec)
		}
		for j := range sec.Charts {
			sec.Charts[j].Name = fmt.Sprintf("%s_%d", sec.Name, j+1)
		}
		doc.Sections = append(doc.Sections, sec)
		bd.log.Debug("report section built", "template", t.Name, "section", sec.Name, "duration", time.Since(start))
	}
	doc.GeneratedAt = now()
	return doc, nil
}

// sectionTitle is the section's title, or its kind's default.
func sectionTitle(s SectionSpec) string {
	if s.Title != "" {
		return s.Title
	}
	switch s.Kind {
	case SectionKPIs:
		return "Key figures"
	case SectionTrend:
		return "Trend"
	case SectionCohorts:
		return "Retention by cohort"
	case SectionFunnel:
		return "Funnel"
	case SectionPaths:
		return "Most common journeys"
	case SectionSegments:
		return "Segments"
	case SectionForecast:
		return "Forecast of " + strings.ReplaceAll(s.Series, "_", " ")
	case SectionPredictions:
		return "Highest risks (" + s.Model + ")"
	case SectionInsights:
		return "Insights"
	}
	return ""
}

func (bd *build) section(ctx context.Context, s SectionSpec) (Section, error) {
	switch s.Kind {
	case SectionKPIs:
		return bd.kpiTable(ctx, s)
	case SectionTrend:
		return bd.trend(ctx, s)
	case SectionCohorts:
		return bd.cohorts(ctx, s)
	case SectionFunnel:
		return bd.funnel(ctx, s)
	case SectionPaths:
		return bd.paths(ctx, s)
	case SectionSegments:
		return bd.segments(ctx, s)
	case SectionForecast:
		return bd.forecast(ctx, s)
	case SectionPredictions:
		return bd.predictions(ctx, s)
	case SectionInsights:
		return bd.insights(ctx, s)
	case SectionText:
		return textSection(s), nil
	}
	return Section{}, fmt.Errorf("unknown section kind %q", s.Kind)
}

// query is the analytics query of the range [from, to) with the report's zone and filters.
func (bd *build) query(from, to time.Time) analytics.Query {
	return analytics.Query{From: from, To: to, TimeZone: bd.p.TimeZone, Filters: bd.p.Filters}
}

// kpiFilterNotes says which filters a KPI ignores.
func (bd *build) kpiFilterNotes(defs []kpi.Definition) []string {
	f := bd.p.Filters
	if f.IsZero() {
		return nil
	}
	var notes []string
	var global []string
	for _, d := range defs {
		if !d.Filterable() {
			global = append(global, d.Name)
		}
	}
	if len(global) > 0 {
		notes = append(notes, "The filters do not apply to "+strings.Join(global, ", ")+": they count the whole platform.")
	}
	if len(f.Gender) > 0 || len(f.AgeBand) > 0 {
		notes = append(notes, "KPIs apply the region, acquisition channel, trainer and appointment channel filters only.")
	}
	return notes
}

// unfilteredNote is the note of a section computed for the whole platform whatever the filters.
func (bd *build) unfilteredNote(what string) []string {
	if bd.p.Filters.IsZero() {
		return nil
	}
	return []string{what + " cover the whole platform: the filters do not apply to them."}
}
