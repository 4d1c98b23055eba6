package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/predict"
)

// Template is a report's recipe: a title, a default period and sections from the catalogue.
// The built-in templates are Go values (Templates); custom ones are YAML files of the same shape:
//
//	title: Operations, Île-de-France
//	period: week
//	sections:
//	  - kind: kpis
//	    kpis: ['bdc_appointment_noshow_ratio{window="auto"}', bdc_satisfaction_score]
//	  - kind: funnel
//	    steps: [signup, appointment_booked, appointment_completed]
type Template struct {
	// Name identifies the template (file names, the document); a file's name defaults to the
	// file's base name.
	Name string `yaml:"name" json:"name"`
	// Title heads the report.
	Title string `yaml:"title" json:"title"`
	// Description says what the report is for; it opens the report.
	Description string `yaml:"description" json:"description,omitempty"`
	// Period is the default period (day, week, month, quarter) when the job gives none.
	Period string `yaml:"period" json:"period,omitempty"`
	// Sections in order.
	Sections []SectionSpec `yaml:"sections" json:"sections"`
}

// Section kinds: the catalogue.
const (
	SectionKPIs        = "kpis"        // KPI table: current vs previous period with change
	SectionTrend       = "trend"       // KPIs over the period's days, as a chart
	SectionCohorts     = "cohorts"     // retention matrix of registration cohorts
	SectionFunnel      = "funnel"      // conversion funnel over the period
	SectionPaths       = "paths"       // most common journeys over the period
	SectionSegments    = "segments"    // RFM or k-means segments
	SectionForecast    = "forecast"    // a daily series' history and forecast with its interval
	SectionPredictions = "predictions" // highest-risk appointments or beneficiaries, by id
	SectionInsights    = "insights"    // automated insights of the period
	SectionText        = "text"        // free text
)

// SectionKinds lists the catalogue, in the order documentation lists it.
var SectionKinds = []string{SectionKPIs, SectionTrend, SectionCohorts, SectionFunnel, SectionPaths, SectionSegments,
	SectionForecast, SectionPredictions, SectionInsights, SectionText}

// sectionFields are the settings each kind takes (besides kind and title).
var sectionFields = map[string][]string{
	SectionKPIs:        {"kpis"},
	SectionTrend:       {"kpis"},
	SectionCohorts:     {"period", "cohorts", "intervals", "returning"},
	SectionFunnel:      {"steps", "window_days"},
	SectionPaths:       {"limit"},
	SectionSegments:    {"method", "days"},
	SectionForecast:    {"series", "history_days", "horizon_days"},
	SectionPredictions: {"model", "threshold", "horizon_days", "limit"},
	SectionInsights:    {"category", "priority", "limit"},
	SectionText:        {"text"},
}

// SectionSpec is one section of a template. Each kind takes its own settings; zero values take
// the defaults noted.
type SectionSpec struct {
	// Kind is the catalogue entry (SectionKinds).
	Kind string `yaml:"kind" json:"kind"`
	// Title heads the section; each kind has a default.
	Title string `yaml:"title" json:"title,omitempty"`
	// KPIs (kpis, trend) are KPI selectors: bdc_users_active{window="auto"}.
	KPIs []string `yaml:"kpis" json:"kpis,omitempty"`
	// Period (cohorts) is day, week (default) or month; Cohorts the number of cohorts
	// (default 8) ending with the report's period; Intervals the periods followed (default 8);
	// Returning the event that counts as coming back (default any activity).
	Period    string `yaml:"period" json:"period,omitempty"`
	Cohorts   int    `yaml:"cohorts" json:"cohorts,omitempty"`
	Intervals int    `yaml:"intervals" json:"intervals,omitempty"`
	Returning string `yaml:"returning" json:"returning,omitempty"`
	// Steps (funnel) are events in short form (signup, appointment_booked, activity:login);
	// WindowDays the conversion window (default 30).
	Steps      []string `yaml:"steps" json:"steps,omitempty"`
	WindowDays int      `yaml:"window_days" json:"window_days,omitempty"`
	// Method (segments) is rfm (default) or kmeans; Days the days of behaviour before the
	// period's end that segment (default 90).
	Method string `yaml:"method" json:"method,omitempty"`
	Days   int    `yaml:"days" json:"days,omitempty"`
	// Series (forecast) is appointments, registrations or trainer_utilization; HistoryDays the
	// days of history drawn (default 56); HorizonDays the days forecast (default 28), or for
	// predictions the days ahead whose appointments are scored (default 7).
	Series      string `yaml:"series" json:"series,omitempty"`
	HistoryDays int    `yaml:"history_days" json:"history_days,omitempty"`
	HorizonDays int    `yaml:"horizon_days" json:"horizon_days,omitempty"`
	// Model (predictions) is noshow (default), churn or engagement; Threshold the risk from
	// which a row is listed (default 0.5).
	Model     string  `yaml:"model" json:"model,omitempty"`
	Threshold float64 `yaml:"threshold" json:"threshold,omitempty"`
	// Limit bounds the rows listed (paths: journeys, default 10; predictions and insights:
	// default 20).
	Limit int `yaml:"limit" json:"limit,omitempty"`
	// Category (insights) keeps one category (trend, anomaly, risk); Priority one priority
	// (high, medium, low).
	Category string `yaml:"category" json:"category,omitempty"`
	Priority string `yaml:"priority" json:"priority,omitempty"`
	// Text (text) is the paragraphs, separated by blank lines.
	Text string `yaml:"text" json:"text,omitempty"`
}

