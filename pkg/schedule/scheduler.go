package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/store"
)

// DefaultKeepalive is how often a running firing's lock session is pinged.
const DefaultKeepalive = 10 * time.Second

// ErrUnknownJob is returned for a job name reporter.yml does not define.
var ErrUnknownJob = errors.New("no such job")

// Options configure a Scheduler.
type Options struct {
	// DB holds the run records; it is also where jobs read from.
	DB *store.DB
	// Config is the validated reporter.yml.
	Config *Config
	// Logger receives one line per run outcome; nil discards.
	Logger *slog.Logger
	// Registerer receives the scheduler's metrics; nil means a new registry.
	Registerer prometheus.Registerer
	// Owner names this replica in run records; default host:pid.
	Owner string
	// Now is the clock of run records and firings; nil means time.Now.
	Now func() time.Time
	// Keepalive is how often the lock session of a running firing is pinged; 0 means
	// DefaultKeepalive.
	Keepalive time.Duration
}

// Scheduler runs reporter.yml's jobs on their cron schedules, each firing exactly once across
// the replicas sharing the database, and watches the runs of all of them.
type Scheduler struct {
	db        *store.DB // jobs' work and their run records' claims
	meta      *store.DB // the watchdog's and the API's queries, never starved by long jobs
	cfg       *Config
	logger    *slog.Logger
	metrics   *metrics
	owner     string
	now       func() time.Time
	keepalive time.Duration

	slots chan struct{} // one per run this replica may do at once
	mu    sync.Mutex
	local map[string]bool // firings in progress in this process
	wg    sync.WaitGroup  // runs started in the background (watchdog pick-ups, manual runs)
	ctx   context.Context // Run's, for background runs
	ready atomic.Bool
}

