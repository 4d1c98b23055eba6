// Command bdc-exporter publishes the KPIs, real-time figures, model scores and forecasts of a
// career-assessment platform as Prometheus metrics. Commands: serve (default), migrate, seed, demo.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/store"
)

const application = "bdc-exporter"

// schedule receives the interval and timeout flags of one KPI group.
type schedule struct{ Interval, Timeout time.Duration }

func main() {
	app := kingpin.New(application, "Prometheus exporter of BDC Analytics: KPIs, real-time figures, model scores and forecasts from the platform's PostgreSQL.")
	app.Version(version.Print(application))
	app.HelpFlag.Short('h')
	dbURL := app.Flag("database.url", "PostgreSQL URL of the platform database.").Envar(store.EnvURL).String()
	metricsPath := app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
	opts := exporter.Options{Schedules: exporter.Schedules{}}
	schedules := map[kpi.Group]*schedule{}
	app.Flag("config.file", "Custom metrics file (YAML); reloaded on SIGHUP and POST /-/reload.").StringVar(&opts.ConfigFile)
	configCheck := app.Flag("config.check", "Validate --config.file and exit.").Bool()
	app.Flag("collector.concurrency", "Queries running at once.").Default("4").IntVar(&opts.Concurrency)
	app.Flag("collector.timezone", "Time zone of calendar days (today's appointments, utilization).").Default(kpi.DefaultTimeZone).StringVar(&opts.TimeZone)
	for _, g := range []kpi.Group{kpi.RealTime, kpi.Business, kpi.Operational, kpi.Experience} {
		def := exporter.DefaultSchedules[g]
		sched := &schedule{}
		app.Flag("collector."+string(g)+".interval", "Refresh interval of the "+string(g)+" KPIs.").Default(def.Interval.String()).DurationVar(&sched.Interval)
		app.Flag("collector."+string(g)+".timeout", "Timeout of one "+string(g)+" KPI query.").Default(def.Timeout.String()).DurationVar(&sched.Timeout)
		schedules[g] = sched
	}
	app.Flag("models.disabled", "Leave out the model and forecast metrics.").BoolVar(&opts.Models.Disabled)
	app.Flag("models.interval", "Refresh interval of the model and forecast metrics.").Default(exporter.DefaultModelSchedule.Interval.String()).DurationVar(&opts.Models.Schedule.Interval)
	app.Flag("models.timeout", "Timeout of one model or forecast refresh.").Default(exporter.DefaultModelSchedule.Timeout.String()).DurationVar(&opts.Models.Schedule.Timeout)
	app.Flag("models.noshow-threshold", "No-show risk at or above which an upcoming appointment counts as high-risk.").Default(fmt.Sprint(exporter.DefaultRiskThreshold)).Float64Var(&opts.Models.NoShowThreshold)
	app.Flag("models.churn-threshold", "Churn risk at or above which an active beneficiary counts as at risk.").Default(fmt.Sprint(exporter.DefaultRiskThreshold)).Float64Var(&opts.Models.ChurnThreshold)
	webFlags := kingpinflag.AddFlags(app, ":10091")
	logCfg := &promslog.Config{}
	promslogflag.AddFlags(app, logCfg)

	app.Command("serve", "Serve metrics (the default).").Default()
	app.Command("migrate", "Create or upgrade the schemas bdc and bdc_analytics.")
	seedCmd := app.Command("seed", "Migrate, then load a generated platform with ground truth into empty tables.")
	seedCfg := scaleFlags(seedCmd)
	demoCmd := app.Command("demo", "Find or start PostgreSQL, seed it when empty, keep it moving and serve metrics.")
	demoCfg := scaleFlags(demoCmd)
	localURL := demoCmd.Flag("demo.local-url", "Server tried when --database.url is not given, before starting a throwaway cluster.").Default(demo.LocalURL).String()
	sim := demo.DefaultSimulator
	demoCmd.Flag("simulate.sessions-per-minute", "Live visits per minute.").Default(fmt.Sprint(sim.SessionsPerMinute)).Float64Var(&sim.SessionsPerMinute)
	demoCmd.Flag("simulate.bookings-per-hour", "Live bookings per hour.").Default(fmt.Sprint(sim.BookingsPerHour)).Float64Var(&sim.BookingsPerHour)

	cmd := kingpin.MustParse(app.Parse(os.Args[1:]))
	logger := promslog.New(logCfg)
	for g, sched := range schedules {
		opts.Schedules[g] = exporter.Schedule(*sched)
	}
	if *configCheck {
		if opts.ConfigFile == "" {
			app.Fatalf("--config.check needs --config.file")
		}
		cfg, err := exporter.LoadCustomConfig(opts.ConfigFile)
		if err != nil {
			app.Fatalf("%v", err)
		}
		fmt.Printf("%s: %d custom metrics, valid\n", opts.ConfigFile, len(cfg.Metrics))
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, *dbURL, opts, *metricsPath, webFlags, logger)
	case "migrate":
		err = migrate(ctx, *dbURL, logger)
	case "seed":
		var cfg demo.Config
		if cfg, err = seedCfg.config(); err == nil {
			err = seed(ctx, *dbURL, cfg, logger)
		}
	case "demo":
		var cfg demo.Config
		if cfg, err = demoCfg.config(); err == nil {
			err = runDemo(ctx, *dbURL, *localURL, cfg, sim, opts, *metricsPath, webFlags, logger)
		}
	}
	if err != nil {
		app.Fatalf("%v", err)
	}
}

