#!/bin/sh
# Creates the least-privilege roles of deploy/postgres/roles.sql on the first start of the
# docker-compose database, before the seed service migrates it as the owner (POSTGRES_USER):
# the default privileges roles.sql sets give the roles what the migrations create later.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
	-v exporter_password="$BDC_EXPORTER_DB_PASSWORD" \
	-v reporter_password="$BDC_REPORTER_DB_PASSWORD" \
	-v grafana_password="$BDC_GRAFANA_DB_PASSWORD" \
	-f /etc/bdc/roles.sql
