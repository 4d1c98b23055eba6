package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/store"
)

// ErrNotEmpty is returned by Seed when the canonical tables already hold rows.
var ErrNotEmpty = errors.New("the bdc tables already hold rows")

// Units of generation: staff and beneficiaries are drawn in blocks that run in parallel and are
// loaded in order.
const (
	staffPerBlock       = 500
	beneficiariesPerBlk = 1000
)

// SeedStats reports what Seed loaded.
type SeedStats struct {
	Rows     map[string]int64
	Duration time.Duration
}

// Total is the number of rows loaded into every table.
func (s SeedStats) Total() int64 {
	var n int64
	for _, v := range s.Rows {
		n += v
	}
	return n
}

// Seed generates the platform described by cfg and loads it with COPY in one transaction, so an
// interrupted seed leaves the database as it was. It refuses tables that already hold rows.
func Seed(ctx context.Context, db *store.DB, cfg Config, logger *slog.Logger) (SeedStats, error) {
	if err := cfg.Validate(); err != nil {
		return SeedStats{}, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	begin := time.Now()
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return SeedStats{}, fmt.Errorf("couldn't reach PostgreSQL at %s: %w", db.Addr(), err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return SeedStats{}, fmt.Errorf("couldn't begin seeding transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	if _, err := tx.Exec(ctx, truthDDL); err != nil {
		return SeedStats{}, fmt.Errorf("couldn't create schema bdc_demo: %w", err)
	}
	var nonEmpty bool
	if err := tx.QueryRow(ctx, "select exists (select 1 from bdc.users)").Scan(&nonEmpty); err != nil {
		return SeedStats{}, fmt.Errorf("couldn't check bdc.users (is the database migrated?): %w", err)
	}
	if nonEmpty {
		return SeedStats{}, ErrNotEmpty
	}

	restore, err := suspendConstraints(ctx, tx)
	if err != nil {
		return SeedStats{}, err
	}
	p := newPlan(cfg)
	logger.Info("seeding", "users", cfg.Users, "beneficiaries", p.beneficiaries, "trainers", p.trainers,
		"days", cfg.Days, "seed", cfg.Seed, "end", cfg.End.Format(time.RFC3339))
	stats := SeedStats{Rows: map[string]int64{}}
	var base [numTables]int64
	err = p.generate(ctx, func(i int, blk *block) error {
		snapshot := base
		for t := range numTables {
			rows := blk.rows[t]
			if len(rows) == 0 {
				continue
			}
			spec := tableSpecs[t]
			for _, row := range rows {
				if spec.localID {
					row[0] = row[0].(int64) + snapshot[t] + 1
				}
				for col, ref := range spec.refs {
					row[col] = row[col].(int64) + snapshot[ref] + 1
				}
			}
			if _, err := tx.CopyFrom(ctx, spec.name, spec.columns, pgx.CopyFromRows(rows)); err != nil {
				return fmt.Errorf("couldn't copy into %s: %w", spec.name.Sanitize(), err)
			}
			base[t] += int64(len(rows))
			stats.Rows[spec.name.Sanitize()] += int64(len(rows))
		}
		if i%50 == 49 {
			logger.Debug("seeding progress", "blocks", i+1, "rows", stats.Total())
		}
		return nil
	})
	if err != nil {
		return SeedStats{}, err
	}
	for _, ddl := range restore {
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return SeedStats{}, fmt.Errorf("couldn't restore %q after loading: %w", ddl, err)
		}
	}
	for _, t := range []table{tUsers, tBeneficiaries, tAppointments, tEvaluations, tActivities, tPayments, tFeedback, tTickets} {
		name := tableSpecs[t].name.Sanitize()
		q := fmt.Sprintf("select setval(pg_get_serial_sequence('%s', 'id'), coalesce(max(id), 0) + 1, false) from %s", name, name)
		if _, err := tx.Exec(ctx, q); err != nil {
			return SeedStats{}, fmt.Errorf("couldn't advance the id sequence of %s: %w", name, err)
		}
	}
	if _, err := tx.Exec(ctx, "insert into bdc_demo.seed_info (seed, users, days, end_at, generator_version, session_depth) values ($1, $2, $3, $4, $5, $6)",
		fmt.Sprint(cfg.Seed), cfg.Users, cfg.Days, cfg.End, GeneratorVersion, cfg.SessionDepth); err != nil {
		return SeedStats{}, fmt.Errorf("couldn't record the seed: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return SeedStats{}, fmt.Errorf("couldn't commit the seed: %w", err)
	}
	if _, err := conn.Exec(ctx, "analyze"); err != nil {
		return SeedStats{}, fmt.Errorf("couldn't analyze the seeded tables: %w", err)
	}
	stats.Duration = time.Since(begin)
	logger.Info("seeded", "rows", stats.Total(), "duration", stats.Duration.Round(time.Millisecond))
	return stats, nil
}

// suspendConstraints drops the foreign keys and secondary indexes of schema bdc for the bulk load
// and returns the statements that restore them. Building an index once and validating a foreign
// key in one join is several times faster than maintaining them row by row; the whole happens in
// the seeding transaction, so nothing is lost if it fails.
func suspendConstraints(ctx context.Context, tx pgx.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, `
		select format('alter table %s drop constraint %I', conrelid::regclass, conname),
		       format('alter table %s add constraint %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid)),
		       1 as step
		from pg_constraint where contype = 'f' and connamespace = 'bdc'::regnamespace
		union all
		select format('drop index %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid), 0
		from pg_index i join pg_class c on c.oid = i.indexrelid
		where c.relnamespace = 'bdc'::regnamespace
		  and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
		order by 3 desc, 1`)
	if err != nil {
		return nil, fmt.Errorf("couldn't list constraints of schema bdc: %w", err)
	}
	var drops, restores []string
	for rows.Next() {
		var drop, restore string
		var step int
		if err := rows.Scan(&drop, &restore, &step); err != nil {
			return nil, err
		}
		drops = append(drops, drop)
		restores = append([]string{restore}, restores...) // indexes back first, then foreign keys
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, ddl := range drops {
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return nil, fmt.Errorf("couldn't run %q before loading: %w", ddl, err)
		}
	}
	return restores, nil
}

// generate draws every block on all cores and hands them to load in order, with at most a few
// blocks in memory at once.
func (p *plan) generate(ctx context.Context, load func(i int, blk *block) error) error {
	type unit struct {
		staff    bool
		from, to int
	}
	var units []unit
	staff := p.trainers + p.admins
	for s := 0; s < staff; s += staffPerBlock {
		units = append(units, unit{true, s, min(staff, s+staffPerBlock)})
	}
	for b := 0; b < p.beneficiaries; b += beneficiariesPerBlk {
		units = append(units, unit{false, b, min(p.beneficiaries, b+beneficiariesPerBlk)})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := runtime.GOMAXPROCS(0)
	slots := make(chan struct{}, workers+1)
	results := make([]chan *block, len(units))
	for i := range results {
		results[i] = make(chan *block, 1)
	}
	go func() {
		for i, u := range units {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				if u.staff {
					results[i] <- p.staffBlock(u.from, u.to)
				} else {
					results[i] <- p.beneficiaryBlock(u.from, u.to)
				}
			}()
		}
	}()
	for i := range units {
		var blk *block
		select {
		case blk = <-results[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-slots
		if err := load(i, blk); err != nil {
			return err
		}
	}
	return nil
}

// Seeded reports whether the database holds a complete demo seed.
func Seeded(ctx context.Context, db *store.DB) (bool, error) {
	var ok bool
	err := db.Pool.QueryRow(ctx, `select to_regclass('bdc_demo.seed_info') is not null`).Scan(&ok)
	if err != nil || !ok {
		return false, err
	}
	err = db.Pool.QueryRow(ctx, `select exists (select 1 from bdc_demo.seed_info)`).Scan(&ok)
	return ok, err
}
