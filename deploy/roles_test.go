package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bdc-analytics/bdc/bench/cmd/benchreport/results"
	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/pgcluster"
	"github.com/bdc-analytics/bdc/pkg/predict"
	"github.com/bdc-analytics/bdc/pkg/schedule"
	"github.com/bdc-analytics/bdc/pkg/store"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

// roles are deploy/postgres/roles.sql's roles.
var roles = []string{"bdc_exporter", "bdc_reporter", "bdc_grafana"}

// TestLeastPrivilegeRoles applies roles.sql to a throwaway cluster of the test's own (roles
// are cluster-wide: the shared server keeps none of them), once before the migrations (as
// docker-compose does) and once after (as an operator adding them to a running platform), and
// checks the privilege matrix of every table. Then it runs each component's work connected as
// its role: the reporter's rollup refresh, train job and export job through the exactly-once
// scheduler; the exporter's every query, models included; the plugin's analytics and
// predictions. Every forbidden write fails with a permission error.
//
// The cluster trusts local connections, so the passwords roles.sql sets are not checked here.
func TestLeastPrivilegeRoles(t *testing.T) {
	ctx := t.Context()
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.WithoutCancel(ctx)) })
	admin, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, name := range []string{"before", "after"} {
		if _, err := admin.Exec(ctx, "create database "+name); err != nil {
			t.Fatal(err)
		}
	}
	scale := testdb.Scale

	// Roles first, then the migrations and the seed by the owner.
	applyRoles(t, c, "before")
	owner := connectAs(t, c, "postgres", "before")
	if err := owner.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Seed(ctx, owner, scale, nil); err != nil {
		t.Fatal(err)
	}
	// The migrations and seed first, then the roles.
	after := connectAs(t, c, "postgres", "after")
	if err := after.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	applyRoles(t, c, "after")
	applyRoles(t, c, "after") // and again: the script is idempotent
	for _, db := range []*store.DB{owner, after} {
		checkPrivileges(t, db)
	}

	reporter := connectAs(t, c, "bdc_reporter", "before")
	exporterDB := connectAs(t, c, "bdc_exporter", "before")
	grafana := connectAs(t, c, "bdc_grafana", "before")
	at := scale.End.Add(-time.Hour)

	t.Run("reporter", func(t *testing.T) {
		if err := reporter.Migrate(ctx); err != nil {
			t.Fatalf("the reporter's start-up schema check: %v", err)
		}
		if _, err := analytics.RefreshRollups(ctx, reporter); err != nil {
			t.Fatalf("rollup refresh: %v", err)
		}
		cfg, err := schedule.ParseConfig("reporter.yml", []byte(`output_dir: `+t.TempDir()+`
jobs:
  - name: retrain_models
    kind: train
    schedule: "0 3 * * 0"
  - name: daily_export
    kind: export
    schedule: "30 3 * * *"
    export:
      - {source: appointments, format: csv, time_range: {column: scheduled_at, period: day}}
      - {source: retention, format: json, params: {period: week, totalIntervals: 4}}
  - name: daily_insights
    kind: insights
    schedule: "0 6 * * *"
  - name: weekly_reports
    kind: report
    schedule: "0 7 * * 1"
    report: {template: executive_summary, formats: [html, json], period: week}
`), schedule.BuildKinds(reporter, schedule.BuildOptions{Forecast: predict.ForecastOptions{BacktestOrigins: 1, HistoryDays: 200}}))
		if err != nil {
			t.Fatal(err)
		}
		s, err := schedule.New(schedule.Options{DB: reporter, Config: cfg, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, job := range []string{"retrain_models", "daily_export", "daily_insights", "weekly_reports"} {
			run, err := s.Execute(ctx, job, at, "manual")
			if err != nil || run.Status != "succeeded" {
				t.Fatalf("%s as bdc_reporter: %v, run %+v", job, err, run)
			}
		}
		refused := forbidden(t, reporter, "insert into bdc.support_tickets (user_id, category, opened_at) values (1, 'x', now())")
		forbidden(t, reporter, "create table bdc_analytics.scratch (x int)")
		forbidden(t, reporter, "create schema scratch")
		recordRole(t, "bdc_reporter", "the rollup refresh, the train, export, insights and report jobs ran through the scheduler", refused)
	})

	t.Run("exporter", func(t *testing.T) {
		fast := exporter.Schedule{Interval: time.Second, Timeout: 30 * time.Second}
		addr := testtools.ServeExporter(t, exporterDB, exporter.Options{Now: func() time.Time { return at },
			Schedules: exporter.Schedules{kpi.RealTime: fast, kpi.Business: fast, kpi.Operational: fast, kpi.Experience: fast}})
		families := testtools.MetricFamilies(t, "http://"+addr+"/metrics")
		for _, name := range []string{"bdc_users_active", "bdc_model_info", "bdc_appointment_noshow_risk", "bdc_forecast_appointments"} {
			if !families[name] {
				t.Errorf("bdc_exporter role: %s not served", name)
			}
		}
		failing := scrapeFailing(t, "http://"+addr+"/metrics")
		if len(failing) > 0 {
			t.Errorf("queries failing as bdc_exporter: %v", failing)
		}
		refused := forbidden(t, exporterDB, "update bdc_analytics.model_versions set promoted = false")
		forbidden(t, exporterDB, "delete from bdc.appointments")
		recordRole(t, "bdc_exporter", "every exporter query, models and forecasts included, succeeded", refused)
	})

	t.Run("grafana", func(t *testing.T) {
		engine := analytics.NewEngine(grafana)
		res, err := engine.Retention(ctx, analytics.RetentionQuery{Query: analytics.Query{From: scale.End.AddDate(0, -3, 0), To: scale.End}})
		if err != nil || len(res.Cohorts) == 0 {
			t.Errorf("retention as bdc_grafana: %v, %d cohorts", err, len(res.Cohorts))
		}
		sc, err := predict.NewStore(grafana).ScoreUpcomingAppointments(ctx, at, 7, 3)
		if err != nil || len(sc.Rows) == 0 {
			t.Errorf("predictions as bdc_grafana: %v", err)
		}
		forbidden(t, grafana, "delete from bdc_analytics.model_versions")
		refused := forbidden(t, grafana, "update bdc.users set email = 'x'")
		recordRole(t, "bdc_grafana", "the plugin's analytics and predictions ran", refused)
	})

	t.Run("a role that may not migrate says who must", func(t *testing.T) {
		if _, err := owner.Pool.Exec(ctx, "update "+store.VersionTable+" set version = version - 1"); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_, _ = owner.Pool.Exec(context.WithoutCancel(ctx), "update "+store.VersionTable+" set version = version + 1")
		}()
		err := connectAs(t, c, "bdc_reporter", "before").Migrate(ctx)
		if err == nil || !strings.Contains(err.Error(), "run `bdc-exporter migrate` as the schema owner") {
			t.Errorf("migrating as bdc_reporter: %v", err)
		}
	})
}