// New builds a scheduler; Run starts it.
func New(opts Options) (*Scheduler, error) {
	if opts.DB == nil || opts.Config == nil {
		return nil, errors.New("a scheduler needs a database and a configuration")
	}
	// The watchdog and the API get a small pool of their own: jobs blocked on the database (a
	// lock, a slow query) may hold every connection of the work pool, and the watchdog must
	// still see the runs.
	meta, err := store.Open(context.Background(), store.Config{URL: opts.DB.Pool.Config().ConnString(),
		Application: opts.DB.Pool.Config().ConnConfig.RuntimeParams["application_name"], MaxConns: 2})
	if err != nil {
		return nil, err
	}
	s := &Scheduler{db: opts.DB, meta: meta, cfg: opts.Config, logger: opts.Logger, owner: opts.Owner, now: opts.Now,
		keepalive: opts.Keepalive, local: map[string]bool{}, ctx: context.Background(),
		slots: make(chan struct{}, max(1, opts.Config.Concurrency))}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.owner == "" {
		host, _ := os.Hostname()
		s.owner = host + ":" + strconv.Itoa(os.Getpid())
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.keepalive <= 0 {
		s.keepalive = DefaultKeepalive
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.metrics = newMetrics(reg)
	for _, j := range s.cfg.Jobs {
		s.metrics.init(j)
	}
	return s, nil
}

// Close releases the scheduler's own connections; call it after Run returned.
func (s *Scheduler) Close() { s.meta.Close() }

// Config is the scheduler's configuration.
func (s *Scheduler) Config() *Config { return s.cfg }

// Owner is the name this replica writes into run records.
func (s *Scheduler) Owner() string { return s.owner }

// Ready reports whether the scheduler runs and the database answered its last ping.
func (s *Scheduler) Ready() bool { return s.ready.Load() }

// Run schedules the enabled jobs and watches the runs until ctx ends, then stops scheduling and
// waits for the runs in progress to end (they are cancelled: their records stay running and
// another replica, or this one when it starts again, picks them up).
func (s *Scheduler) Run(ctx context.Context) error {
	s.ctx = ctx
	if err := os.MkdirAll(s.cfg.OutputDir, 0o750); err != nil {
		return fmt.Errorf("couldn't create the output folder: %w", err)
	}
	cron, err := gocron.NewScheduler(gocron.WithStopTimeout(time.Minute))
	if err != nil {
		return fmt.Errorf("couldn't create the scheduler: %w", err)
	}
	for _, j := range s.cfg.Jobs {
		if !j.IsEnabled() {
			continue
		}
		_, err := cron.NewJob(gocron.CronJob(j.cron.crontab, j.cron.seconds),
			gocron.NewTask(func(ctx context.Context) { s.fire(ctx, j) }),
			gocron.WithName(j.Name), gocron.WithContext(ctx))
		if err != nil {
			return fmt.Errorf("couldn't schedule job %s: %w", j.Name, err)
		}
	}
	s.check(ctx)
	cron.Start()
	s.logger.Info("scheduler started", "jobs", len(s.cfg.Jobs), "owner", s.owner, "output_dir", s.cfg.OutputDir)
	t := time.NewTicker(time.Duration(s.cfg.Watchdog.Interval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.ready.Store(false)
			err := cron.Shutdown()
			s.wg.Wait()
			return err
		case <-t.C:
			s.check(ctx)
		}
	}
}

// fire runs the firing a cron tick stands for: the schedule's last instant at or before now, so
// a tick that comes late still names its own firing.
func (s *Scheduler) fire(ctx context.Context, j *Job) {
	at := j.cron.prev(s.now())
	if at.IsZero() {
		return
	}
	_, _ = s.Execute(ctx, j.Name, at, TriggerSchedule)
}

// Trigger starts a manual run of the job now, in the background, and returns its firing time
// (the current second). A second request in the same second is the same firing.
func (s *Scheduler) Trigger(name string) (time.Time, error) {
	if s.cfg.Job(name) == nil {
		return time.Time{}, fmt.Errorf("%w: %q", ErrUnknownJob, name)
	}
	at := s.now().Truncate(time.Second)
	s.background(name, at, TriggerManual)
	return at, nil
}

func (s *Scheduler) background(name string, at time.Time, trigger string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_, _ = s.Execute(s.ctx, name, at, trigger)
	}()
}

// pickup tries, in the background, a firing the watchdog found running: claiming it succeeds
// only if its replica stopped. It gives up at once when every run slot is busy (the next round
// tries again), so rounds do not pile up waiting goroutines while long runs hold the slots.
func (s *Scheduler) pickup(name string, at time.Time, trigger string) {
	select {
	case s.slots <- struct{}{}:
	default:
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_, _ = s.execute(s.ctx, name, at, trigger, true)
	}()
}

// begin marks a firing in progress in this process; false if it already is.
func (s *Scheduler) begin(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.local[key] {
		return false
	}
	s.local[key] = true
	return true
}

func (s *Scheduler) end(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.local, key)
}

// Execute runs the firing (job, at) if no replica has run or is running it, and returns its
// record once it ended: ErrBusy or ErrDone when it is or was another's (or this process's). A
// failure is retried with the job's backoff, up to its retries; its error comes back with the
// record marked failed and bdc_reporter_job_failures_total counting it. When ctx ends (shutdown)
// the run is left running for another replica to pick up.
func (s *Scheduler) Execute(ctx context.Context, name string, at time.Time, trigger string) (*Run, error) {
	return s.execute(ctx, name, at, trigger, false)
}

