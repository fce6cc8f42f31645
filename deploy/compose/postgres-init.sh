#!/bin/sh
# PostgreSQL's first start (docker-entrypoint-initdb.d; an empty data directory only): one database per
# service that owns one (kit.settings.DATABASE_SERVICES), never shared, plus Temporal's two, owned by
# its own role. Used by docker-compose.yml and, as a ConfigMap, by kind-deployment/infra.yaml.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<EOSQL
CREATE DATABASE auth;
CREATE DATABASE products;
CREATE DATABASE orders;
CREATE DATABASE stats;
CREATE DATABASE reviews;
CREATE ROLE temporal LOGIN PASSWORD '${TEMPORAL_DB_PASSWORD}';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
EOSQL
