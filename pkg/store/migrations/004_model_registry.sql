-- The model registry, forecasts and drift of pkg/predict (DESIGN.md §2, issue 5). Written only by
-- the reporter's train job (predict.Store.Register, SaveForecast, SaveDrift); the exporter and the
-- Grafana plugin read them. No foreign keys to schema bdc: a platform maps bdc onto its own
-- tables with views.

-- One row per trained model version. A version is promoted (used for scoring) only when it is at
-- least as good as the promoted one on the new version's test rows; at most one version of a
-- model is promoted at a time.
create table bdc_analytics.model_versions (
    id             bigint generated always as identity primary key,
    model          text        not null,                 -- noshow, churn, engagement, evaluation_score
    version        integer     not null check (version > 0),
    algorithm      text        not null,                 -- e.g. hist_gradient_boosting+isotonic
    task           text        not null check (task in ('classification', 'regression')),
    params         jsonb       not null,                 -- learner parameters, calibration choice
    train_from     timestamptz not null,                 -- training window: labels known in
    train_end      timestamptz not null,                 --   [train_from, train_end) train,
    valid_end      timestamptz not null,                 --   [train_end, valid_end) validate,
    test_end       timestamptz not null,                 --   [valid_end, test_end) test
    row_counts     jsonb       not null,                 -- {"train": n, "valid": n, "test": n}
    feature_schema jsonb       not null,                 -- features, kinds, categorical levels
    metrics        jsonb       not null,                 -- test set: roc_auc, pr_auc, brier, ece, log_loss | mae, rmse, r2
    validation     jsonb       not null,                 -- the same on the validation set
    baseline       jsonb       not null,                 -- training distributions of score and features (drift)
    comparison     jsonb,                                -- the promoted version's figures on this version's test rows
    model_data     bytea       not null,                 -- pkg/ml JSON encoding of the model
    trained_at     timestamptz not null,
    promoted       boolean     not null default false,
    promoted_at    timestamptz,
    unique (model, version)
);
create unique index model_versions_promoted_idx on bdc_analytics.model_versions (model) where promoted;
comment on table bdc_analytics.model_versions is
    'Model registry of pkg/predict: one row per trained version; promoted marks the version used for scoring. Written by bdc-reporter only.';

-- Forecast runs: one per series and generation, with the backtest that qualified the method.
create table bdc_analytics.forecast_runs (
    id           bigint generated always as identity primary key,
    series       text        not null,                   -- appointments, registrations, trainer_utilization
    generated_at timestamptz not null,
    model        text        not null,                   -- e.g. ETS(A,Ad,A) m=7
    history_from date        not null,                   -- first and last day of the fitted series
    history_to   date        not null,
    backtest     jsonb,                                  -- MASE, sMAPE, coverage per level, seasonal-naive MASE
    unique (series, generated_at)
);
create index forecast_runs_latest_idx on bdc_analytics.forecast_runs (series, generated_at desc);

-- Forecast points: one per day ahead and interval level.
create table bdc_analytics.forecasts (
    run_id       bigint           not null references bdc_analytics.forecast_runs (id) on delete cascade,
    horizon_days integer          not null check (horizon_days > 0),
    day          date             not null,               -- calendar day in the platform time zone
    level        double precision not null check (level > 0 and level < 1),
    mean         double precision not null,
    lower        double precision not null,
    upper        double precision not null,
    primary key (run_id, horizon_days, level)
);
comment on table bdc_analytics.forecasts is
    'Daily forecasts of pkg/predict: mean and prediction interval per level, per day ahead of a run. Written by bdc-reporter only.';

-- Drift: population stability index of a model version's score and of each feature, recent
-- window against its training window.
create table bdc_analytics.model_drift (
    model       text             not null,
    version     integer          not null,
    measured_at timestamptz      not null,
    kind        text             not null check (kind in ('score', 'feature')),
    feature     text             not null,               -- '' for the score
    psi         double precision not null,
    recent_from timestamptz      not null,
    recent_to   timestamptz      not null,
    recent_rows integer          not null,
    primary key (model, measured_at, kind, feature)
);
comment on table bdc_analytics.model_drift is
    'Population stability index of model scores and features, recent rows against training rows. Written by bdc-reporter only.';

---- create above / drop below ----
drop table bdc_analytics.model_drift;
drop table bdc_analytics.forecasts;
drop table bdc_analytics.forecast_runs;
drop table bdc_analytics.model_versions;
