package pgcluster

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestClusterLifecycle(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))

	c, err := Start(ctx, Options{Logger: logger})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		// t.Context is already canceled when cleanups run.
		if err := c.Close(context.Background()); err != nil {
			t.Errorf("Close in cleanup: %v", err)
		}
	})
	if c.Port() == 0 {
		t.Fatal("Port() = 0, want the picked port")
	}

	conn := connect(ctx, t, c)
	var one int
	if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("select 1 = %d, %v; want 1, nil", one, err)
	}
	if _, err := conn.Exec(ctx, "create table survivor (x int); insert into survivor values (42)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	_ = conn.Close(ctx)

	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if conn, err := pgx.Connect(ctx, c.URL("postgres")); err == nil {
		_ = conn.Close(ctx)
		t.Fatal("connect after Stop succeeded, want an error")
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	if err := c.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	conn = connect(ctx, t, c)
	var x int
	if err := conn.QueryRow(ctx, "select x from survivor").Scan(&x); err != nil || x != 42 {
		t.Fatalf("after Restart, select x = %d, %v; want 42, nil", x, err)
	}
	_ = conn.Close(ctx)

	root := c.root
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat %s after Close: %v, want not exist", root, err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.Restart(ctx); err == nil {
		t.Fatal("Restart after Close succeeded, want an error")
	}
}

func TestRestartWhileRunning(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}

	c, err := Start(ctx, Options{Port: port})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer func() {
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	if c.Port() != port {
		t.Fatalf("Port() = %d, want %d", c.Port(), port)
	}

	conn := connect(ctx, t, c)
	if err := c.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	// The fast shutdown ended the session opened before the restart.
	if err := conn.Ping(ctx); err == nil {
		t.Error("ping on a connection from before Restart succeeded, want an error")
	}
	_ = conn.Close(ctx)
	_ = connect(ctx, t, c).Close(ctx)
}

func TestStartFailureReportsServerLog(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	// Occupy a port so the server cannot bind it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Not t.TempDir: its parent is private to root, and the postgres OS user
	// must be able to traverse Dir.
	parent, err := os.MkdirTemp("", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(parent)
	if err := os.Chmod(parent, 0o755); err != nil { //nolint:gosec // the postgres OS user must traverse it
		t.Fatal(err)
	}

	c, err := Start(ctx, Options{Dir: parent, Port: l.Addr().(*net.TCPAddr).Port})
	if err == nil {
		_ = c.Close(ctx)
		t.Fatal("Start on an occupied port succeeded, want an error")
	}
	t.Logf("Start error, as expected: %v", err)
	if !strings.Contains(err.Error(), "could not bind") {
		t.Errorf("Start error does not include the server log's bind failure:\n%v", err)
	}
	if entries, err := os.ReadDir(parent); err != nil || len(entries) != 0 {
		t.Errorf("after a failed Start, %s holds %v (%v), want nothing", parent, entries, err)
	}
}

func TestURL(t *testing.T) {
	c := &Cluster{port: 54321}
	want := "postgres://postgres@127.0.0.1:54321/bdc_demo?sslmode=disable"
	if got := c.URL("bdc_demo"); got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
}

func TestFindBinaries(t *testing.T) {
	dir, err := FindBinaries()
	if err != nil {
		t.Fatalf("FindBinaries: %v", err)
	}
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if !isExecutable(dir, name) {
			t.Errorf("%s is not executable", filepath.Join(dir, name))
		}
	}
}

func TestMajorVersion(t *testing.T) {
	for dir, want := range map[string]float64{
		"/usr/lib/postgresql/15/bin":            15,
		"/usr/lib/postgresql/9.6/bin":           9.6,
		"/opt/homebrew/opt/postgresql@17/bin":   17,
		"/usr/local/opt/postgresql@16/bin":      16,
		"/usr/lib/postgresql/not-a-version/bin": 0,
	} {
		if got := majorVersion(dir); got != want {
			t.Errorf("majorVersion(%q) = %v, want %v", dir, got, want)
		}
	}
}

func connect(ctx context.Context, t *testing.T, c *Cluster) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatalf("connect to %s: %v", c.URL("postgres"), err)
	}
	return conn
}
