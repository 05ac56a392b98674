#!/usr/bin/env bash
#
# One PostgreSQL role per mesh service, each owning its own database and nobody else's. Run by
# the postgres image on first start (/docker-entrypoint-initdb.d), in the cluster
# (deploy/base/postgres.yaml) and in docker-compose.yml alike; idempotent, so it can be run
# again by hand to add a service or change a password:
#   kubectl -n mesh exec postgres-0 -- /docker-entrypoint-initdb.d/init-roles.sh
#
# Input: every PG_URL_<SERVICE> variable, each the very PG_URL that service is given,
#   postgres://<role>:<password>@<host>:<port>
# The role's name is also its database's name (the service's <PREFIX>_DB_NAME), so one URL
# says everything and the service and the database cannot disagree about the password.
# Passwords must be URL-safe as they are (letters, digits, - . _ ~): they are not decoded.
set -euo pipefail

found=0
while IFS= read -r var; do
    url=${!var}
    creds=${url#*://}
    creds=${creds%%@*}
    role=${creds%%:*}
    password=${creds#*:}
    if [[ ! $role =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || [[ -z $password || $password == "$creds" ]]; then
        echo "init-roles: $var must look like postgres://<role>:<password>@host:port" >&2
        exit 1
    fi
    if [[ ! $password =~ ^[A-Za-z0-9._~-]+$ ]]; then
        echo "init-roles: $var: use a URL-safe password (letters, digits, - . _ ~)" >&2
        exit 1
    fi
    # psql variables quote the values (:'x' as a literal, :"x" as an identifier), so neither
    # the role nor the password is pasted into SQL text.
    psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "${POSTGRES_USER:-postgres}" \
        --dbname postgres --set role="$role" --set password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
SELECT format('CREATE DATABASE %I OWNER %I', :'role', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'role') \gexec
-- Only the owner (and superusers) may connect: one service cannot open another's database.
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
    echo "init-roles: role and database $role ready"
    found=$((found + 1))
done < <(compgen -e | grep '^PG_URL_' || true)

if ((found == 0)); then
    echo "init-roles: no PG_URL_<SERVICE> variable set; no role created" >&2
    exit 1
fi
