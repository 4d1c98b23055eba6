// Package pgcluster runs a throwaway PostgreSQL cluster in a temporary
// directory: for `bdc-exporter demo` when no server answers at 127.0.0.1:5432,
// and for fault tests that stop and restart PostgreSQL. It must never touch a
// shared server: every cluster has its own data directory and port, and Close
// removes everything it created.
package pgcluster

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// ErrNoPostgres is returned when the PostgreSQL server binaries cannot be found.
var ErrNoPostgres = errors.New("couldn't find the PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH " +
	"or in /usr/lib/postgresql/*/bin: install PostgreSQL (`apt-get install postgresql` on Debian/Ubuntu, " +
	"`brew install postgresql@15` on macOS) or pass --database.url to use an existing server")

// Options configures Start.
type Options struct {
	// Dir is the parent of the cluster's temporary directory; empty means
	// os.TempDir(). When running as root, the postgres OS user must be able to
	// traverse it, and it should be short: the Unix socket lives inside.
	Dir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
}

// Cluster is a running (or stopped) throwaway PostgreSQL cluster. It is safe
// for concurrent use.
type Cluster struct {
	binDir  string
	root    string     // temporary directory holding everything; removed by Close
	owner   *user.User // OS user running the binaries; nil means the current user
	port    int
	logger  *slog.Logger
	mu      sync.Mutex
	running bool
	closed  bool
}

// Start creates a new cluster with initdb and starts it, returning once it
// accepts connections as the superuser postgres (trust authentication).
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	binDir, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	c := &Cluster{binDir: binDir, port: opts.Port, logger: opts.Logger}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.port == 0 {
		if c.port, err = freePort(); err != nil {
			return nil, err
		}
	}
	// initdb and pg_ctl refuse to run as root, so root runs them as postgres.
	if os.Geteuid() == 0 {
		if c.owner, err = user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("couldn't find the postgres OS user to run PostgreSQL as (running as root): %w", err)
		}
	}
	if c.root, err = os.MkdirTemp(opts.Dir, "bdc-pgcluster-"); err != nil {
		return nil, fmt.Errorf("couldn't create the cluster directory: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err = c.create(ctx); err == nil {
		err = c.start(ctx)
	}
	if err != nil {
		// The server may be up if only the check connection failed.
		_ = c.stop(context.WithoutCancel(ctx))
		_ = os.RemoveAll(c.root)
		return nil, err
	}
	c.logger.Info("started throwaway PostgreSQL cluster", "port", c.port, "dir", c.root)
	return c, nil
}

// URL returns the connection URL of database on the cluster.
func (c *Cluster) URL(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port returns the TCP port the cluster listens on at 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// Stop shuts the server down (fast mode: open sessions are disconnected). The
// data stays; Restart starts it again. Stopping a stopped cluster does nothing.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("couldn't stop PostgreSQL: cluster is closed")
	}
	return c.stop(ctx)
}

// Restart starts the server again on the same data directory and port,
// stopping it first if it is running.
func (c *Cluster) Restart(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("couldn't restart PostgreSQL: cluster is closed")
	}
	if err := c.stop(ctx); err != nil {
		return err
	}
	return c.start(ctx)
}

// Close stops the server if it is running and removes the cluster's directory.
// Calling it again does nothing.
func (c *Cluster) Close(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	// Remove the directory even if stopping failed (say the server was killed):
	// a postmaster that is somehow still running shuts itself down within a
	// minute once its lock file in the data directory is gone.
	stopErr := c.stop(ctx)
	c.closed = true
	if err := os.RemoveAll(c.root); err != nil {
		return errors.Join(stopErr, fmt.Errorf("couldn't remove the cluster directory: %w", err))
	}
	return stopErr
}

