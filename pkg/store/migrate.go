package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
// from several processes at once. A database already at the latest version is left untouched
// without any DDL, so components connecting with a least-privilege role (which may not create
// schemas) start on a database their owner migrated; one that is behind gets an error saying
// to run the migrations as the owner.
func (db *DB) Migrate(ctx context.Context) error {
	current, err := db.appliedVersion(ctx)
	if err != nil {
		return err
	}
	if current >= LatestSchemaVersion() {
		return nil
	}
	m, release, err := db.migrator(ctx)
	if err != nil {
		if isInsufficientPrivilege(err) {
			return fmt.Errorf("the database at %s is at schema version %d, this build needs %d, and this role may not migrate it: "+
				"run `bdc-exporter migrate` as the schema owner: %w", db.addr, current, LatestSchemaVersion(), err)
		}
		return err
	}
	defer release()
	if err := m.Migrate(ctx); err != nil {
		if isInsufficientPrivilege(err) {
			return fmt.Errorf("the database at %s is at schema version %d, this build needs %d, and this role may not migrate it: "+
				"run `bdc-exporter migrate` as the schema owner: %w", db.addr, current, LatestSchemaVersion(), err)
		}
		return fmt.Errorf("couldn't migrate database at %s: %w", db.addr, err)
	}
	return nil
}

// MigrateTo brings the schemas to the given version, up or down (the migrations' "drop below"
// halves): to roll a release back, or to test a migration against data of the version before.
func (db *DB) MigrateTo(ctx context.Context, version int32) error {
	if version < 0 || version > LatestSchemaVersion() {
		return fmt.Errorf("schema version %d does not exist: this build knows 0 to %d", version, LatestSchemaVersion())
	}
	m, release, err := db.migrator(ctx)
	if err != nil {
		return err
	}
	defer release()
	if err := m.MigrateTo(ctx, version); err != nil {
		return fmt.Errorf("couldn't migrate database at %s to version %d: %w", db.addr, version, err)
	}
	return nil
}

// appliedVersion reads the applied migration version with a plain query: 0 when the version
// table does not exist yet.
func (db *DB) appliedVersion(ctx context.Context) (int32, error) {
	var exists bool
	if err := db.Pool.QueryRow(ctx, "select to_regclass($1) is not null", VersionTable).Scan(&exists); err != nil {
		return 0, fmt.Errorf("couldn't reach PostgreSQL at %s: %w", db.addr, err)
	}
	if !exists {
		return 0, nil
	}
	var v int32
	if err := db.Pool.QueryRow(ctx, "select version from "+VersionTable).Scan(&v); err != nil {
		return 0, fmt.Errorf("couldn't read the schema version at %s: %w", db.addr, err)
	}
	return v, nil
}

// isInsufficientPrivilege reports a PostgreSQL permission error (SQLSTATE 42501).
func isInsufficientPrivilege(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42501"
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