type scale struct {
	users, days int
	seed        uint64
	depth       float64
	end         string
}

func scaleFlags(cmd *kingpin.CmdClause) *scale {
	s := &scale{}
	cmd.Flag("users", fmt.Sprintf("User accounts to generate (%d to %d).", demo.MinUsers, demo.MaxUsers)).Default(fmt.Sprint(demo.DefaultUsers)).IntVar(&s.users)
	cmd.Flag("days", "Days of history.").Default(fmt.Sprint(demo.DefaultDays)).IntVar(&s.days)
	cmd.Flag("seed", "Random seed: the same seed and scale give identical tables.").Default(fmt.Sprint(demo.DefaultSeed)).Uint64Var(&s.seed)
	cmd.Flag("end", "Date (YYYY-MM-DD, Europe/Paris) at which history stops; default today.").StringVar(&s.end)
	cmd.Flag("session-depth", fmt.Sprintf("Mean actions per visit after the login (%d to %d): deeper visits add activity events and change nothing else.", demo.DefaultSessionDepth, demo.MaxSessionDepth)).Default(fmt.Sprint(demo.DefaultSessionDepth)).Float64Var(&s.depth)
	return s
}

// config returns the validated generator configuration of the flags.
func (s *scale) config() (demo.Config, error) {
	cfg := demo.Config{Users: s.users, Days: s.days, Seed: s.seed, SessionDepth: s.depth}
	if s.end != "" {
		end, err := time.ParseInLocation(time.DateOnly, s.end, demo.Location)
		if err != nil {
			return cfg, fmt.Errorf("--end: want a date like 2026-01-31: %w", err)
		}
		cfg.End = end
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("invalid scale: %w", err)
	}
	return cfg, nil
}

func serve(ctx context.Context, url string, opts exporter.Options, metricsPath string, flags *web.FlagConfig, logger *slog.Logger) error {
	if url == "" {
		return store.ErrNoURL
	}
	// The exporter starts while PostgreSQL is down and reports it through bdc_exporter_database_up.
	db, err := store.Open(ctx, store.Config{URL: url, Application: application})
	if err != nil {
		return err
	}
	defer db.Close()
	return serveDB(ctx, db, opts, metricsPath, flags, logger)
}

func serveDB(ctx context.Context, db *store.DB, opts exporter.Options, metricsPath string, flags *web.FlagConfig, logger *slog.Logger) error {
	exp, err := exporter.New(db, logger, opts)
	if err != nil {
		return err
	}
	handler, err := exp.Handler(metricsPath)
	if err != nil {
		return err
	}
	logger.Info("starting "+application, "version", version.Info(), "database", db.Addr())
	go exp.Run(ctx)
	go reloadOnHangup(ctx, exp, logger)
	return exporter.Serve(ctx, handler, flags, logger)
}

// reloadOnHangup reloads the custom metrics on SIGHUP.
func reloadOnHangup(ctx context.Context, exp *exporter.Exporter, logger *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := exp.Reload(); err != nil {
				logger.Error("reload failed, keeping the current metrics", "err", err)
			}
		}
	}
}

func connect(ctx context.Context, url string) (*store.DB, error) {
	if url == "" {
		return nil, store.ErrNoURL
	}
	return store.Connect(ctx, store.Config{URL: url, Application: application})
}

func migrate(ctx context.Context, url string, logger *slog.Logger) error {
	db, err := connect(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	cur, _, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	logger.Info("schema up to date", "version", cur, "database", db.Addr())
	return nil
}

func seed(ctx context.Context, url string, cfg demo.Config, logger *slog.Logger) error {
	db, err := connect(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	stats, err := demo.Seed(ctx, db, cfg, logger)
	if errors.Is(err, demo.ErrNotEmpty) {
		return fmt.Errorf("database at %s: %w; seed an empty database", db.Addr(), err)
	}
	if err != nil {
		return err
	}
	logger.Info("seed loaded", "rows", stats.Total(), "rows_per_second", int(float64(stats.Total())/stats.Duration.Seconds()))
	return nil
}

func runDemo(ctx context.Context, url, localURL string, cfg demo.Config, sim demo.SimulatorConfig, opts exporter.Options, metricsPath string, flags *web.FlagConfig, logger *slog.Logger) error {
	loc, err := demo.Locate(ctx, url, localURL, logger)
	if err != nil {
		return err
	}
	defer func() {
		if err := loc.Close(context.WithoutCancel(ctx)); err != nil {
			logger.Error("couldn't remove the throwaway cluster", "err", err)
		}
	}()
	db, err := connect(ctx, loc.URL)
	if err != nil {
		return err
	}
	defer db.Close()
	logger.Info("demo database", "from", loc.Source, "database", db.Addr())
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	seeded, err := demo.Seeded(ctx, db)
	if err != nil {
		return err
	}
	if !seeded {
		_, err := demo.Seed(ctx, db, cfg, logger)
		switch {
		case errors.Is(err, demo.ErrNotEmpty):
			logger.Info("the bdc tables already hold data: serving it as it is")
		case err != nil:
			return err
		}
	}
	// The demo has no reporter: the exporter trains the models and forecasts once at start.
	opts.Models.TrainAtStart = true
	go func() {
		if err := demo.NewSimulator(db, sim, logger).Run(ctx); err != nil {
			logger.Error("simulator stopped", "err", err)
		}
	}()
	return serveDB(ctx, db, opts, metricsPath, flags, logger)
}
