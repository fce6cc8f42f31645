#!/bin/sh
# Temporal's schema in PostgreSQL (temporalio/admin-tools), before the server starts. Idempotent:
# `setup-schema -v 0.0` leaves a newer schema alone and `update-schema` applies only missing versions.
# Connection from SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD. The databases themselves are
# created by postgres-init.sh. Used by docker-compose.yml and kind-deployment/infra.yaml.
set -eu
until nc -z -w 5 "$SQL_HOST" "${SQL_PORT:-5432}"; do
    echo "waiting for PostgreSQL at $SQL_HOST:${SQL_PORT:-5432}"
    sleep 2
done
for db in temporal temporal_visibility; do
    case "$db" in
        temporal) versions=/etc/temporal/schema/postgresql/v12/temporal/versioned ;;
        *) versions=/etc/temporal/schema/postgresql/v12/visibility/versioned ;;
    esac
    temporal-sql-tool --db "$db" setup-schema -v 0.0
    temporal-sql-tool --db "$db" update-schema -d "$versions"
done
echo "temporal schema: up to date"
