package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// VersionTable records the applied migration version, inside the suite's own schema.
const VersionTable = "bdc_analytics.schema_version"

// schemaLock serialises the bootstrap of bdc_analytics between components migrating at once
// (tern takes its own advisory lock for the migrations themselves).
const schemaLock = 0x62_64_63_00 // "bdc\0"

// Migrate brings the schemas bdc and bdc_analytics to the latest version. It is safe to run
// from several processes at once.
func (db *DB) Migrate(ctx context.Context) error {
	m, release, err := db.migrator(ctx)
	if err != nil {
		return err
	}
	defer release()
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("couldn't migrate database at %s: %w", db.addr, err)
	}
	return nil
}

// SchemaVersion returns the applied migration version and the latest one this build knows.
func (db *DB) SchemaVersion(ctx context.Context) (current, latest int32, err error) {
	m, release, err := db.migrator(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer release()
	current, err = m.GetCurrentVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("couldn't read schema version: %w", err)
	}
	return current, int32(len(m.Migrations)), nil
}

func (db *DB) migrator(ctx context.Context) (*migrate.Migrator, func(), error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("couldn't reach PostgreSQL at %s: %w", db.addr, err)
	}
	release := conn.Release
	// The version table lives in bdc_analytics, so that schema must exist before tern starts.
	err = bootstrapSchema(ctx, conn.Conn())
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("couldn't create schema bdc_analytics: %w", err)
	}
	m, err := migrate.NewMigrator(ctx, conn.Conn(), VersionTable)
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("couldn't prepare migrations: %w", err)
	}
	if err := m.LoadMigrations(mustSub()); err != nil {
		release()
		return nil, nil, fmt.Errorf("couldn't load embedded migrations: %w", err)
	}
	return m, release, nil
}

func bootstrapSchema(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, "select pg_advisory_lock($1)", schemaLock); err != nil {
		return err
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "select pg_advisory_unlock($1)", schemaLock) }()
	_, err := conn.Exec(ctx, "create schema if not exists bdc_analytics")
	return err
}

// LatestSchemaVersion is the version the embedded migrations bring a database to; components
// that only read compare it with bdc_analytics.schema_version.
func LatestSchemaVersion() int32 {
	names, err := migrate.FindMigrations(mustSub())
	if err != nil {
		return 0
	}
	return int32(len(names))
}

func mustSub() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded folder exists by construction
	}
	return sub
}
