-- Job runs of bdc-reporter (DESIGN.md §5, issue 7): one row per job and scheduled time, so that
-- replicas run each firing exactly once. A replica claims a firing by taking a session advisory
-- lock derived from (job, scheduled_at) and inserting the row; the lock is held for the whole
-- run, so a row that is 'running' while nobody holds its lock belongs to a replica that died, and
-- another replica picks it up (attempt + 1). The watchdog fails runs still 'running' after
-- deadline_at. Written only by bdc-reporter (pkg/schedule); the API and dashboards read it.
create table bdc_analytics.job_runs (
    id            bigint generated always as identity primary key,
    job           text        not null,
    kind          text        not null,
    scheduled_at  timestamptz not null,                  -- the firing: cron time, or the request time of a manual run
    triggered_by  text        not null check (triggered_by in ('schedule', 'manual')),
    status        text        not null check (status in ('running', 'succeeded', 'failed')),
    attempt       integer     not null check (attempt >= 1),   -- the attempt running or last run
    max_attempts  integer     not null check (max_attempts >= 1),
    owner         text        not null,                  -- replica (host:pid) that runs or ran the current attempt
    created_at    timestamptz not null,
    started_at    timestamptz not null,                  -- start of the current attempt
    deadline_at   timestamptz not null,                  -- the watchdog fails a run still running after this
    finished_at   timestamptz,
    error         text,                                  -- the last attempt's error
    rows          bigint,
    files         jsonb       not null default '[]',     -- [{"name", "rows", "bytes", "sha256"}], relative to the run's folder
    folder        text,                                  -- <job>/<date>, relative to the output folder
    unique (job, scheduled_at),
    check ((status = 'running') = (finished_at is null))
);
create index job_runs_running_idx on bdc_analytics.job_runs (deadline_at) where status = 'running';
create index job_runs_latest_idx on bdc_analytics.job_runs (job, scheduled_at desc);
comment on table bdc_analytics.job_runs is
    'bdc-reporter runs: one row per job and scheduled time (exactly once across replicas). Written by bdc-reporter only.';

---- create above / drop below ----
drop table bdc_analytics.job_runs;
