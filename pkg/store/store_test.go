package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/store"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	d, err := testdb.Create(t.Context(), "migrate", demo.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Drop(context.Background()) })

	// Several components migrating at once must not trip over each other.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			db, err := store.Connect(t.Context(), store.Config{URL: d.URL, Application: "bdc-test-migrate"})
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			errs <- db.Migrate(t.Context())
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
	cur, latest, err := d.DB.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cur != latest || latest < 2 {
		t.Fatalf("schema version %d of %d, want latest (>= 2)", cur, latest)
	}
	// Every canonical table of DESIGN.md §2 exists with its columns.
	want := map[string][]string{
		"users":                {"id", "email", "role", "created_at", "last_login_at", "is_active"},
		"beneficiaries":        {"id", "user_id", "trainer_id", "status", "acquisition_channel", "region", "birth_year", "gender", "created_at", "completed_at"},
		"appointments":         {"id", "beneficiary_id", "trainer_id", "booked_at", "scheduled_at", "duration_minutes", "channel", "reminder_sent", "status"},
		"evaluations":          {"id", "beneficiary_id", "assessment", "score", "max_score", "started_at", "completed_at"},
		"user_activities":      {"id", "user_id", "occurred_at", "activity_type", "feature", "session_id", "duration_ms"},
		"trainer_availability": {"trainer_id", "day", "available_minutes"},
		"payments":             {"id", "beneficiary_id", "amount_cents", "currency", "paid_at"},
		"feedback":             {"id", "user_id", "appointment_id", "score", "submitted_at"},
		"support_tickets":      {"id", "user_id", "category", "opened_at", "resolved_at"},
	}
	for table, cols := range want {
		rows, err := d.DB.Pool.Query(t.Context(),
			`select column_name from information_schema.columns where table_schema = 'bdc' and table_name = $1 order by ordinal_position`, table)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != strings.Join(cols, ",") {
			t.Errorf("bdc.%s columns = %v, want %v", table, got, cols)
		}
	}
	var n int
	if err := d.DB.Pool.QueryRow(t.Context(), `select count(*) from pg_namespace where nspname = 'bdc_analytics'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("schema bdc_analytics missing (%d, %v)", n, err)
	}
}

func TestReadOnlyRefusesWrites(t *testing.T) {
	db := testdb.Get(t).DB
	err := db.ReadOnly(t.Context(), 5*time.Second, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "delete from bdc.feedback")
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("delete in a read-only transaction: err = %v, want a read-only error", err)
	}
	var n int
	if err := db.Pool.QueryRow(t.Context(), "select count(*) from bdc.feedback").Scan(&n); err != nil || n == 0 {
		t.Fatalf("feedback rows after refused delete: %d, %v", n, err)
	}
}

func TestReadOnlyStatementTimeout(t *testing.T) {
	db := testdb.Get(t).DB
	err := db.ReadOnly(t.Context(), 100*time.Millisecond, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "select pg_sleep(5)")
		return err
	})
	if !errors.Is(err, store.ErrQueryTimeout) {
		t.Fatalf("err = %v, want ErrQueryTimeout", err)
	}
	// The timeout is local to the transaction: the pooled connection keeps no limit.
	err = db.ReadOnly(t.Context(), 0, func(ctx context.Context, tx pgx.Tx) error {
		var v string
		if err := tx.QueryRow(ctx, "show statement_timeout").Scan(&v); err != nil {
			return err
		}
		if v != "0" {
			return errors.New("statement_timeout leaked: " + v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadOnlyHonoursCallerContext(t *testing.T) {
	db := testdb.Get(t).DB
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := db.ReadOnly(ctx, time.Minute, func(ctx context.Context, tx pgx.Tx) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestApplicationName(t *testing.T) {
	d := testdb.Get(t)
	db, err := store.Connect(t.Context(), store.Config{URL: d.URL, Application: "bdc-exporter"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.Pool.QueryRow(t.Context(), "select current_setting('application_name')").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != "bdc-exporter" {
		t.Fatalf("application_name = %q", name)
	}
}

func TestUnreachableNamesHostAndPort(t *testing.T) {
	_, err := store.Connect(t.Context(), store.Config{URL: "postgres://postgres:secret@127.0.0.1:1/x?sslmode=disable", ConnectTimeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("err = %v, want it to name 127.0.0.1:1", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@db:5432/x?sslmode=disable":     "postgres://u:xxxxx@db:5432/x?sslmode=disable",
		"postgres://u@db/x":                             "postgres://u@db/x",
		"host=db port=6000 user=u password=pw dbname=x": "host=db:6000 user=u dbname=x",
	} {
		if got := store.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolveURL(t *testing.T) {
	env := func(string) string { return "postgres://env" }
	if got := store.ResolveURL("postgres://flag", env); got != "postgres://flag" {
		t.Errorf("flag ignored: %q", got)
	}
	if got := store.ResolveURL("", env); got != "postgres://env" {
		t.Errorf("env ignored: %q", got)
	}
}

// TestMigrateKeepsAPlatformsViews: a platform that maps its tables onto bdc with views keeps them;
// the suite only adds bdc_analytics.
func TestMigrateKeepsAPlatformsViews(t *testing.T) {
	d, err := testdb.CreateEmpty(t.Context(), "views")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Drop(context.Background()) })
	_, err = d.DB.Pool.Exec(t.Context(), `
		create schema app;
		create table app.people (pk bigint primary key, mail text, kind text, joined timestamptz);
		insert into app.people values (1, 'a@example.org', 'coach', now());
		create schema bdc;
		create view bdc.users as select pk as id, mail as email,
			case kind when 'coach' then 'trainer' else 'beneficiary' end as role,
			joined as created_at, null::timestamptz as last_login_at, true as is_active from app.people;
		create table app.clicks (pk bigint primary key, person bigint, at timestamptz, what text);
		create view bdc.user_activities as select pk as id, person as user_id, at as occurred_at, what as activity_type,
			null::text as feature, null::text as session_id, null::integer as duration_ms from app.clicks;`)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.DB.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	var kind, activities, role string
	if err := d.DB.Pool.QueryRow(t.Context(), `select c.relkind::text, a.relkind::text, u.role from pg_class c, pg_class a, bdc.users u
		where c.oid = 'bdc.users'::regclass and a.oid = 'bdc.user_activities'::regclass`).Scan(&kind, &activities, &role); err != nil {
		t.Fatal(err)
	}
	if kind != "v" || activities != "v" || role != "trainer" {
		t.Errorf("bdc.users is %q with role %q and bdc.user_activities %q, want the platform's views", kind, role, activities)
	}
	var n int
	if err := d.DB.Pool.QueryRow(t.Context(), `select count(*) from pg_namespace where nspname = 'bdc_analytics'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("bdc_analytics not created: %d %v", n, err)
	}
}

