-- Least-privilege PostgreSQL roles of BDC Analytics.
--
--   bdc_exporter  reads bdc and bdc_analytics (KPIs, the model registry, forecasts)
--   bdc_reporter  reads bdc; reads and writes the rows of bdc_analytics (rollups, model
--                 registry, drift, forecasts, job runs, insights); creates nothing
--   bdc_grafana   reads bdc and bdc_analytics (the datasource plugin)
--
-- None may create, alter or drop anything: the schemas belong to the role that runs
-- `bdc-exporter migrate` (the owner), and the components connecting with these roles only check
-- that the schema is at the version they need.
--
-- Run it as that owner, before or after the migrations (both work: grants cover what exists,
-- default privileges what the owner creates later), and again whenever you like:
--
--   psql -v ON_ERROR_STOP=1 -v exporter_password=... -v reporter_password=... \
--        -v grafana_password=... -d <database> -f deploy/postgres/roles.sql
--
-- A platform whose bdc schema is made of views over its own tables runs it as the owner of
-- those views, or grants SELECT on them to the three roles itself.

\set ON_ERROR_STOP on

select format('create role %I', r) from unnest(array['bdc_exporter', 'bdc_reporter', 'bdc_grafana']) as r
where not exists (select 1 from pg_roles where rolname = r)
\gexec

alter role bdc_exporter with login nosuperuser nocreatedb nocreaterole password :'exporter_password';
alter role bdc_reporter with login nosuperuser nocreatedb nocreaterole password :'reporter_password';
alter role bdc_grafana with login nosuperuser nocreatedb nocreaterole password :'grafana_password';

select format('grant connect on database %I to bdc_exporter, bdc_reporter, bdc_grafana', current_database())
\gexec

-- bdc_analytics may be created ahead of the migrations (they create it if missing), so that the
-- reporter's write privileges can be set on it now; bdc may not (the first migration leaves an
-- existing bdc, a platform's views, alone), so its privileges come from the default privileges
-- below when the migrations create it, and from the grants when it exists.
create schema if not exists bdc_analytics;

-- What exists now.
select format('grant usage on schema %I to bdc_exporter, bdc_reporter, bdc_grafana', s),
       format('grant select on all tables in schema %I to bdc_exporter, bdc_reporter, bdc_grafana', s)
from unnest(array['bdc', 'bdc_analytics']) as s
where exists (select 1 from pg_namespace where nspname = s)
\gexec
grant insert, update, delete on all tables in schema bdc_analytics to bdc_reporter;
grant usage, select on all sequences in schema bdc_analytics to bdc_reporter;
-- The rollup refresh waits for activity writers through this function (see migration 007).
select 'grant execute on function bdc_analytics.lock_activity_writers() to bdc_reporter'
where to_regprocedure('bdc_analytics.lock_activity_writers()') is not null
\gexec

-- What the owner creates later: the schema bdc, the tables of later migrations.
alter default privileges grant usage on schemas to bdc_exporter, bdc_reporter, bdc_grafana;
alter default privileges grant select on tables to bdc_exporter, bdc_reporter, bdc_grafana;
alter default privileges in schema bdc_analytics grant insert, update, delete on tables to bdc_reporter;
alter default privileges in schema bdc_analytics grant usage, select on sequences to bdc_reporter;
alter default privileges in schema bdc_analytics grant execute on functions to bdc_reporter;

-- Nobody else creates objects in the suite's schema (PostgreSQL 15 already keeps public so).
revoke create on schema bdc_analytics from public;
