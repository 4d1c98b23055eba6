package schedule

import (
	"context"
	"time"
)

// check is the watchdog's round: ping the database, fail the runs past their deadline, pick up
// the runs whose replica stopped, and refresh the jobs' last success and next run.
func (s *Scheduler) check(ctx context.Context) {
	now := s.now()
	for _, j := range s.cfg.Jobs {
		if j.IsEnabled() {
			s.metrics.next.WithLabelValues(j.Name).Set(float64(j.Next(now).Unix()))
		}
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := s.meta.Ping(pctx)
	cancel()
	if err != nil {
		if s.ready.Swap(false) || ctx.Err() == nil {
			s.logger.Warn("database unreachable", "err", err)
		}
		s.metrics.databaseUp.Set(0)
		return
	}
	s.metrics.databaseUp.Set(1)
	s.ready.Store(true)
	expired, err := expireRuns(ctx, s.meta, now)
	if err != nil {
		s.logger.Warn("watchdog failed", "err", err)
		return
	}
	for _, r := range expired {
		s.logger.Error("watchdog failed a run past its deadline", "job", r.Job, "run", r.ID, "owner", r.Owner, "err", r.Error)
		if s.cfg.Job(r.Job) != nil {
			s.metrics.expired.WithLabelValues(r.Job).Inc()
			s.metrics.runs.WithLabelValues(r.Job, StatusFailed).Inc()
			s.metrics.failures.WithLabelValues(r.Job, ReasonTimeout).Inc()
		}
	}
	running, err := runningRuns(ctx, s.meta, now)
	if err != nil {
		s.logger.Warn("watchdog failed", "err", err)
		return
	}
	for _, r := range running {
		// Claiming decides: the firing's lock is free only if its replica stopped.
		if s.cfg.Job(r.Job) != nil {
			s.pickup(r.Job, r.ScheduledAt, r.Trigger)
		}
	}
	last, err := lastSuccesses(ctx, s.meta)
	if err != nil {
		s.logger.Warn("watchdog failed", "err", err)
		return
	}
	for job, t := range last {
		if s.cfg.Job(job) != nil {
			s.metrics.lastSuccess.WithLabelValues(job).Set(float64(t.UnixMilli()) / 1000)
		}
	}
}