// TestLogSafeWithholdsValues checks LogSafe on a real data error: PostgreSQL quotes the value a
// cast failed on, LogSafe keeps the context and the SQLSTATE and drops the value.
func TestLogSafeWithholdsValues(t *testing.T) {
	d := testdb.Get(t)
	_, err := d.DB.Pool.Exec(t.Context(), `select 'ann.secret@example.org'::int`)
	if err == nil || !strings.Contains(err.Error(), "ann.secret@example.org") {
		t.Fatalf("PostgreSQL no longer quotes the value: %v", err)
	}
	safe := store.LogSafe(fmt.Errorf("refresh of bdc_x: %w", err))
	if strings.Contains(safe.Error(), "ann.secret") || !strings.Contains(safe.Error(), "refresh of bdc_x: ERROR: ") || !strings.Contains(safe.Error(), "22P02") {
		t.Errorf("LogSafe: %v", safe)
	}
	var pgErr *pgconn.PgError
	if !errors.As(safe, &pgErr) {
		t.Error("LogSafe's error no longer unwraps to the PostgreSQL error")
	}
	other := errors.New("connection refused")
	if got := store.LogSafe(other); got.Error() != other.Error() || store.LogSafe(nil) != nil {
		t.Error("LogSafe changed an error without values")
	}
}