// applyRoles runs roles.sql with psql, as the owner, on database.
func applyRoles(t *testing.T, c *pgcluster.Cluster, database string) {
	t.Helper()
	psql, err := exec.LookPath("psql")
	if err != nil {
		bin, ferr := pgcluster.FindBinaries()
		if ferr != nil {
			t.Fatal(ferr)
		}
		psql = filepath.Join(bin, "psql")
	}
	cmd := exec.Command(psql, "-X", "-q", "-v", "ON_ERROR_STOP=1",
		"-v", "exporter_password=e-secret", "-v", "reporter_password=r-secret", "-v", "grafana_password=g-secret",
		"-d", c.URL(database), "-f", filepath.Join("postgres", "roles.sql"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("psql -f roles.sql on %s: %v\n%s", database, err, out)
	}
}

// connectAs opens a pool on database as role.
func connectAs(t *testing.T, c *pgcluster.Cluster, role, database string) *store.DB {
	t.Helper()
	u, err := url.Parse(c.URL(database))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	db, err := store.Connect(t.Context(), store.Config{URL: u.String(), Application: "roles-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// checkPrivileges checks every table of bdc and bdc_analytics: all three roles read them, only
// the reporter writes, and only into bdc_analytics; nobody may create in either schema.
func checkPrivileges(t *testing.T, db *store.DB) {
	t.Helper()
	rows, err := db.Pool.Query(t.Context(), `select n.nspname || '.' || c.relname from pg_class c
		join pg_namespace n on n.oid = c.relnamespace
		where n.nspname in ('bdc', 'bdc_analytics') and c.relkind in ('r', 'v', 'p') order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 15 {
		t.Fatalf("only %d tables in bdc and bdc_analytics", len(tables))
	}
	for _, role := range roles {
		for _, table := range tables {
			for _, priv := range []string{"select", "insert", "update", "delete", "truncate"} {
				var has bool
				if err := db.Pool.QueryRow(t.Context(), "select has_table_privilege($1, $2, $3)", role, table, priv).Scan(&has); err != nil {
					t.Fatal(err)
				}
				want := priv == "select" ||
					(role == "bdc_reporter" && strings.HasPrefix(table, "bdc_analytics.") && priv != "truncate")
				if has != want {
					t.Errorf("%s %s on %s: %v, want %v", role, priv, table, has, want)
				}
			}
		}
		var lock bool
		if err := db.Pool.QueryRow(t.Context(), "select has_function_privilege($1, 'bdc_analytics.lock_activity_writers()', 'execute')", role).Scan(&lock); err != nil {
			t.Fatal(err)
		}
		if lock != (role == "bdc_reporter") {
			t.Errorf("%s may lock out activity writers: %v", role, lock)
		}
		for _, schema := range []string{"bdc", "bdc_analytics"} {
			var create bool
			if err := db.Pool.QueryRow(t.Context(), "select has_schema_privilege($1, $2, 'create')", role, schema).Scan(&create); err != nil {
				t.Fatal(err)
			}
			if create {
				t.Errorf("%s may create in %s", role, schema)
			}
		}
	}
}

// forbidden runs sql and expects a permission error.
func forbidden(t *testing.T, db *store.DB, sql string) string {
	t.Helper()
	_, err := db.Pool.Exec(t.Context(), sql)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("%q: %v, want a permission error", sql, err)
		return ""
	}
	return pgErr.Message
}

// recordRole puts the role's outcome into bench/results.md's Security table.
func recordRole(t *testing.T, role, did, refused string) {
	t.Helper()
	testtools.RecordCheck(t, results.Check{Area: "Security", Case: "PostgreSQL role " + role + " (deploy/postgres/roles.sql)",
		Sees: "its forbidden writes refused: " + refused, Outcome: did + " as " + role + "; every table's privileges as documented"})
}

// scrapeFailing returns the queries whose bdc_exporter_query_success is 0.
func scrapeFailing(t *testing.T, url string) []string {
	t.Helper()
	var failing []string
	for _, line := range strings.Split(testtools.Scrape(t, url), "\n") {
		if !strings.HasPrefix(line, "bdc_exporter_query_success{") {
			continue
		}
		name, value, _ := strings.Cut(strings.TrimPrefix(line, "bdc_exporter_query_success{query=\""), "\"} ")
		if v, err := strconv.ParseFloat(value, 64); err != nil || v != 1 {
			failing = append(failing, fmt.Sprintf("%s=%s", name, value))
		}
	}
	return failing
}
