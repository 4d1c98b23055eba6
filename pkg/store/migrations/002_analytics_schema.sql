-- The suite's own objects (rollups, model registry, report runs, insights) live in bdc_analytics.
-- Only the reporter writes there; the exporter and the plugin only read. Later migrations add
-- the objects; this one gives them a home and records which component owns the schema.
create schema if not exists bdc_analytics;
comment on schema bdc_analytics is 'BDC Analytics: rollups, model registry, report runs and insights. Written by bdc-reporter only.';

---- create above / drop below ----
drop schema bdc_analytics cascade;
