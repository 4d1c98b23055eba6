package schedule

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/store"
)

// Run statuses.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// What started a run.
const (
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
)

// Expected outcomes of claiming a firing: another replica has it, or it is over.
var (
	// ErrBusy means another replica (or goroutine) is running the firing now.
	ErrBusy = errors.New("the firing is being run by another replica")
	// ErrDone means the firing already ran to an end.
	ErrDone = errors.New("the firing already ran")
	// errLost means the run stopped being this replica's while it ran (the watchdog failed it,
	// or the database session holding its lock ended and another replica took it over).
	errLost = errors.New("the run is no longer this replica's")
	// errExhausted means a run found dead had no attempt left.
	errExhausted = errors.New("no attempt left")
	// errSessionLost means the connection holding the firing's lock broke (PostgreSQL stopped or
	// became unreachable): the run can neither be recorded nor kept from the other replicas, so
	// it is left running for a watchdog to pick up once PostgreSQL answers again.
	errSessionLost = errors.New("lost the connection holding the run's lock")
)

// Run is a run record of bdc_analytics.job_runs.
type Run struct {
	ID          int64             `json:"id"`
	Job         string            `json:"job"`
	Kind        string            `json:"kind"`
	ScheduledAt time.Time         `json:"scheduled_at"`
	Trigger     string            `json:"trigger"`
	Status      string            `json:"status"`
	Attempt     int               `json:"attempt"`
	MaxAttempts int               `json:"max_attempts"`
	Owner       string            `json:"owner"`
	CreatedAt   time.Time         `json:"created_at"`
	StartedAt   time.Time         `json:"started_at"`
	DeadlineAt  time.Time         `json:"deadline_at"`
	FinishedAt  *time.Time        `json:"finished_at,omitempty"`
	Error       string            `json:"error,omitempty"`
	Rows        *int64            `json:"rows,omitempty"`
	Files       []export.FileInfo `json:"files"`
	Folder      string            `json:"folder,omitempty"`
}

const runColumns = `id, job, kind, scheduled_at, triggered_by, status, attempt, max_attempts, owner, created_at,
	started_at, deadline_at, finished_at, coalesce(error, ''), rows, files, coalesce(folder, '')`

func scanRun(row pgx.Row) (Run, error) {
	var r Run
	err := row.Scan(&r.ID, &r.Job, &r.Kind, &r.ScheduledAt, &r.Trigger, &r.Status, &r.Attempt, &r.MaxAttempts, &r.Owner,
		&r.CreatedAt, &r.StartedAt, &r.DeadlineAt, &r.FinishedAt, &r.Error, &r.Rows, &r.Files, &r.Folder)
	if r.Files == nil {
		r.Files = []export.FileInfo{}
	}
	return r, err
}

// lockKey derives a session advisory lock key: the same on every replica, and in a namespace of
// its own (FNV-1a of a prefix and the parts).
func lockKey(parts ...string) int64 {
	h := fnv.New64a()
	h.Write([]byte("bdc-reporter"))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return int64(binary.BigEndian.Uint64(h.Sum(nil)))
}

// runLockKey is the lock of one firing.
func runLockKey(job string, at time.Time) int64 {
	return lockKey("run", job, fmt.Sprint(at.UnixMicro()))
}

// jobLockKey serialises what runs of one job share: its manifest and its pruning.
func jobLockKey(job string) int64 { return lockKey("job", job) }

// claim is a firing this replica runs: its record, and the connection whose session holds the
// firing's advisory lock for as long as the run lasts. The connection dying releases the lock,
// which is how other replicas learn that the run needs picking up. It is a connection of its own,
// outside the pool, so that runs holding locks never starve the work they do of connections.
type claim struct {
	mu       sync.Mutex // the connection is used by the run and by the keepalive
	conn     *pgx.Conn
	key      int64
	run      Run
	takeover bool  // a replica died running it; this one picked it up
	lost     error // why the lock's session ended, once it did
	stop     chan struct{}
	done     chan struct{}
}

// claimRun takes the firing (job, at) for this replica, or returns ErrBusy or ErrDone. A
// firing whose record says running while its lock is free was left by a replica that died: it is
// taken over with the next attempt, or failed when no attempt is left (errExhausted).
func claimRun(ctx context.Context, db *store.DB, j *Job, at time.Time, trigger, owner string, now time.Time, grace time.Duration) (*claim, error) {
	conn, err := pgx.ConnectConfig(ctx, db.Pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("couldn't reach PostgreSQL at %s: %w", db.Addr(), err)
	}
	c := &claim{conn: conn, key: runLockKey(j.Name, at)}
	var locked bool
	if err := conn.QueryRow(ctx, "select pg_try_advisory_lock($1)", c.key).Scan(&locked); err != nil {
		c.release()
		return nil, fmt.Errorf("couldn't lock the firing in PostgreSQL at %s: %w", db.Addr(), err)
	}
	if !locked {
		c.release()
		return nil, ErrBusy
	}
	deadline := now.Add(time.Duration(j.Timeout) + grace)
	row := conn.QueryRow(ctx, `insert into bdc_analytics.job_runs (job, kind, scheduled_at, triggered_by, status, attempt,
			max_attempts, owner, created_at, started_at, deadline_at)
		values ($1, $2, $3, $4, 'running', 1, $5, $6, $7, $7, $8)
		on conflict (job, scheduled_at) do nothing
		returning `+runColumns, j.Name, string(j.Kind), at, trigger, j.MaxAttempts(), owner, now, deadline)
	c.run, err = scanRun(row)
	if errors.Is(err, pgx.ErrNoRows) {
		// The record exists. Holding its lock, this replica is the only one that can start it.
		row = conn.QueryRow(ctx, `update bdc_analytics.job_runs
			set attempt = attempt + 1, owner = $3, started_at = $4, deadline_at = $5
			where job = $1 and scheduled_at = $2 and status = 'running' and attempt < max_attempts
			returning `+runColumns, j.Name, at, owner, now, deadline)
		c.run, err = scanRun(row)
		c.takeover = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			err = c.closeOut(ctx, j.Name, at, now)
		}
	}
	if err != nil {
		c.release()
		return nil, err
	}
	return c, nil
}