// TemplateError locates a problem in a template file: file, line and field.
type TemplateError struct {
	File   string
	Line   int
	Field  string
	Reason string
}

// Error reads like ops.yml:12: sections[2].kind: reason.
func (e *TemplateError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %s", e.File, e.Field, e.Reason)
}

// LoadTemplate reads and validates a template file.
func LoadTemplate(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the report template: %w", err)
	}
	return ParseTemplate(path, data)
}

// ParseTemplate validates a template file's content, filling defaults; errors are
// *TemplateError naming the file, the line and the field. It does no I/O.
func ParseTemplate(file string, data []byte) (*Template, error) {
	var root yaml.Node
	err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&root)
	switch {
	case errors.Is(err, io.EOF) || (err == nil && len(root.Content) == 0):
		return nil, &TemplateError{File: file, Field: "(top level)", Reason: "the file is empty: want title and sections"}
	case err != nil:
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		var line int
		if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
			_, msg, _ = strings.Cut(msg, ": ")
		}
		return nil, &TemplateError{File: file, Line: line, Field: "(syntax)", Reason: msg}
	}
	t := &Template{}
	lines := export.Lines{}
	if err := export.DecodeStrict(root.Content[0], "", t, lines); err != nil {
		return nil, templateErr(file, err)
	}
	itemLines(root.Content[0], "", lines)
	if t.Name == "" {
		base := file[strings.LastIndexAny(file, `/\`)+1:]
		t.Name = strings.TrimSuffix(strings.TrimSuffix(base, ".yml"), ".yaml")
	}
	if err := t.Validate(lines); err != nil {
		return nil, templateErr(file, err)
	}
	return t, nil
}

// itemLines records the line of every item of the lists under node (DecodeStrict records the
// list's), so that an error about one KPI or one step names its own line.
func itemLines(node *yaml.Node, path string, lines export.Lines) {
	switch node.Kind {
	case yaml.MappingNode:
		for k := 0; k+1 < len(node.Content); k += 2 {
			itemLines(node.Content[k+1], export.Join(path, node.Content[k].Value), lines)
		}
	case yaml.SequenceNode:
		for i, item := range node.Content {
			p := export.Index(path, i)
			if _, ok := lines[p]; !ok {
				lines[p] = item.Line
			}
			itemLines(item, p, lines)
		}
	}
}

func templateErr(file string, err error) error {
	var fe *export.FieldError
	if errors.As(err, &fe) {
		return &TemplateError{File: file, Line: fe.Line, Field: fe.Field, Reason: fe.Reason}
	}
	return fmt.Errorf("%s: %w", file, err)
}

// Validate checks the template and fills its defaults; errors are *export.FieldError located
// with lines (nil for a template built in Go).
func (t *Template) Validate(lines export.Lines) error {
	if strings.TrimSpace(t.Title) == "" {
		return lines.Errorf("title", "is required")
	}
	if !nameRE(t.Name) {
		return lines.Errorf("name", "%q is not a template name: lower-case letters, digits, '_' and '-'", t.Name)
	}
	if t.Period != "" && !slices.Contains(Periods, t.Period) {
		return lines.Errorf("period", "unknown period %q (want one of %s)", t.Period, strings.Join(Periods, ", "))
	}
	if len(t.Sections) == 0 {
		return lines.Errorf("sections", "a report needs at least one section (kinds: %s)", strings.Join(SectionKinds, ", "))
	}
	for i := range t.Sections {
		if err := t.Sections[i].validate(lines, export.Index("sections", i)); err != nil {
			return err
		}
	}
	return nil
}

func nameRE(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (i > 0 && (c == '_' || c == '-'))
		if !ok {
			return false
		}
	}
	return true
}

// validate checks a section's kind and settings and fills defaults.
func (s *SectionSpec) validate(lines export.Lines, path string) error {
	field := func(name string) string { return export.Join(path, name) }
	allowed, ok := sectionFields[s.Kind]
	if !ok {
		if s.Kind == "" {
			return lines.Errorf(field("kind"), "is required (one of %s)", strings.Join(SectionKinds, ", "))
		}
		return lines.Errorf(field("kind"), "unknown section kind %q (want one of %s)", s.Kind, strings.Join(SectionKinds, ", "))
	}
	v := reflect.ValueOf(s).Elem()
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		if name == "kind" || name == "title" || v.Field(i).IsZero() || slices.Contains(allowed, name) {
			continue
		}
		return lines.Errorf(field(name), "sections of kind %s do not take %s (they take %s)", s.Kind, name, strings.Join(allowed, ", "))
	}
	between := func(name string, v *int, lo, hi, deflt int) error {
		if *v == 0 {
			*v = deflt
		}
		if *v < lo || *v > hi {
			return lines.Errorf(field(name), "must be between %d and %d, got %d", lo, hi, *v)
		}
		return nil
	}
	switch s.Kind {
	case SectionKPIs, SectionTrend:
		if len(s.KPIs) == 0 {
			return lines.Errorf(field("kpis"), "list the KPIs, e.g. 'bdc_appointment_noshow_ratio{window=\"auto\"}'")
		}
		if len(s.KPIs) > 40 {
			return lines.Errorf(field("kpis"), "at most 40 KPIs per section, got %d", len(s.KPIs))
		}
		for i, k := range s.KPIs {
			if _, err := ParseSelector(k); err != nil {
				return lines.Errorf(export.Index(field("kpis"), i), "%v", err)
			}
		}
	case SectionCohorts:
		if s.Period == "" {
			s.Period = "week"
		}
		if !slices.Contains([]string{"day", "week", "month"}, s.Period) {
			return lines.Errorf(field("period"), "unknown period %q (want day, week or month)", s.Period)
		}
		if err := between("cohorts", &s.Cohorts, 1, 52, 8); err != nil {
			return err
		}
		if err := between("intervals", &s.Intervals, 1, 52, 8); err != nil {
			return err
		}
		if s.Returning == "" {
			s.Returning = string(analytics.EventActivity)
		}
		if _, err := analytics.ParseEvent(s.Returning); err != nil {
			return lines.Errorf(field("returning"), "%v", err)
		}
	case SectionFunnel:
		if len(s.Steps) < analytics.MinFunnelSteps || len(s.Steps) > analytics.MaxFunnelSteps {
			return lines.Errorf(field("steps"), "a funnel has %d to %d steps, got %d", analytics.MinFunnelSteps, analytics.MaxFunnelSteps, len(s.Steps))
		}
		for i, st := range s.Steps {
			if _, err := analytics.ParseEvent(st); err != nil {
				return lines.Errorf(export.Index(field("steps"), i), "%v", err)
			}
		}
		if err := between("window_days", &s.WindowDays, 1, 366, 30); err != nil {
			return err
		}
	case SectionPaths:
		if err := between("limit", &s.Limit, 1, analytics.MaxJourneyLimit, analytics.DefaultJourneyLimit); err != nil {
			return err
		}
	case SectionSegments:
		if s.Method == "" {
			s.Method = string(analytics.SegmentRFM)
		}
		if s.Method != string(analytics.SegmentRFM) && s.Method != string(analytics.SegmentKMeans) {
			return lines.Errorf(field("method"), "unknown method %q (want rfm or kmeans)", s.Method)
		}
		if err := between("days", &s.Days, 7, 730, 90); err != nil {
			return err
		}
	case SectionForecast:
		if !slices.Contains(predict.SeriesNames(), s.Series) {
			return lines.Errorf(field("series"), "unknown series %q (want one of %s)", s.Series, strings.Join(predict.SeriesNames(), ", "))
		}
		if err := between("history_days", &s.HistoryDays, 7, 365, 56); err != nil {
			return err
		}
		if err := between("horizon_days", &s.HorizonDays, 1, 90, 28); err != nil {
			return err
		}
	case SectionPredictions:
		if s.Model == "" {
			s.Model = predict.NoShow
		}
		if !slices.Contains(riskModels, s.Model) {
			return lines.Errorf(field("model"), "unknown model %q (want one of %s)", s.Model, strings.Join(riskModels, ", "))
		}
		if s.HorizonDays != 0 && s.Model != predict.NoShow {
			return lines.Errorf(field("horizon_days"), "only the noshow model scores upcoming days; %s scores the beneficiaries active now", s.Model)
		}
		if s.Model == predict.NoShow {
			if err := between("horizon_days", &s.HorizonDays, 1, 60, predict.DefaultHorizonDays); err != nil {
				return err
			}
		}
		if s.Threshold == 0 {
			s.Threshold = 0.5
		}
		if s.Threshold <= 0 || s.Threshold >= 1 {
			return lines.Errorf(field("threshold"), "must be a risk between 0 and 1 (exclusive), got %g", s.Threshold)
		}
		if err := between("limit", &s.Limit, 1, 500, 20); err != nil {
			return err
		}
	case SectionInsights:
		if s.Category != "" && !slices.Contains(insightCategories, s.Category) {
			return lines.Errorf(field("category"), "unknown category %q (want one of %s)", s.Category, strings.Join(insightCategories, ", "))
		}
		if s.Priority != "" && !slices.Contains(insightPriorities, s.Priority) {
			return lines.Errorf(field("priority"), "unknown priority %q (want one of %s)", s.Priority, strings.Join(insightPriorities, ", "))
		}
		if err := between("limit", &s.Limit, 1, 200, 20); err != nil {
			return err
		}
	case SectionText:
		if strings.TrimSpace(s.Text) == "" {
			return lines.Errorf(field("text"), "a text section needs its text")
		}
	}
	return nil
}

// riskModels are the classifiers whose scores are risks a predictions section lists.
var riskModels = []string{predict.NoShow, predict.Churn, predict.Engagement}

// Insight categories and priorities, as pkg/insights names them.
var (
	insightCategories = []string{"trend", "anomaly", "risk"}
	insightPriorities = []string{"high", "medium", "low"}
)

// Templates are the built-in templates, by name.
func Templates() map[string]*Template {
	out := map[string]*Template{}
	for _, t := range []*Template{executiveSummary(), operational(), userBehavior(), performance()} {
		out[t.Name] = t
	}
	return out
}

// TemplateNames lists the built-in templates.
func TemplateNames() []string {
	return []string{"executive_summary", "operational", "user_behavior", "performance"}
}

// LookupTemplate returns a built-in template by name, validated.
func LookupTemplate(name string) (*Template, error) {
	t, ok := Templates()[name]
	if !ok {
		return nil, fmt.Errorf("unknown template %q (built in: %s; or a .yml file)", name, strings.Join(TemplateNames(), ", "))
	}
	if err := t.Validate(nil); err != nil {
		return nil, fmt.Errorf("built-in template %s: %w", name, err)
	}
	return t, nil
}

// ResolveTemplate returns the template a job or the command line names: a built-in template by
// name, or a template file (.yml, .yaml) read from dir when its path is relative.
func ResolveTemplate(nameOrFile, dir string) (*Template, error) {
	if !strings.HasSuffix(nameOrFile, ".yml") && !strings.HasSuffix(nameOrFile, ".yaml") {
		return LookupTemplate(nameOrFile)
	}
	if !filepath.IsAbs(nameOrFile) && dir != "" {
		nameOrFile = filepath.Join(dir, nameOrFile)
	}
	return LoadTemplate(nameOrFile)
}
