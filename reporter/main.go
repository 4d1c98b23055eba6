// Command bdc-reporter runs BDC Analytics' scheduled jobs (reports, exports, insights and model
// training) exactly once per firing across replicas, and
// serves their runs, files and metrics. Commands: daemon (default), run JOB, export, report.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/report"
	"github.com/bdc-analytics/bdc/pkg/schedule"
	"github.com/bdc-analytics/bdc/pkg/store"
)

const application = "bdc-reporter"

// exportFlags are the flags of the export command.
type exportFlags struct {
	spec                          export.Spec
	out, from, to, last, at, tcol string
	period                        string
	where, rename, derive         []string
	columns                       string
	params                        string
}

func main() {
	app := kingpin.New(application, "Scheduled exports and reports of BDC Analytics, each run exactly once across replicas.")
	app.Version(version.Print(application))
	app.HelpFlag.Short('h')
	dbURL := app.Flag("database.url", "PostgreSQL URL of the platform database.").Envar(store.EnvURL).String()
	configFile := app.Flag("config.file", "Reporter configuration (jobs).").Default("reporter.yml").String()
	configCheck := app.Flag("config.check", "Validate --config.file and exit.").Bool()
	outputDir := app.Flag("output.dir", "Folder of the jobs' files; overrides output_dir of --config.file.").String()
	rollupInterval := app.Flag("rollup.interval", "How often the daemon refreshes the analytics' daily activity rollup (0: never; another process must then).").Default(analytics.DefaultRefreshInterval.String()).Duration()
	keyFile := app.Flag("export.hash-key-file", "File holding the key PII is anonymized with (HMAC-SHA-256); "+export.EnvHashKey+" may hold the key instead. Without a key, PII columns are dropped.").String()
	metricsPath := app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
	webFlags := kingpinflag.AddFlags(app, ":10092")
	logCfg := &promslog.Config{}
	promslogflag.AddFlags(app, logCfg)

	app.Command("daemon", "Run the jobs on their schedules and serve the API (the default).").Default()
	runCmd := app.Command("run", "Run a job of --config.file once now, through the same exactly-once path as the daemon.")
	jobName := runCmd.Arg("job", "Name of the job.").Required().String()
	exportCmd := app.Command("export", "Export a source once into a folder.")
	ef := exportCommandFlags(exportCmd)
	reportCmd := app.Command("report", "Build a report once into a folder.")
	rf := reportCommandFlags(reportCmd)

	cmd := kingpin.MustParse(app.Parse(os.Args[1:]))
	logger := promslog.New(logCfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	key, err := export.LoadHashKey(*keyFile, os.Getenv)
	if err != nil {
		app.Fatalf("%v", err)
	}
	if *configCheck {
		cfg, err := schedule.LoadConfig(*configFile, kinds(nil, key, filepath.Dir(*configFile), logger))
		if err != nil {
			app.Fatalf("%v", err)
		}
		fmt.Printf("%s: %d jobs, valid\n", *configFile, len(cfg.Jobs))
		return
	}
	switch cmd {
	case "daemon":
		err = daemon(ctx, *dbURL, *configFile, *outputDir, key, *rollupInterval, *metricsPath, webFlags, logger)
	case "run":
		err = runJob(ctx, *dbURL, *configFile, *outputDir, key, *jobName, logger)
	case "export":
		err = runExport(ctx, *dbURL, ef, key, logger)
	case "report":
		err = runReport(ctx, *dbURL, rf, logger)
	}
	if err != nil {
		app.Fatalf("%v", err)
	}
}

func exportCommandFlags(cmd *kingpin.CmdClause) *exportFlags {
	f := &exportFlags{}
	cmd.Flag("source", "Source: "+strings.Join(export.SourceNames(), ", ")+".").Required().StringVar(&f.spec.Source)
	cmd.Flag("format", "Format: "+strings.Join(export.FormatNames(), ", ")+".").Required().StringVar(&f.spec.Format)
	cmd.Flag("out", "Folder to write the files into (created if missing).").Required().StringVar(&f.out)
	cmd.Flag("name", "Start of the file names (default: the source).").StringVar(&f.spec.Name)
	cmd.Flag("columns", "Comma-separated source columns to export (default: all).").StringVar(&f.columns)
	cmd.Flag("from", "Keep rows at or after this instant or date (RFC 3339 or YYYY-MM-DD).").StringVar(&f.from)
	cmd.Flag("to", "Keep rows before this instant or date.").StringVar(&f.to)
	cmd.Flag("last", "Keep rows of this window before --at (24h, 7d, 4w).").StringVar(&f.last)
	cmd.Flag("period", "Keep rows of the last complete day, week or month before --at.").StringVar(&f.period)
	cmd.Flag("time-column", "Column the time range applies to (default: the source's time column).").StringVar(&f.tcol)
	cmd.Flag("where", "Predicate, repeatable: \"status in (completed, no_show)\", \"score >= 4\", \"completed_at is null\".").StringsVar(&f.where)
	cmd.Flag("limit", "Stop after this many rows (0: all).").Int64Var(&f.spec.Limit)
	cmd.Flag("pii", "PII columns: anonymize (the default with a key), drop (without) or keep.").StringVar(&f.spec.PII)
	cmd.Flag("anonymize", "Column to replace with its keyed hash, repeatable.").StringsVar(&f.spec.Anonymize)
	cmd.Flag("drop", "Column to leave out, repeatable.").StringsVar(&f.spec.Drop)
	cmd.Flag("rename", "old=new, repeatable.").StringsVar(&f.rename)
	cmd.Flag("derive", "name=function(column, ...), repeatable: lead_days=days_between(booked_at, scheduled_at).").StringsVar(&f.derive)
	cmd.Flag("max-rows-per-file", "Split into numbered parts of this many rows (0: the format's limit).").Int64Var(&f.spec.MaxRowsPerFile)
	cmd.Flag("timezone", "Time zone of timestamps and calendar periods.").Default(export.DefaultTimeZone).StringVar(&f.spec.TimeZone)
	cmd.Flag("params", "Analytics parameters as JSON (retention, funnel), with PostHog's names.").StringVar(&f.params)
	cmd.Flag("at", "Instant the export is made at (relative ranges end there); default now.").StringVar(&f.at)
	return f
}

// kinds are the job kinds this build runs (schedule.BuildKinds); template files are relative
// to dir.
func kinds(db *store.DB, key []byte, dir string, logger *slog.Logger) schedule.Kinds {
	return schedule.BuildKinds(db, schedule.BuildOptions{HashKey: key, Dir: dir, Logger: logger})
}

func connect(ctx context.Context, url string) (*store.DB, error) {
	if url == "" {
		return nil, store.ErrNoURL
	}
	db, err := store.Connect(ctx, store.Config{URL: url, Application: application})
	if err != nil {
		return nil, err
	}
	// The reporter owns its tables in bdc_analytics (run records): bring them up to date.
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func loadConfig(path, outputDir string, db *store.DB, key []byte, logger *slog.Logger) (*schedule.Config, error) {
	cfg, err := schedule.LoadConfig(path, kinds(db, key, filepath.Dir(path), logger))
	if err != nil {
		return nil, err
	}
	if outputDir != "" {
		cfg.OutputDir = outputDir
	}
	return cfg, nil
}

func daemon(ctx context.Context, url, configFile, outputDir string, key []byte, rollupInterval time.Duration, metricsPath string, flags *web.FlagConfig, logger *slog.Logger) error {
	db, err := connect(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	cfg, err := loadConfig(configFile, outputDir, db, key, logger)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(versioncollector.NewCollector("bdc_reporter"), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s, err := schedule.New(schedule.Options{DB: db, Config: cfg, Logger: logger, Registerer: reg})
	if err != nil {
		return err
	}
	defer s.Close()
	handler, err := s.Handler(reg, metricsPath)
	if err != nil {
		return err
	}
	logger.Info("starting "+application, "version", version.Info(), "database", db.Addr(), "config", configFile, "owner", s.Owner())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if rollupInterval > 0 {
		// The analytics read the daily activity rollup for the days it covers: keep it fresh.
		go analytics.NewRefresher(db, rollupInterval, logger.With("task", "rollup"), reg).Run(ctx)
	}
	serveErr := exporter.Serve(ctx, handler, flags, logger)
	cancel() // a server that could not start stops the scheduler too
	return errors.Join(serveErr, <-done)
}

func runJob(ctx context.Context, url, configFile, outputDir string, key []byte, name string, logger *slog.Logger) error {
	db, err := connect(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	cfg, err := loadConfig(configFile, outputDir, db, key, logger)
	if err != nil {
		return err
	}
	s, err := schedule.New(schedule.Options{DB: db, Config: cfg, Logger: logger})
	if err != nil {
		return err
	}
	defer s.Close()
	run, err := s.Execute(ctx, name, time.Now().Truncate(time.Second), schedule.TriggerManual)
	if run != nil {
		fmt.Printf("run %d of %s: %s after %d attempt(s), %s\n", run.ID, run.Job, run.Status, run.Attempt, run.Folder)
		for _, f := range run.Files {
			rows := ""
			if !strings.HasSuffix(f.Name, export.MetadataSuffix) {
				rows = fmt.Sprintf("%d rows, ", f.Rows)
			}
			fmt.Printf("  %s (%s%d bytes, sha256 %s)\n", f.Name, rows, f.Bytes, f.SHA256)
		}
	}
	return err
}

func runExport(ctx context.Context, url string, f *exportFlags, key []byte, logger *slog.Logger) error {
	spec, at, err := f.build()
	if err != nil {
		return err
	}
	plan, err := export.Compile(spec, key, nil, "")
	if err != nil {
		return err
	}
	if url == "" {
		return store.ErrNoURL
	}
	db, err := store.Connect(ctx, store.Config{URL: url, Application: application})
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := export.NewStaging(f.out, fmt.Sprintf("cli%d", os.Getpid()))
	if err != nil {
		return err
	}
	md, err := (&export.Exporter{DB: db}).Run(ctx, plan, at, st, export.FileStem(plan, at))
	if err != nil {
		_ = st.Discard()
		return err
	}
	paths, err := st.Publish()
	if err != nil {
		return err
	}
	logger.Info("export written", "source", md.Source, "format", md.Format, "rows", md.Rows, "quality", fmt.Sprintf("%.3f", md.Quality.Score))
	for _, p := range paths {
		fmt.Println(p)
	}
	return nil
}

// build turns the flags into a spec and the export's instant.
func (f *exportFlags) build() (export.Spec, time.Time, error) {
	spec := f.spec
	at := time.Now()
	if f.at != "" {
		t, err := time.Parse(time.RFC3339, f.at)
		if err != nil {
			return spec, at, fmt.Errorf("--at: want an RFC 3339 instant like 2026-06-01T03:00:00+02:00: %w", err)
		}
		at = t
	}
	if f.columns != "" {
		for _, c := range strings.Split(f.columns, ",") {
			spec.Columns = append(spec.Columns, strings.TrimSpace(c))
		}
	}
	r := export.TimeRange{From: f.from, To: f.to, Period: f.period}
	if f.last != "" {
		d, err := model.ParseDuration(f.last)
		if err != nil {
			return spec, at, fmt.Errorf("--last: %w", err)
		}
		r.Last = d
	}
	if !r.IsZero() {
		r.Column = f.tcol
		spec.TimeRange = &r
	} else if f.tcol != "" {
		return spec, at, errors.New("--time-column needs --from, --to, --last or --period")
	}
	for _, w := range f.where {
		p, err := export.ParsePredicate(w)
		if err != nil {
			return spec, at, fmt.Errorf("--where: %w", err)
		}
		spec.Where = append(spec.Where, p)
	}
	for _, d := range f.derive {
		dv, err := export.ParseDerive(d)
		if err != nil {
			return spec, at, fmt.Errorf("--derive: %w", err)
		}
		spec.Derive = append(spec.Derive, dv)
	}
	var err error
	if spec.Rename, err = export.ParseRename(f.rename); err != nil {
		return spec, at, fmt.Errorf("--%w", err)
	}
	if f.params != "" {
		if spec.Params, err = export.ParseParams(f.params); err != nil {
			return spec, at, fmt.Errorf("--params: %w", err)
		}
	}
	return spec, at, nil
}

// reportFlags are the flags of the report command.
type reportFlags struct {
	template, formats, out, name   string
	period, from, to, timezone, at string
	prometheusURL                  string
	filters                        []string
}

func reportCommandFlags(cmd *kingpin.CmdClause) *reportFlags {
	f := &reportFlags{}
	cmd.Flag("template", "Template: "+strings.Join(report.TemplateNames(), ", ")+", or a template file (.yml).").Required().StringVar(&f.template)
	cmd.Flag("format", "Comma-separated formats: "+strings.Join(report.FormatNames(), ", ")+".").Default("pdf").StringVar(&f.formats)
	cmd.Flag("out", "Folder to write the files into (created if missing).").Required().StringVar(&f.out)
	cmd.Flag("name", "Start of the file names (default: the template's name).").StringVar(&f.name)
	cmd.Flag("period", "The last complete day, week, month or quarter before --at (default: the template's).").StringVar(&f.period)
	cmd.Flag("from", "Start of a fixed period (date or RFC 3339 instant), with --to.").StringVar(&f.from)
	cmd.Flag("to", "End of a fixed period (exclusive), with --from.").StringVar(&f.to)
	cmd.Flag("timezone", "Time zone of the period's days.").Default(export.DefaultTimeZone).StringVar(&f.timezone)
	cmd.Flag("filter", "Population filter key=value, repeatable: region, acquisition_channel, gender, age_band, trainer_id, appointment_channel.").StringsVar(&f.filters)
	cmd.Flag("prometheus.url", "Read KPI history from this Prometheus (range queries) instead of computing it from PostgreSQL.").StringVar(&f.prometheusURL)
	cmd.Flag("at", "Instant the report is made at (RFC 3339); default now.").StringVar(&f.at)
	return f
}

func runReport(ctx context.Context, url string, f *reportFlags, logger *slog.Logger) error {
	tmpl, err := report.ResolveTemplate(f.template, "")
	if err != nil {
		return err
	}
	formats, err := report.ParseFormats(strings.Split(f.formats, ","))
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	loc, err := export.LoadZone(f.timezone)
	if err != nil {
		return fmt.Errorf("--timezone: %w", err)
	}
	p := report.Params{At: time.Now(), Period: f.period, TimeZone: f.timezone, PrometheusURL: f.prometheusURL}
	if f.at != "" {
		if p.At, err = time.Parse(time.RFC3339, f.at); err != nil {
			return fmt.Errorf("--at: want an RFC 3339 instant like 2026-06-01T07:00:00+02:00: %w", err)
		}
	}
	if f.from != "" || f.to != "" {
		if p.From, err = report.ParseTime(f.from, loc); err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		if p.To, err = report.ParseTime(f.to, loc); err != nil {
			return fmt.Errorf("--to: %w", err)
		}
	}
	for _, kv := range f.filters {
		if err := report.AddFilter(&p.Filters, kv); err != nil {
			return fmt.Errorf("--filter: %w", err)
		}
	}
	if url == "" {
		return store.ErrNoURL
	}
	db, err := store.Connect(ctx, store.Config{URL: url, Application: application})
	if err != nil {
		return err
	}
	defer db.Close()
	doc, err := (&report.Builder{DB: db, Logger: logger}).Build(ctx, tmpl, p)
	if err != nil {
		return err
	}
	st, err := export.NewStaging(f.out, fmt.Sprintf("cli%d", os.Getpid()))
	if err != nil {
		return err
	}
	name := f.name
	if name == "" {
		name = tmpl.Name
	}
	if _, err := report.Write(doc, formats, st, report.FileStem(name, doc)); err != nil {
		_ = st.Discard()
		return err
	}
	paths, err := st.Publish()
	if err != nil {
		return err
	}
	logger.Info("report written", "template", tmpl.Name, "period", doc.Period.Label, "sections", len(doc.Sections))
	for _, path := range paths {
		fmt.Println(path)
	}
	return nil
}
