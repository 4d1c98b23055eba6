package bench

import (
	"context"
	"fmt"
	"log/slog"
	neturl "net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/store"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// The persistent benchmark platform: a database seeded once at benchmark scale and kept between
// `make bench` runs, since seeding 100,000 users and 20 million activity events takes minutes.
//
//	d := Platform(b)  // BDC_BENCH_USERS users (100,000), BDC_BENCH_DEPTH session depth (17)
//
// Its name says what it holds (bdc_bench_u100000_d730_s1_depth17_e20260601), and its
// bdc_demo.seed_info row is checked against the configuration on every use: a database that is
// missing, half-seeded (an interrupted seed leaves no seed_info, since Seed commits in one
// transaction) or seeded differently (another generator version) is dropped and seeded again.
// A database that matches is only migrated forward. Benchmarks must treat it as read-only, apart
// from what they rebuild themselves (the analytics rollups); testdb's cleanup never touches it
// (its names start with bdc_bench_, not bdc_test_). Drop one with
// `psql -c 'drop database bdc_bench_...'`.

// Benchmark platform defaults.
const (
	// platformDays is two years of history.
	platformDays = 730
	// platformSeed is the generator's seed.
	platformSeed = 1
	// defaultBenchDepth is the mean session depth that takes 100,000 users over 730 days past 20
	// million activity events: measured at 10,000 users, depth 2 gives 50 events per user and
	// each unit of depth about 11.6 more, so depth 16 gives 201 per user (20.1 million, too close
	// to the bar) and 17 about 212 (21.2 million).
	defaultBenchDepth = 17
)

// platformEnd is the fixed end of the platform's history, so that results compare across runs
// and a database seeded one day is still the right one the next.
var platformEnd = time.Date(2026, 6, 1, 0, 0, 0, 0, demo.Location)

// benchDepth is the generator's session depth: BDC_BENCH_DEPTH, defaultBenchDepth by default.
func benchDepth(tb testing.TB) float64 {
	if v := os.Getenv("BDC_BENCH_DEPTH"); v != "" {
		d, err := strconv.ParseFloat(v, 64)
		if err != nil || d < demo.DefaultSessionDepth || d > demo.MaxSessionDepth {
			tb.Fatalf("BDC_BENCH_DEPTH: want a mean session depth from %d to %d, got %q", demo.DefaultSessionDepth, demo.MaxSessionDepth, v)
		}
		return d
	}
	return defaultBenchDepth
}

// platformConfig is the benchmark platform's scale: BDC_BENCH_USERS users over two years at
// BDC_BENCH_DEPTH, ending on platformEnd.
func platformConfig(tb testing.TB) demo.Config {
	return demo.Config{Users: benchUsers(tb), Days: platformDays, Seed: platformSeed, SessionDepth: benchDepth(tb), End: platformEnd}
}

// Platform returns the persistent benchmark database at platformConfig's scale, seeding it first
// when it is missing or different.
func Platform(tb testing.TB) *testdb.Database { return PlatformFor(tb, platformConfig(tb)) }

var (
	platformsMu sync.Mutex
	platforms   = map[string]*testdb.Database{}
)

// PlatformFor returns the persistent benchmark database of cfg (End must be set: a default of
// today would make a new database every day), seeding it first when it is missing or was seeded
// differently. Within a process every caller gets the same *testdb.Database, whose pool stays
// open until the process ends; across processes an advisory lock on the server lets one seed
// while the others wait.
func PlatformFor(tb testing.TB, cfg demo.Config) *testdb.Database {
	tb.Helper()
	if cfg.End.IsZero() {
		tb.Fatal("PlatformFor: the configuration needs a fixed End")
	}
	if err := cfg.Validate(); err != nil {
		tb.Fatalf("PlatformFor: %v", err)
	}
	name := platformName(cfg)
	platformsMu.Lock()
	defer platformsMu.Unlock()
	if d := platforms[name]; d != nil {
		return d
	}
	ctx := context.WithoutCancel(tb.Context())
	d, seeded, err := openPlatform(ctx, name, cfg, func(format string, args ...any) { tb.Logf(format, args...) })
	if err != nil {
		tb.Fatalf("benchmark platform %s: %v (is PostgreSQL running? `make bench` starts it)", name, err)
	}
	if seeded > 0 {
		tb.Logf("benchmark platform %s: seeded in %s, kept for later runs", name, seeded.Round(time.Second))
	}
	platforms[name] = d
	return d
}

// platformName is the database name of cfg, for example bdc_bench_u100000_d730_s1_depth17_e20260601.
func platformName(cfg demo.Config) string {
	depth := strings.ReplaceAll(strconv.FormatFloat(cfg.SessionDepth, 'f', -1, 64), ".", "p")
	return fmt.Sprintf("bdc_bench_u%d_d%d_s%d_depth%s_e%s", cfg.Users, cfg.Days, cfg.Seed, depth, cfg.End.In(demo.Location).Format("20060102"))
}

// openPlatform connects to the database name, seeding it from cfg unless it already holds
// exactly that seed; seeded is how long seeding took (0 when reused).
func openPlatform(ctx context.Context, name string, cfg demo.Config, logf func(string, ...any)) (d *testdb.Database, seeded time.Duration, err error) {
	admin, err := pgx.Connect(ctx, testdb.AdminURL())
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = admin.Close(ctx) }()
	// One process seeds, the others wait for it and then find the seed.
	if _, err := admin.Exec(ctx, "select pg_advisory_lock(hashtext($1))", name); err != nil {
		return nil, 0, fmt.Errorf("couldn't take the platform's lock: %w", err)
	}
	defer func() { _, _ = admin.Exec(ctx, "select pg_advisory_unlock(hashtext($1))", name) }()

	url := withDatabase(testdb.AdminURL(), name)
	var exists bool
	if err := admin.QueryRow(ctx, "select exists (select 1 from pg_database where datname = $1)", name).Scan(&exists); err != nil {
		return nil, 0, err
	}
	if exists {
		db, err := store.Connect(ctx, store.Config{URL: url, Application: "bdc-bench"})
		if err != nil {
			return nil, 0, err
		}
		why, err := seedDiffers(ctx, db, cfg)
		if err == nil && why == "" {
			if err := db.Migrate(ctx); err != nil {
				db.Close()
				return nil, 0, err
			}
			return &testdb.Database{Name: name, URL: url, DB: db, Seed: cfg}, 0, nil
		}
		db.Close()
		if err != nil {
			return nil, 0, err
		}
		logf("benchmark platform %s: %s; seeding it again", name, why)
		if _, err := admin.Exec(ctx, "drop database "+pgx.Identifier{name}.Sanitize()+" with (force)"); err != nil {
			return nil, 0, fmt.Errorf("couldn't drop the stale platform: %w", err)
		}
	}

	logf("benchmark platform %s: seeding %d users over %d days at session depth %g (several minutes, once)", name, cfg.Users, cfg.Days, cfg.SessionDepth)
	begin := time.Now()
	if _, err := admin.Exec(ctx, "create database "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, 0, fmt.Errorf("couldn't create the platform: %w", err)
	}
	db, err := store.Connect(ctx, store.Config{URL: url, Application: "bdc-bench"})
	if err != nil {
		return nil, 0, err
	}
	err = db.Migrate(ctx)
	if err == nil {
		_, err = demo.Seed(ctx, db, cfg, slog.New(slog.DiscardHandler))
	}
	if err == nil {
		// Seed analyzes; a vacuum also sets the visibility map, as autovacuum would soon after a
		// load, so index-only scans skip the heap from the first run on.
		_, err = db.Pool.Exec(ctx, "vacuum (analyze) bdc.users, bdc.beneficiaries, bdc.appointments, bdc.evaluations, bdc.user_activities, bdc.payments")
	}
	if err != nil {
		db.Close()
		_, _ = admin.Exec(ctx, "drop database if exists "+pgx.Identifier{name}.Sanitize()+" with (force)")
		return nil, 0, fmt.Errorf("couldn't seed: %w", err)
	}
	return &testdb.Database{Name: name, URL: url, DB: db, Seed: cfg}, time.Since(begin), nil
}

