// Package testdb gives each test package an isolated database on the shared local PostgreSQL:
// created under a unique name, migrated, seeded with the demo generator at a small scale, and
// dropped when the package's tests end, so packages can run in parallel.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { testdb.Main(m) }
//
// and get the database in a test with testdb.Get(t).
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/pgcluster"
	"github.com/bdc-analytics/bdc/pkg/store"
)

// EnvAdminURL names the server tests run against; it defaults to the local server of every
// development and CI machine of this project.
const EnvAdminURL = "BDC_TEST_DATABASE_URL"

// DefaultAdminURL is the shared local server.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Scale is the small seed every test package gets: big enough for every table to hold rows of
// every kind, small enough to load in about a second.
var Scale = demo.Config{Users: 600, Days: 200, Seed: 42, End: time.Date(2026, 6, 1, 0, 0, 0, 0, demo.Location)}

// staleAfter is how old a leftover test database (from a killed run) must be to be dropped.
const staleAfter = 6 * time.Hour

var (
	mu  sync.Mutex
	dbs = map[string]*Database{}
)

// Database is one isolated, migrated and seeded database.
type Database struct {
	Name string
	URL  string
	DB   *store.DB
	Seed demo.Config
}

// AdminURL is the server tests use.
func AdminURL() string {
	if u := os.Getenv(EnvAdminURL); u != "" {
		return u
	}
	return DefaultAdminURL
}

// Main runs the package's tests and drops the package's database afterwards.
func Main(m *testing.M) {
	code := m.Run()
	mu.Lock()
	for _, d := range dbs {
		if err := drop(context.Background(), d); err != nil {
			fmt.Fprintln(os.Stderr, "testdb:", err)
		}
	}
	mu.Unlock()
	os.Exit(code)
}

// Get returns the package's database seeded at Scale, creating it on first use. It fails the
// test, with what to do, when PostgreSQL cannot be reached.
func Get(tb testing.TB) *Database { return GetScale(tb, Scale) }

// GetScale returns the package's database seeded with seed, creating it on first use; Main drops
// it. Tests that need a larger or differently seeded platform share it this way.
func GetScale(tb testing.TB, seed demo.Config) *Database {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	key := fmt.Sprintf("%d/%d/%d/%d/%g", seed.Users, seed.Days, seed.Seed, seed.End.Unix(), seed.SessionDepth)
	if d := dbs[key]; d != nil {
		return d
	}
	prefix := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	d, err := Create(context.WithoutCancel(tb.Context()), prefix, seed)
	if err != nil {
		tb.Fatalf("testdb: %v (is PostgreSQL running? `make test` starts it)", err)
	}
	dbs[key] = d
	return d
}

// Create makes a new database named after prefix, migrates it and, unless seed.Users is 0, seeds
// it. The caller drops it with Drop (Get's database is dropped by Main).
func Create(ctx context.Context, prefix string, seed demo.Config) (*Database, error) {
	d, err := CreateEmpty(ctx, prefix)
	if err != nil {
		return nil, err
	}
	err = d.DB.Migrate(ctx)
	if err == nil && seed.Users > 0 {
		d.Seed = seed
		_, err = demo.Seed(ctx, d.DB, seed, nil)
	}
	if err != nil {
		_ = drop(context.WithoutCancel(ctx), d)
		return nil, fmt.Errorf("couldn't prepare test database %s: %w", d.Name, err)
	}
	return d, nil
}

// CreateEmpty makes a new database named after prefix, neither migrated nor seeded.
func CreateEmpty(ctx context.Context, prefix string) (*Database, error) {
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return nil, fmt.Errorf("couldn't reach PostgreSQL at %s: %w", store.AddrOf(AdminURL()), err)
	}
	defer func() { _ = admin.Close(context.WithoutCancel(ctx)) }()
	dropStale(ctx, admin)

	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := fmt.Sprintf("bdc_test_%s_%d_%s", sanitize(prefix), time.Now().Unix(), hex.EncodeToString(suffix))
	if _, err := admin.Exec(ctx, "create database "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("couldn't create test database %s: %w", name, err)
	}
	d := &Database{Name: name, URL: withDatabase(AdminURL(), name)}
	d.DB, err = store.Connect(ctx, store.Config{URL: d.URL, Application: "bdc-test"})
	if err != nil {
		_ = drop(context.WithoutCancel(ctx), d)
		return nil, fmt.Errorf("couldn't connect to test database %s: %w", name, err)
	}
	return d, nil
}

// Drop closes the pool and drops the database.
func (d *Database) Drop(ctx context.Context) error { return drop(ctx, d) }

func drop(ctx context.Context, d *Database) error {
	if d.DB != nil {
		d.DB.Close()
	}
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close(ctx) }()
	_, err = admin.Exec(ctx, "drop database if exists "+pgx.Identifier{d.Name}.Sanitize()+" with (force)")
	return err
}

// dropStale removes test databases left by runs that were killed before they could clean up.
func dropStale(ctx context.Context, admin *pgx.Conn) {
	rows, err := admin.Query(ctx, `select datname from pg_database where datname like 'bdc\_test\_%'`)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-staleAfter).Unix()
	for _, n := range names {
		parts := strings.Split(n, "_")
		if len(parts) < 3 {
			continue
		}
		var ts int64
		if _, err := fmt.Sscan(parts[len(parts)-2], &ts); err == nil && ts < cutoff {
			_, _ = admin.Exec(ctx, "drop database if exists "+pgx.Identifier{n}.Sanitize()+" with (force)")
		}
	}
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	if b.Len() > 20 {
		return b.String()[:20]
	}
	return b.String()
}

// withDatabase returns the URL with its database replaced.
func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}

// Cluster starts a throwaway PostgreSQL cluster of the test's own (pkg/pgcluster: for tests that
// stop, restart or exhaust PostgreSQL, which must never touch the shared server), migrates its
// postgres database and seeds it with cfg. The cluster and the pool on it close when the test
// ends.
func Cluster(tb testing.TB, cfg demo.Config) (*pgcluster.Cluster, *store.DB) {
	tb.Helper()
	ctx := tb.Context()
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close(context.Background()) })
	db, err := store.Connect(ctx, store.Config{URL: c.URL("postgres"), Application: "bdc-test"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	if _, err := demo.Seed(ctx, db, cfg, nil); err != nil {
		tb.Fatal(err)
	}
	return c, db
}
