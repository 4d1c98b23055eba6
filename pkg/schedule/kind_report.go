package schedule

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/report"
)

// ReportParams is a report job's block.
type ReportParams struct {
	// Template is a built-in template's name (executive_summary, operational, user_behavior,
	// performance) or a custom template file (.yml or .yaml), relative to the configuration's
	// folder.
	Template string `yaml:"template"`
	// Formats to write: pdf, html, xlsx, csv (one CSV per section, zipped), json.
	Formats []string `yaml:"formats"`
	// Period is day, week, month or quarter (the last complete one before the firing);
	// default the template's. From and To (dates or RFC 3339 instants) give a fixed period
	// instead.
	Period string `yaml:"period"`
	From   string `yaml:"from"`
	To     string `yaml:"to"`
	// TimeZone of the period's days; default the job's.
	TimeZone string `yaml:"timezone"`
	// Filters restrict the population of beneficiaries.
	Filters ReportFilters `yaml:"filters"`
	// PrometheusURL, when set, is where KPI history is read (range queries).
	PrometheusURL string `yaml:"prometheus_url"`
	// Name starts the file names; default the template's name.
	Name string `yaml:"name"`
}

// ReportFilters are a report's population filters (pkg/analytics' Filters, in YAML's words).
type ReportFilters struct {
	Region             []string `yaml:"region"`
	AcquisitionChannel []string `yaml:"acquisition_channel"`
	Gender             []string `yaml:"gender"`
	AgeBand            []string `yaml:"age_band"`
	TrainerID          []int64  `yaml:"trainer_id"`
	AppointmentChannel []string `yaml:"appointment_channel"`
}

// Analytics converts the filters to pkg/analytics' type.
func (f ReportFilters) Analytics() analytics.Filters {
	return analytics.Filters{Region: f.Region, AcquisitionChannel: f.AcquisitionChannel, Gender: f.Gender,
		AgeBand: f.AgeBand, TrainerID: f.TrainerID, AppointmentChannel: f.AppointmentChannel}
}

// filterFields maps pkg/analytics' parameter names to the YAML keys, for error paths.
var filterFields = map[string]string{
	"region": "region", "acquisitionChannel": "acquisition_channel", "gender": "gender",
	"ageBand": "age_band", "trainerId": "trainer_id", "appointmentChannel": "appointment_channel",
}

// ReportKind runs jobs of kind report: the job's template is built for the period before the
// firing (or the fixed one given) and written in each format into the run's folder, as
// <name>_<period start><ext>.
type ReportKind struct {
	// Builder reads the data; its DB may be nil when only validating a configuration.
	Builder *report.Builder
	// Dir is the folder relative template files are read from (the configuration's).
	Dir string
}

// Prepare checks the report block: the template (a custom one is read and validated now, its
// errors naming its file, line and field), the formats, the period and the filters.
func (k *ReportKind) Prepare(job *Job, block *yaml.Node, lines export.Lines, path string) (Task, error) {
	if block == nil {
		return nil, lines.Errorf(path, "a report job needs a report block (template, formats, ...)")
	}
	var p ReportParams
	if err := export.DecodeStrict(block, path, &p, lines); err != nil {
		return nil, err
	}
	field := func(name string) string { return export.Join(path, name) }
	if p.Template == "" {
		return nil, lines.Errorf(field("template"), "is required: one of %s, or a template file (.yml)", strings.Join(report.TemplateNames(), ", "))
	}
	tmpl, err := report.ResolveTemplate(p.Template, k.Dir)
	if err != nil {
		return nil, lines.Errorf(field("template"), "%v", err)
	}
	if len(p.Formats) == 0 {
		return nil, lines.Errorf(field("formats"), "list the formats to write (%s)", strings.Join(report.FormatNames(), ", "))
	}
	formats, err := report.ParseFormats(p.Formats)
	if err != nil {
		return nil, lines.Errorf(field("formats"), "%v", err)
	}
	tz := p.TimeZone
	if tz == "" {
		tz = job.TimeZone
	}
	loc, err := export.LoadZone(tz)
	if err != nil {
		return nil, lines.Errorf(field("timezone"), "%v", err)
	}
	params := report.Params{Period: p.Period, TimeZone: tz, Filters: p.Filters.Analytics(), PrometheusURL: p.PrometheusURL}
	if p.Period != "" && (p.From != "" || p.To != "") {
		return nil, lines.Errorf(field("period"), "give a period, or from and to, not both")
	}
	if p.Period != "" && !slices.Contains(report.Periods, p.Period) {
		return nil, lines.Errorf(field("period"), "unknown period %q (want one of %s)", p.Period, strings.Join(report.Periods, ", "))
	}
	if (p.From == "") != (p.To == "") {
		return nil, lines.Errorf(field("from"), "give both from and to")
	}
	if p.From != "" {
		if params.From, err = report.ParseTime(p.From, loc); err != nil {
			return nil, lines.Errorf(field("from"), "%v", err)
		}
		if params.To, err = report.ParseTime(p.To, loc); err != nil {
			return nil, lines.Errorf(field("to"), "%v", err)
		}
		if !params.From.Before(params.To) {
			return nil, lines.Errorf(field("to"), "must be after from (%s)", p.From)
		}
	}
	check := analytics.Query{From: time.Unix(0, 0), To: time.Unix(1, 0), TimeZone: tz, Filters: params.Filters}
	if err := check.Validate(); err != nil {
		var pe *analytics.ParamError
		if errors.As(err, &pe) {
			name, rest, _ := strings.Cut(strings.TrimPrefix(pe.Param, "filters."), "[")
			f := field("filters." + filterFields[name])
			if rest != "" {
				f += "[" + rest
			}
			return nil, lines.Errorf(f, "%s", pe.Reason)
		}
		return nil, lines.Errorf(field("filters"), "%v", err)
	}
	if p.PrometheusURL != "" && !params.Filters.IsZero() {
		return nil, lines.Errorf(field("prometheus_url"), "filters need KPIs computed from PostgreSQL: Prometheus holds the KPIs of the whole platform")
	}
	if p.PrometheusURL != "" && !strings.HasPrefix(p.PrometheusURL, "http://") && !strings.HasPrefix(p.PrometheusURL, "https://") {
		return nil, lines.Errorf(field("prometheus_url"), "%q is not an http(s) URL", p.PrometheusURL)
	}
	name := p.Name
	if name == "" {
		name = tmpl.Name
	}
	if name != filepath.Base(name) || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`) {
		return nil, lines.Errorf(field("name"), "%q cannot start a file name", name)
	}
	return func(ctx context.Context, f Firing, out *export.Staging) (Outcome, error) {
		if k.Builder == nil || k.Builder.DB == nil {
			return Outcome{}, errors.New("no database to build reports from")
		}
		pp := params
		pp.At = f.At
		doc, err := k.Builder.Build(ctx, tmpl, pp)
		if err != nil {
			return Outcome{}, err
		}
		files, err := report.Write(doc, formats, out, report.FileStem(name, doc))
		if err != nil {
			return Outcome{}, err
		}
		names := make([]string, len(formats))
		for i, fm := range formats {
			names[i] = fm.Name
		}
		return Outcome{Files: files, Summary: fmt.Sprintf("%s for %s: %d sections as %s", tmpl.Name, doc.Period.Label,
			len(doc.Sections), strings.Join(names, ", "))}, nil
	}, nil
}
