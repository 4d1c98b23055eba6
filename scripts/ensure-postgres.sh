#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers at 127.0.0.1:5432, for `make test`
# and .ci/run. Quiet when it is already up; starts the machine's Debian
# cluster when it is down; otherwise says how to get PostgreSQL 15 and fails.
set -euo pipefail

HOST=127.0.0.1
PORT=5432

ready() { pg_isready -q -h "$HOST" -p "$PORT" >/dev/null 2>&1; }

if ! command -v pg_isready >/dev/null 2>&1; then
	echo "ensure-postgres: pg_isready not found: PostgreSQL is not installed." >&2
	echo "  Install PostgreSQL 15: apt-get install postgresql (Debian/Ubuntu), brew install postgresql@15 (macOS)." >&2
	exit 1
fi

ready && exit 0

# A Debian/Ubuntu install keeps its clusters under /etc/postgresql/VERSION/NAME.
shopt -s nullglob
clusters=(/etc/postgresql/*/main)
if ((${#clusters[@]} > 0)) && command -v pg_ctlcluster >/dev/null 2>&1; then
	for dir in "${clusters[@]}"; do
		version="$(basename "$(dirname "$dir")")"
		echo "ensure-postgres: starting the PostgreSQL $version cluster main" >&2
		# Fails harmlessly when that cluster is already running (on another port).
		pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
	done
	for _ in $(seq 1 30); do
		ready && exit 0
		sleep 1
	done
fi

echo "ensure-postgres: no PostgreSQL server answers at $HOST:$PORT." >&2
echo "  Install PostgreSQL 15 (apt-get install postgresql on Debian/Ubuntu, brew install postgresql@15 on macOS)," >&2
echo "  start it listening on $HOST:$PORT with trust authentication for the user postgres, and run again." >&2
exit 1