// FindBinaries returns the directory holding initdb, pg_ctl and postgres:
// the one on PATH if any, else the newest of the usual install locations.
func FindBinaries() (binDir string, err error) {
	var candidates []string
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	var installed []string
	for _, pattern := range []string{
		"/usr/lib/postgresql/*/bin",          // Debian, Ubuntu
		"/opt/homebrew/opt/postgresql@*/bin", // Homebrew on Apple silicon (keg-only)
		"/usr/local/opt/postgresql@*/bin",    // Homebrew on Intel
	} {
		dirs, _ := filepath.Glob(pattern) // the patterns are constant and valid
		installed = append(installed, dirs...)
	}
	slices.SortStableFunc(installed, func(a, b string) int { return cmp.Compare(majorVersion(b), majorVersion(a)) })
	for _, dir := range append(candidates, installed...) {
		if isExecutable(dir, "initdb") && isExecutable(dir, "pg_ctl") && isExecutable(dir, "postgres") {
			return dir, nil
		}
	}
	return "", ErrNoPostgres
}

// create runs initdb into root/data, handing root to the owner first.
func (c *Cluster) create(ctx context.Context) error {
	if c.owner != nil {
		uid, uidErr := strconv.Atoi(c.owner.Uid)
		gid, gidErr := strconv.Atoi(c.owner.Gid)
		if err := errors.Join(uidErr, gidErr, os.Chown(c.root, uid, gid)); err != nil {
			return fmt.Errorf("couldn't hand the cluster directory to the postgres user: %w", err)
		}
	}
	out, err := c.run(ctx, "initdb", "-D", c.dataDir(), "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--locale=C", "--no-sync")
	if err != nil {
		return fmt.Errorf("couldn't create the cluster with initdb: %w\n%s", err, bytes.TrimSpace(out))
	}
	return nil
}

// start runs pg_ctl start and checks that the server accepts connections.
// The caller holds c.mu.
func (c *Cluster) start(ctx context.Context) error {
	// pg_ctl hands these options to the server through /bin/sh: quote the path.
	socketDir := "'" + strings.ReplaceAll(c.root, "'", `'\''`) + "'"
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", c.port, socketDir)
	out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-l", c.logPath(), "-o", opts, "-w", "start")
	if err != nil {
		return fmt.Errorf("couldn't start PostgreSQL on port %d: %w\n%s\nserver log:\n%s", c.port, err, bytes.TrimSpace(out), c.logTail())
	}
	c.running = true
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("couldn't connect to the started PostgreSQL: %w\nserver log:\n%s", err, c.logTail())
	}
	return conn.Close(ctx)
}

// stop runs pg_ctl stop if the server is running. The caller holds c.mu.
func (c *Cluster) stop(ctx context.Context) error {
	if !c.running {
		return nil
	}
	out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-m", "fast", "-w", "stop")
	if err != nil {
		return fmt.Errorf("couldn't stop PostgreSQL on port %d: %w\n%s", c.port, err, bytes.TrimSpace(out))
	}
	c.running = false
	c.logger.Info("stopped throwaway PostgreSQL cluster", "port", c.port)
	return nil
}

// run runs a PostgreSQL binary as the cluster's owner and returns its output.
func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	argv := append([]string{filepath.Join(c.binDir, name)}, args...)
	if c.owner != nil {
		argv = append([]string{"runuser", "-u", c.owner.Username, "--"}, argv...)
	}
	c.logger.Debug("running PostgreSQL command", "argv", argv)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = c.root // the owner may not be allowed into our working directory
	return cmd.CombinedOutput()
}

func (c *Cluster) dataDir() string { return filepath.Join(c.root, "data") }
func (c *Cluster) logPath() string { return filepath.Join(c.root, "postgres.log") }

// logTail returns the last lines of the server log, for error messages.
func (c *Cluster) logTail() string {
	b, err := os.ReadFile(c.logPath())
	if err != nil {
		return fmt.Sprintf("(couldn't read %s: %v)", c.logPath(), err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// freePort asks the kernel for a free TCP port on 127.0.0.1. Another process
// could take it before PostgreSQL binds it; Start then fails with the log.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("couldn't find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// majorVersion extracts N from .../postgresql/N/bin or .../postgresql@N/bin.
func majorVersion(binDir string) float64 {
	s := filepath.Base(filepath.Dir(binDir))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "postgresql@"), "postgresql")
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

func isExecutable(dir, name string) bool {
	fi, err := os.Stat(filepath.Join(dir, name))
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}