// seedDiffers says how the database's seed differs from cfg ("" when it holds exactly cfg).
func seedDiffers(ctx context.Context, db *store.DB, cfg demo.Config) (string, error) {
	ok, err := demo.Seeded(ctx, db)
	if err != nil {
		return "", err
	}
	if !ok {
		return "it holds no complete seed", nil
	}
	var (
		n, users, days, version int
		seed                    string
		end                     time.Time
		depth                   float64
	)
	err = db.Pool.QueryRow(ctx, `select count(*) over (), users, days, seed::text, end_at, generator_version, session_depth
		from bdc_demo.seed_info limit 1`).Scan(&n, &users, &days, &seed, &end, &version, &depth)
	if err != nil {
		return "", fmt.Errorf("couldn't read bdc_demo.seed_info: %w", err)
	}
	got := fmt.Sprintf("%d seed(s): users %d, days %d, seed %s, end %s, generator %d, depth %g", n, users, days, seed, end.UTC().Format(time.RFC3339), version, depth)
	want := fmt.Sprintf("1 seed(s): users %d, days %d, seed %d, end %s, generator %d, depth %g", cfg.Users, cfg.Days, cfg.Seed, cfg.End.UTC().Format(time.RFC3339), demo.GeneratorVersion, cfg.SessionDepth)
	if got != want {
		return "it holds " + got + ", not " + want, nil
	}
	return "", nil
}

// withDatabase returns the server URL with its database replaced by name.
func withDatabase(raw, name string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}

// BenchmarkPlatform prepares the benchmark platform (seeding it when missing, which takes
// minutes once) and prints its scale, so that `make bench` starts from a seeded platform and no
// later benchmark's figures include the seeding. Run alone, it is the way to seed ahead of time:
// `go test -run '^$' -bench Platform ./bench/`.
func BenchmarkPlatform(b *testing.B) {
	d := Platform(b)
	var users, appointments, events int64
	err := d.DB.Pool.QueryRow(context.WithoutCancel(b.Context()), `select (select count(*) from bdc.beneficiaries),
		(select count(*) from bdc.appointments), (select count(*) from bdc.user_activities)`).Scan(&users, &appointments, &events)
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		b.ReportMetric(float64(users), "beneficiaries")
		b.ReportMetric(float64(appointments), "appointments")
		b.ReportMetric(float64(events), "events")
	}
}
