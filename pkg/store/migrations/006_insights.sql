-- Automated insights of bdc-reporter (DESIGN.md §5, issue 7; pkg/insights): trend changes of the
-- KPIs, anomalies against forecast intervals, risk summaries of the promoted models. One row per
-- rule and instant the rules ran at (a job's scheduled time): a retried or taken-over firing
-- replaces its own rows instead of adding to them. Evidence holds figures and ids only, never
-- names or e-mail addresses. Written by bdc-reporter only; its API and reports read it.
create table bdc_analytics.insights (
    id           bigint generated always as identity primary key,
    detected_at  timestamptz not null,                   -- the instant the rules ran at
    rule         text        not null,                   -- e.g. trend.noshow_ratio.week, anomaly.appointments, risk.noshow
    category     text        not null check (category in ('trend', 'anomaly', 'risk')),
    priority     text        not null check (priority in ('high', 'medium', 'low')),
    title        text        not null,
    detail       text        not null,
    evidence     jsonb       not null,                   -- the figures the insight rests on
    period_from  timestamptz not null,                   -- the time the insight is about
    period_to    timestamptz not null,
    unique (detected_at, rule),
    check (period_from <= period_to)
);
create index insights_detected_at_idx on bdc_analytics.insights (detected_at desc);
comment on table bdc_analytics.insights is
    'Automated insights (trend, anomaly, risk) with their evidence: one row per rule and instant. Written by bdc-reporter only.';

---- create above / drop below ----
drop table bdc_analytics.insights;
