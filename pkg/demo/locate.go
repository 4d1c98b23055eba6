package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bdc-analytics/bdc/pkg/pgcluster"
	"github.com/bdc-analytics/bdc/pkg/store"
)

// LocalURL is where `demo` looks by default for a running server before starting one of its own.
const LocalURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DatabaseName is the database `demo` creates on a server it finds.
const DatabaseName = "bdc_demo"

// Located is the database the demo runs on, and how to let go of it.
type Located struct {
	URL string
	// Source says where it came from: "flag", "local server" or "throwaway cluster".
	Source string
	// Close stops and removes a throwaway cluster; it does nothing for other sources.
	Close func(context.Context) error
}

// Locate finds the demo's database: the given URL when set; else database bdc_demo on the server
// at localURL (normally LocalURL), created if missing; else a throwaway cluster started with the
// local PostgreSQL binaries; else an error that says how to get PostgreSQL.
func Locate(ctx context.Context, givenURL, localURL string, logger *slog.Logger) (*Located, error) {
	noop := func(context.Context) error { return nil }
	if givenURL != "" {
		return &Located{URL: givenURL, Source: "flag", Close: noop}, nil
	}
	url, err := ensureDatabase(ctx, localURL, DatabaseName)
	if err == nil {
		return &Located{URL: url, Source: "local server", Close: noop}, nil
	}
	logger.Info("no usable PostgreSQL server, starting a throwaway cluster", "err", err)
	cluster, cerr := pgcluster.Start(ctx, pgcluster.Options{Logger: logger})
	if cerr != nil {
		if errors.Is(cerr, pgcluster.ErrNoPostgres) {
			return nil, fmt.Errorf("no PostgreSQL server answers at %s and none can be started here: %w", store.AddrOf(localURL), cerr)
		}
		return nil, fmt.Errorf("couldn't start a throwaway PostgreSQL cluster: %w", cerr)
	}
	url, err = ensureDatabase(ctx, cluster.URL("postgres"), DatabaseName)
	if err != nil {
		_ = cluster.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	logger.Info("throwaway PostgreSQL cluster started", "port", cluster.Port())
	return &Located{URL: url, Source: "throwaway cluster", Close: cluster.Close}, nil
}

// ensureDatabase connects to the server of adminURL and creates the database name if missing,
// returning the URL of that database.
func ensureDatabase(ctx context.Context, adminURL, name string) (string, error) {
	cfg, err := pgx.ParseConfig(adminURL)
	if err != nil {
		return "", err
	}
	cfg.ConnectTimeout = 3 * time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("couldn't reach PostgreSQL at %s: %w", store.AddrOf(adminURL), err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var exists bool
	if err := conn.QueryRow(ctx, "select exists (select 1 from pg_database where datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("couldn't list databases: %w", err)
	}
	if !exists {
		_, err := conn.Exec(ctx, "create database "+pgx.Identifier{name}.Sanitize())
		var pgErr *pgconn.PgError
		createdMeanwhile := errors.As(err, &pgErr) && pgErr.Code == "42P04" // duplicate_database
		if err != nil && !createdMeanwhile {
			return "", fmt.Errorf("couldn't create database %s: %w", name, err)
		}
	}
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", cfg.User, store.AddrOf(adminURL), name), nil
}