// closeOut handles a record that cannot be started: over already (ErrDone), or running with no
// attempt left, which it fails (errExhausted).
func (c *claim) closeOut(ctx context.Context, job string, at, now time.Time) error {
	r, err := scanRun(c.conn.QueryRow(ctx, `select `+runColumns+` from bdc_analytics.job_runs
		where job = $1 and scheduled_at = $2`, job, at))
	if err != nil {
		return fmt.Errorf("couldn't read the run record: %w", err)
	}
	c.run = r
	if r.Status != StatusRunning {
		return ErrDone
	}
	msg := fmt.Sprintf("the replica running attempt %d of %d (%s) stopped; no attempt left", r.Attempt, r.MaxAttempts, r.Owner)
	if r.Error != "" {
		msg += "; last error: " + r.Error
	}
	if _, err := c.conn.Exec(ctx, `update bdc_analytics.job_runs set status = 'failed', error = $2, finished_at = $3
		where id = $1 and status = 'running'`, r.ID, msg, now); err != nil {
		return fmt.Errorf("couldn't fail the run: %w", err)
	}
	c.run.Status, c.run.Error = StatusFailed, msg
	return fmt.Errorf("%w: %s", errExhausted, msg)
}

// keepalive pings the lock's session every interval and calls lost when it fails: the lock is
// gone, another replica may take the run over, and this one's result would be refused anyway.
func (c *claim) keepalive(interval time.Duration, lost func()) {
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(c.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				c.mu.Lock()
				ctx, cancel := context.WithTimeout(context.Background(), interval)
				err := c.conn.Ping(ctx)
				cancel()
				if err != nil {
					c.lost = err
				}
				c.mu.Unlock()
				if err != nil {
					lost()
					return
				}
			}
		}
	}()
}

// sessionLost returns why the lock's session ended, or nil while it answers: what the keepalive
// found, or else a ping now, since an attempt that failed on the database may see PostgreSQL go
// before the keepalive does.
func (c *claim) sessionLost(timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lost == nil {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := c.conn.Ping(ctx); err != nil {
			c.lost = err
		}
	}
	return c.lost
}

// exec runs a statement on the lock's session.
func (c *claim) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tag, err := c.conn.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

// nextAttempt records the start of the next attempt.
func (c *claim) nextAttempt(ctx context.Context, now, deadline time.Time) error {
	n, err := c.exec(ctx, `update bdc_analytics.job_runs set attempt = attempt + 1, started_at = $3, deadline_at = $4
		where id = $1 and status = 'running' and owner = $2 and attempt = $5`, c.run.ID, c.run.Owner, now, deadline, c.run.Attempt)
	if err != nil {
		return fmt.Errorf("couldn't record the next attempt: %w", err)
	}
	if n == 0 {
		return errLost
	}
	c.run.Attempt++
	c.run.StartedAt, c.run.DeadlineAt = now, deadline
	return nil
}

// retrying records a failed attempt that will be retried, pushing the deadline past the wait.
func (c *claim) retrying(ctx context.Context, cause error, deadline time.Time) error {
	n, err := c.exec(ctx, `update bdc_analytics.job_runs set error = $3, deadline_at = $4
		where id = $1 and status = 'running' and owner = $2`, c.run.ID, c.run.Owner, cause.Error(), deadline)
	if err != nil {
		return fmt.Errorf("couldn't record the failed attempt: %w", err)
	}
	if n == 0 {
		return errLost
	}
	return nil
}

// fail records the run's failure.
func (c *claim) fail(ctx context.Context, cause error, now time.Time) error {
	n, err := c.exec(ctx, `update bdc_analytics.job_runs set status = 'failed', error = $3, finished_at = $4
		where id = $1 and status = 'running' and owner = $2 and attempt = $5`, c.run.ID, c.run.Owner, cause.Error(), now, c.run.Attempt)
	if err != nil {
		return fmt.Errorf("couldn't record the failure: %w", err)
	}
	if n == 0 {
		return errLost
	}
	c.run.Status, c.run.Error, c.run.FinishedAt = StatusFailed, cause.Error(), &now
	return nil
}

