// Package store connects the suite's components to PostgreSQL: pool setup with a per-component
// application_name, embedded schema migrations, and the read-only query helper every analytic
// query goes through. It holds no analytics SQL of its own.
package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvURL is the environment variable read when no --database.url flag is given.
const EnvURL = "DATABASE_URL"

// DefaultConnectTimeout bounds how long a connection attempt may take, so an unreachable
// server is reported within seconds rather than after the kernel's TCP timeout.
const DefaultConnectTimeout = 5 * time.Second

// ErrNoURL is returned when neither the flag nor DATABASE_URL names a database.
var ErrNoURL = errors.New("no database given: set --database.url or " + EnvURL)

// ErrQueryTimeout marks a query cancelled by its statement_timeout or context deadline.
var ErrQueryTimeout = errors.New("query timed out")

// Config says how a component connects.
type Config struct {
	// URL is a PostgreSQL connection URL or key=value DSN.
	URL string
	// Application is reported to PostgreSQL as application_name (visible in pg_stat_activity).
	Application string
	// MaxConns bounds the pool; 0 keeps pgxpool's default (the larger of 4 and the CPU count).
	MaxConns int32
	// ConnectTimeout bounds one connection attempt; 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
}

// ResolveURL returns the flag's value when set, else DATABASE_URL, else "".
func ResolveURL(flagValue string, getenv func(string) string) string {
	if flagValue != "" {
		return flagValue
	}
	return getenv(EnvURL)
}

// DB is a connection pool with the helpers the components share.
type DB struct {
	Pool *pgxpool.Pool
	addr string
}

// Open builds the pool without waiting for the server: a component such as the exporter must
// start, and report the database as down, while PostgreSQL is unreachable. Call Ping to check.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.URL == "" {
		return nil, ErrNoURL
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("couldn't parse database URL %s: %w", Redact(cfg.URL), err)
	}
	if cfg.Application != "" {
		pcfg.ConnConfig.RuntimeParams["application_name"] = cfg.Application
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	pcfg.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	if pcfg.ConnConfig.ConnectTimeout <= 0 {
		pcfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("couldn't create pool for %s: %w", addrOf(pcfg.ConnConfig.Config), err)
	}
	return &DB{Pool: pool, addr: addrOf(pcfg.ConnConfig.Config)}, nil
}

// Connect opens the pool and pings it, for commands that cannot do anything without the database.
func Connect(ctx context.Context, cfg Config) (*DB, error) {
	db, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Addr is the server's host:port (or socket directory), safe to log.
func (db *DB) Addr() string { return db.addr }

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// Ping checks that the server answers; the error names host and port.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.Pool.Ping(ctx); err != nil {
		return fmt.Errorf("couldn't reach PostgreSQL at %s: %w", db.addr, err)
	}
	return nil
}

// ReadOnly runs fn in a read-only transaction whose statements are cancelled by the server after
// timeout (statement_timeout, local to the transaction) and by the caller's context. A timeout is
// reported as ErrQueryTimeout wrapping the server's error. The transaction is repeatable read:
// all its statements see the snapshot of its first, so what one reads agrees with the next
// (a read-only transaction never fails to serialize).
func (db *DB) ReadOnly(ctx context.Context, timeout time.Duration, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if timeout > 0 {
		// The server-side timeout fires first with a clear error; the context bound also covers
		// a connection that stops answering.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout+2*time.Second)
		defer cancel()
	}
	tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return classify(ctx, fmt.Errorf("couldn't begin read-only transaction on %s: %w", db.addr, err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if timeout > 0 {
		ms := strconv.FormatInt(timeout.Milliseconds(), 10)
		if _, err := tx.Exec(ctx, "select set_config('statement_timeout', $1, true)", ms); err != nil {
			return classify(ctx, fmt.Errorf("couldn't set statement_timeout: %w", err))
		}
	}
	if err := fn(ctx, tx); err != nil {
		return classify(ctx, err)
	}
	return nil
}

// classify wraps err with ErrQueryTimeout when the server cancelled the statement or the context
// deadline passed.
func classify(ctx context.Context, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "57014" { // query_canceled
		return fmt.Errorf("%w: %w", ErrQueryTimeout, err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrQueryTimeout, err)
	}
	return err
}

// Redact returns the URL with its password replaced, for logs and error messages.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		cfg, perr := pgconn.ParseConfig(raw)
		if perr != nil {
			return "(unparsable database URL)"
		}
		return fmt.Sprintf("host=%s user=%s dbname=%s", addrOf(*cfg), cfg.User, cfg.Database)
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// AddrOf returns host:port of a connection URL, or "" if it cannot be parsed.
func AddrOf(raw string) string {
	cfg, err := pgconn.ParseConfig(raw)
	if err != nil {
		return ""
	}
	return addrOf(*cfg)
}

func addrOf(cfg pgconn.Config) string {
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// LogSafe returns err fit for logs, run records and API answers. PostgreSQL errors of the
// data-exception (SQLSTATE class 22) and integrity-violation (23) classes quote the value they
// failed on ("invalid input syntax for type integer: \"ann@example.org\""), which may be
// personal data: their message is replaced by the condition's code and their detail dropped,
// the rest of err's text kept. Other errors come back unchanged.
func LogSafe(err error) error {
	var pgErr *pgconn.PgError
	if err == nil || !errors.As(err, &pgErr) || (!strings.HasPrefix(pgErr.Code, "22") && !strings.HasPrefix(pgErr.Code, "23")) {
		return err
	}
	safe := fmt.Sprintf("%s: a value failed a data check (SQLSTATE %s; the value is withheld from logs)", pgErr.Severity, pgErr.Code)
	return &safeError{text: strings.ReplaceAll(err.Error(), pgErr.Error(), safe), err: err}
}

// safeError is LogSafe's error: its text withholds the value, and it still unwraps to the
// original error for errors.Is and errors.As.
type safeError struct {
	text string
	err  error
}

func (e *safeError) Error() string { return e.text }
func (e *safeError) Unwrap() error { return e.err }
