#!/bin/sh
# Creates the read-only role the Grafana datasource connects as, on the first start of the
# docker-compose database. The schemas do not exist yet (the seed service migrates after this):
# default privileges give the role read access to what the bdc role creates later.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
create role grafana login password '${BDC_GRAFANA_DB_PASSWORD}';
alter default privileges for role ${POSTGRES_USER} grant usage on schemas to grafana;
alter default privileges for role ${POSTGRES_USER} grant select on tables to grafana;
SQL
