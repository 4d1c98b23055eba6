package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/store"
)

// DefaultTimeout bounds one analytics statement when the Engine sets none.
const DefaultTimeout = 30 * time.Second

// DefaultWorkMem is the work_mem of an analytics transaction when the Engine sets none: enough
// for the hash aggregates of a year of activity to stay in memory.
const DefaultWorkMem = "64MB"

// Engine runs analytics queries against one database. The zero values of its options are the
// defaults; it is safe for concurrent use.
type Engine struct {
	// DB is the pool every query runs on, each in a read-only transaction.
	DB *store.DB
	// Timeout is the statement_timeout of each query; 0 means DefaultTimeout.
	Timeout time.Duration
	// NoRollup makes activity queries read raw rows only, ignoring the daily rollup: for
	// comparisons and benchmarks, since results are the same either way.
	NoRollup bool
	// WorkMem is PostgreSQL's work_mem for the query's transaction; "" means DefaultWorkMem.
	WorkMem string
}

// NewEngine returns an Engine on db with the default options.
func NewEngine(db *store.DB) *Engine { return &Engine{DB: db} }

// query runs the statement that build writes in a read-only transaction and hands its rows to
// scan. When rollup is set, build gets the daily rollup's coverage (nil before the first
// refresh): see queryCovered.
func (e *Engine) query(ctx context.Context, rollup bool, build func(covered *time.Time) Executed, scan func(pgx.Rows) error) (Executed, error) {
	name := ""
	if rollup {
		name = RollupName
	}
	return e.queryCovered(ctx, name, build, scan)
}

// queryCovered runs the statement that build writes in a read-only transaction and hands its
// rows to scan. build gets the coverage of the rollup named (the row of
// bdc_analytics.rollup_watermark; nil for "" or before its first refresh), read in the same
// transaction: coverage only grows and a refresh rewrites whole days at once, so the days below
// it are complete whenever the statement reads them.
func (e *Engine) queryCovered(ctx context.Context, rollup string, build func(covered *time.Time) Executed, scan func(pgx.Rows) error) (Executed, error) {
	return e.queryPrepared(ctx, rollup, func(_ context.Context, _ pgx.Tx, covered *time.Time) (Executed, error) {
		return build(covered), nil
	}, scan)
}

// queryPrepared is queryCovered with a build that may read what it needs to write the statement
// in the same transaction, which sees one snapshot (store.DB.ReadOnly): what it reads agrees
// with what the statement reads.
func (e *Engine) queryPrepared(ctx context.Context, rollup string, build func(ctx context.Context, tx pgx.Tx, covered *time.Time) (Executed, error), scan func(pgx.Rows) error) (Executed, error) {
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	workMem := e.WorkMem
	if workMem == "" {
		workMem = DefaultWorkMem
	}
	var ex Executed
	err := e.DB.ReadOnly(ctx, timeout, func(ctx context.Context, tx pgx.Tx) error {
		// JIT compilation costs more than it saves on these one-off statements over a few
		// million rows; hash aggregates need more than the default work_mem. Each statement is
		// planned for its arguments: pgx prepares statements once per connection, and from the
		// sixth execution PostgreSQL may run a generic plan, made without the range's dates,
		// whose estimates are off by orders of magnitude (the benchmark's paths: 0.38 s with the
		// plan for its arguments, 1.0 s with the generic one); planning takes a millisecond.
		var covered *time.Time
		err := tx.QueryRow(ctx, `select set_config('jit', 'off', true), set_config('work_mem', $1, true),
			set_config('plan_cache_mode', 'force_custom_plan', true),
			(select covered_until from bdc_analytics.rollup_watermark where rollup = $2)`, workMem, rollup).
			Scan(nil, nil, nil, &covered)
		if err != nil {
			return fmt.Errorf("couldn't prepare the analytics transaction: %w", err)
		}
		if ex, err = build(ctx, tx, covered); err != nil {
			return err
		}
		for _, set := range ex.settings() {
			if _, err := tx.Exec(ctx, "select set_config($1, $2, true)", set[0], set[1]); err != nil {
				return fmt.Errorf("couldn't prepare the analytics transaction: %w", err)
			}
		}
		rows, err := tx.Query(ctx, ex.SQL, ex.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return ex, err
}

// useRollup reports whether a query in loc may read the daily rollup.
func (e *Engine) useRollup(loc *time.Location) bool {
	return !e.NoRollup && loc.String() == DefaultTimeZone
}
