// Package schedule is bdc-reporter's scheduler: it reads reporter.yml (jobs of kind export,
// report, train and insights, each with a cron schedule, a time zone, a timeout and retries with
// backoff and jitter), fires them with gocron, and runs every firing exactly once across the
// replicas that share the database.
//
// Exactly once: a firing is identified by (job, scheduled time). A replica runs it only after
// taking a PostgreSQL session advisory lock derived from that pair and inserting the run record
// (bdc_analytics.job_runs); it keeps the lock, on a connection of its own, until the run ends.
// Another replica firing at the same time fails to take the lock and skips; one firing later finds
// the record finished and skips. A replica killed mid-run loses its session and with it the lock:
// the watchdog of any replica then finds a record still running whose lock is free, takes it and
// runs the next attempt, so the firing is neither lost nor doubled. Runs still running past their
// deadline (timeout plus a grace) are failed by the watchdog.
//
// Files are staged under temporary names in <output_dir>/<job>/<date>/ and published by rename
// only when the attempt succeeded and the run record, checked in the same transaction, still
// belongs to this attempt; the date folder's manifest.json lists every run's files, and folders
// older than the job's retention are pruned.
//
// The package does not know how to make a report or train a model: each kind is a Runner that a
// build registers (Kinds). A job of a kind the build has no Runner for fails validation.
package schedule