// succeed publishes the run's files and records its success in one transaction: the record is
// checked to still be this attempt's (so a run failed by the watchdog or taken over publishes
// nothing), the job's lock serialises the manifest with the job's other runs, publish renames the
// files into place, and the record turns succeeded. If the commit is lost after publish, the run
// stays running, is picked up again and publishes the same names: files are replaced, never
// doubled.
func (c *claim) succeed(ctx context.Context, now time.Time, o Outcome, folder string, publish func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, err := c.conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("couldn't begin the run's commit: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var status, owner string
	var attempt int
	err = tx.QueryRow(ctx, `select status, owner, attempt from bdc_analytics.job_runs where id = $1 for update`, c.run.ID).
		Scan(&status, &owner, &attempt)
	if err != nil {
		return fmt.Errorf("couldn't read the run record: %w", err)
	}
	if status != StatusRunning || owner != c.run.Owner || attempt != c.run.Attempt {
		return errLost
	}
	if _, err := tx.Exec(ctx, "select pg_advisory_xact_lock($1)", jobLockKey(c.run.Job)); err != nil {
		return fmt.Errorf("couldn't lock the job's folder: %w", err)
	}
	if err := publish(); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `update bdc_analytics.job_runs set status = 'succeeded', finished_at = $2, rows = $3,
		files = $4, folder = $5, error = null where id = $1`, c.run.ID, now, o.Rows, o.Files, folder); err != nil {
		return fmt.Errorf("couldn't record the success: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("couldn't record the success: %w", err)
	}
	rows := o.Rows
	c.run.Status, c.run.Error, c.run.FinishedAt, c.run.Rows, c.run.Files, c.run.Folder = StatusSucceeded, "", &now, &rows, o.Files, folder
	return nil
}

// release ends the claim: the keepalive stops and the connection closes, which ends the session
// and releases the firing's lock with it.
func (c *claim) release() {
	if c.stop != nil {
		close(c.stop)
		<-c.done
		c.stop = nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.conn.Close(ctx)
}

// RunFilter selects runs for ListRuns.
type RunFilter struct {
	Job    string
	Status string
	// Limit is the most runs returned, newest first; 0 means 100.
	Limit int
}

// ListRuns returns run records, newest scheduled first.
func ListRuns(ctx context.Context, db *store.DB, f RunFilter) ([]Run, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var runs []Run
	err := db.ReadOnly(ctx, 10*time.Second, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `select `+runColumns+` from bdc_analytics.job_runs
			where ($1 = '' or job = $1) and ($2 = '' or status = $2)
			order by scheduled_at desc, id desc limit $3`, f.Job, f.Status, f.Limit)
		if err != nil {
			return err
		}
		runs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Run, error) { return scanRun(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't list runs: %w", err)
	}
	return runs, nil
}

// expireRuns fails the runs still running after their deadline and returns them.
func expireRuns(ctx context.Context, db *store.DB, now time.Time) ([]Run, error) {
	rows, err := db.Pool.Query(ctx, `update bdc_analytics.job_runs
		set status = 'failed', finished_at = $1,
			error = 'watchdog: no result by ' || to_char(deadline_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') ||
				' (attempt ' || attempt || ' on ' || owner || ')' || coalesce('; last error: ' || error, '')
		where status = 'running' and deadline_at < $1
		returning `+runColumns, now)
	if err != nil {
		return nil, fmt.Errorf("couldn't fail the runs past their deadline: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Run, error) { return scanRun(r) })
}

// runningRuns lists the runs recorded as running within their deadline (some may belong to
// replicas that died).
func runningRuns(ctx context.Context, db *store.DB, now time.Time) ([]Run, error) {
	rows, err := db.Pool.Query(ctx, `select `+runColumns+` from bdc_analytics.job_runs
		where status = 'running' and deadline_at >= $1 order by scheduled_at`, now)
	if err != nil {
		return nil, fmt.Errorf("couldn't list running runs: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Run, error) { return scanRun(r) })
}

// lastSuccesses returns, per job, when its latest successful run finished.
func lastSuccesses(ctx context.Context, db *store.DB) (map[string]time.Time, error) {
	rows, err := db.Pool.Query(ctx, `select job, max(finished_at) from bdc_analytics.job_runs
		where status = 'succeeded' group by job`)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the last successes: %w", err)
	}
	out := map[string]time.Time{}
	var (
		job string
		at  time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&job, &at}, func() error {
		out[job] = at
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't read the last successes: %w", err)
	}
	return out, nil
}

// LatestRuns returns each job's latest run (by scheduled time).
func LatestRuns(ctx context.Context, db *store.DB) (map[string]Run, error) {
	out := map[string]Run{}
	err := db.ReadOnly(ctx, 10*time.Second, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `select distinct on (job) `+runColumns+` from bdc_analytics.job_runs
			order by job, scheduled_at desc`)
		if err != nil {
			return err
		}
		runs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Run, error) { return scanRun(r) })
		for _, r := range runs {
			out[r.Job] = r
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't read the latest runs: %w", err)
	}
	return out, nil
}