// execute is Execute; holding says the caller already took a run slot for it.
func (s *Scheduler) execute(ctx context.Context, name string, at time.Time, trigger string, holding bool) (*Run, error) {
	if holding {
		defer func() { <-s.slots }()
	}
	j := s.cfg.Job(name)
	if j == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownJob, name)
	}
	at = at.Truncate(time.Microsecond) // PostgreSQL's precision: the same key on every replica
	key := name + "@" + strconv.FormatInt(at.UnixMicro(), 10)
	if !s.begin(key) {
		return nil, ErrBusy
	}
	defer s.end(key)
	if !holding {
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	log := s.logger.With("job", name, "scheduled_at", at.In(j.loc).Format(time.RFC3339), "trigger", trigger)
	start := s.now()
	grace := time.Duration(s.cfg.Watchdog.Grace)

	var c *claim
	for n := 1; ; n++ {
		var err error
		c, err = claimRun(ctx, s.db, j, at, trigger, s.owner, s.now(), grace)
		switch {
		case err == nil:
		case errors.Is(err, ErrBusy), errors.Is(err, ErrDone):
			log.Debug("firing skipped", "why", err)
			return nil, err
		case errors.Is(err, errExhausted):
			log.Error("run failed", "err", err)
			s.failed(j, err, start)
			return nil, err
		case n >= j.MaxAttempts() || ctx.Err() != nil:
			err = fmt.Errorf("couldn't start job %s: %w", name, err)
			log.Error("run failed", "err", err, "attempts", n)
			s.failed(j, err, start)
			return nil, err
		default:
			delay := j.backoff.delay(n)
			log.Warn("couldn't start the run, retrying", "err", err, "attempt", n, "retry_in", delay)
			s.metrics.retries.WithLabelValues(name).Inc()
			if sleep(ctx, delay) != nil {
				return nil, ctx.Err()
			}
			continue
		}
		break
	}
	defer c.release()
	if c.takeover {
		s.metrics.takeovers.WithLabelValues(name).Inc()
		log.Warn("picked up a run left by a replica that stopped or lost PostgreSQL", "run", c.run.ID, "attempt", c.run.Attempt)
	}
	log = log.With("run", c.run.ID)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.keepalive(s.keepalive, cancel)
	s.metrics.running.WithLabelValues(name).Inc()
	defer s.metrics.running.WithLabelValues(name).Dec()

	for {
		o, err := s.attempt(runCtx, j, c, log)
		// Logs, run records and the API say what failed, never the value a data error quotes.
		err = store.LogSafe(err)
		if err == nil {
			s.metrics.runs.WithLabelValues(name, StatusSucceeded).Inc()
			s.metrics.success.WithLabelValues(name).Set(1)
			s.metrics.duration.WithLabelValues(name).Observe(s.now().Sub(start).Seconds())
			s.metrics.lastSuccess.WithLabelValues(name).Set(float64(s.now().UnixMilli()) / 1000)
			s.metrics.rows.WithLabelValues(name).Add(float64(o.Rows))
			log.Info("run succeeded", "attempt", c.run.Attempt, "rows", o.Rows, "folder", Folder(j, at), "summary", o.Summary)
			run := c.run
			return &run, nil
		}
		// A failed attempt whose lock session is gone too (PostgreSQL stopped) cannot be recorded
		// or retried here: this replica no longer holds the firing.
		var lost error
		if ctx.Err() == nil && !errors.Is(err, errLost) {
			lost = c.sessionLost(s.keepalive)
		}
		switch {
		case ctx.Err() != nil:
			log.Warn("run interrupted by shutdown: left for another replica", "attempt", c.run.Attempt)
			return nil, ctx.Err()
		case lost != nil:
			lerr := fmt.Errorf("run %d of %s: %w, to PostgreSQL at %s: %w; a replica picks it up once PostgreSQL answers",
				c.run.ID, name, errSessionLost, s.db.Addr(), lost)
			log.Warn("run interrupted: left for a replica to pick up", "err", lerr, "reason", reason(lerr),
				"attempt", c.run.Attempt, "attempt_err", err)
			return nil, lerr
		case errors.Is(err, errLost), runCtx.Err() != nil:
			log.Warn("run lost: the watchdog failed it or another replica took it over", "err", err)
			return nil, errLost
		case c.run.Attempt >= c.run.MaxAttempts:
			if ferr := c.fail(ctx, err, s.now()); ferr != nil && !errors.Is(ferr, errLost) {
				log.Error("couldn't record the failure", "err", ferr)
			}
			log.Error("run failed", "err", err, "attempt", c.run.Attempt)
			s.failed(j, err, start)
			run := c.run
			return &run, err
		}
		delay := j.backoff.delay(c.run.Attempt)
		log.Warn("attempt failed, retrying", "err", err, "attempt", c.run.Attempt, "retry_in", delay)
		s.metrics.retries.WithLabelValues(name).Inc()
		if err := c.retrying(runCtx, err, s.now().Add(delay+time.Duration(j.Timeout)+grace)); err != nil {
			log.Warn("couldn't record the failed attempt", "err", err)
		}
		if sleep(runCtx, delay) != nil {
			if ctx.Err() != nil {
				log.Warn("run interrupted by shutdown: left for another replica", "attempt", c.run.Attempt)
				return nil, ctx.Err()
			}
			log.Warn("run lost while waiting to retry: its lock session ended")
			return nil, errLost
		}
		now := s.now()
		if err := c.nextAttempt(runCtx, now, now.Add(time.Duration(j.Timeout)+grace)); err != nil {
			log.Warn("couldn't start the next attempt", "err", err)
			if errors.Is(err, errLost) {
				return nil, err
			}
		}
	}
}

// attempt runs the job once into a staging folder and publishes its files with the run's success.
func (s *Scheduler) attempt(ctx context.Context, j *Job, c *claim, log *slog.Logger) (Outcome, error) {
	at := c.run.ScheduledAt
	folder := Folder(j, at)
	dir := filepath.Join(s.cfg.OutputDir, folder)
	// Temporary files of this run's earlier attempts, left by a replica killed mid-run.
	if n, err := export.RemoveStaged(dir, fmt.Sprintf("r%d-", c.run.ID)); err != nil {
		log.Warn("couldn't remove temporary files of an earlier attempt", "err", err)
	} else if n > 0 {
		log.Info("removed temporary files of an earlier attempt", "files", n)
	}
	st, err := export.NewStaging(dir, fmt.Sprintf("r%d-a%d", c.run.ID, c.run.Attempt))
	if err != nil {
		return Outcome{}, err
	}
	actx, cancel := context.WithTimeout(ctx, time.Duration(j.Timeout))
	o, err := j.task(actx, Firing{Job: j.Name, At: at, Location: j.loc, RunID: c.run.ID, Attempt: c.run.Attempt, Trigger: c.run.Trigger}, st)
	timedOut := errors.Is(actx.Err(), context.DeadlineExceeded)
	cancel()
	if err == nil {
		err = s.commit(ctx, j, c, st, o, folder, log)
	} else if timedOut && ctx.Err() == nil {
		err = fmt.Errorf("timed out after %s: %w", time.Duration(j.Timeout), err)
	}
	if err != nil {
		if derr := st.Discard(); derr != nil {
			log.Warn("couldn't remove temporary files", "err", derr)
		}
		return o, err
	}
	return o, nil
}

// commit publishes the staged files, the updated manifest and prunes old folders, under the
// run's success transaction.
func (s *Scheduler) commit(ctx context.Context, j *Job, c *claim, st *export.Staging, o Outcome, folder string, log *slog.Logger) error {
	files, err := st.Files()
	if err != nil {
		return err
	}
	rows := map[string]int64{}
	for _, f := range o.Files {
		rows[f.Name] = f.Rows
	}
	for i := range files {
		files[i].Rows = rows[files[i].Name]
	}
	o.Files = files
	finished := s.now()
	return c.succeed(ctx, finished, o, folder, func() error {
		entry := ManifestEntry{RunID: c.run.ID, ScheduledAt: c.run.ScheduledAt, Trigger: c.run.Trigger, Attempt: c.run.Attempt,
			FinishedAt: finished, Rows: o.Rows, Summary: o.Summary, Files: files}
		if err := stageManifest(st, j, c.run.ScheduledAt, entry); err != nil {
			return err
		}
		paths, err := st.Publish()
		if err != nil {
			return err
		}
		s.metrics.files.WithLabelValues(j.Name).Add(float64(len(paths)))
		n, err := prune(s.cfg.OutputDir, j, c.run.ScheduledAt)
		if err != nil {
			log.Warn("couldn't prune old folders", "err", err)
		}
		if n > 0 {
			s.metrics.pruned.WithLabelValues(j.Name).Add(float64(n))
			log.Info("pruned old folders", "folders", n, "retention", j.keep)
		}
		return nil
	})
}

// failed counts a failed run.
func (s *Scheduler) failed(j *Job, err error, start time.Time) {
	s.metrics.runs.WithLabelValues(j.Name, StatusFailed).Inc()
	s.metrics.failures.WithLabelValues(j.Name, reason(err)).Inc()
	s.metrics.success.WithLabelValues(j.Name).Set(0)
	s.metrics.duration.WithLabelValues(j.Name).Observe(s.now().Sub(start).Seconds())
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
