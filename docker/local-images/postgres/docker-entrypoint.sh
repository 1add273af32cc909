#!/usr/bin/env bash
# The subset of the official postgres image's entrypoint that docker-compose.yml uses: on an
# empty PGDATA, initdb as POSTGRES_USER with POSTGRES_PASSWORD (scram-sha-256 over TCP), create
# POSTGRES_DB, run /docker-entrypoint-initdb.d/*.sql and *.sh once; then run the server.
set -euo pipefail

if [ "${1:0:1}" = "-" ]; then
    set -- postgres "$@"
fi

if [ "$1" = "postgres" ] && [ "$(id -u)" = "0" ]; then
    mkdir -p "$PGDATA"
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

if [ "$1" = "postgres" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    user=${POSTGRES_USER:-postgres}
    database=${POSTGRES_DB:-$user}
    initdb --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 ${POSTGRES_INITDB_ARGS:-} >/dev/null
    printf '\nhost all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$user")
    if [ "$database" != "postgres" ]; then
        "${psql[@]}" --dbname postgres --set db="$database" <<<'create database :"db";' >/dev/null
    fi
    for script in /docker-entrypoint-initdb.d/*; do
        case "$script" in
            *.sql) echo "initdb.d: running $script"; "${psql[@]}" --dbname "$database" -f "$script" >/dev/null ;;
            *.sh) echo "initdb.d: running $script"; . "$script" ;;
            *) if [ -e "$script" ]; then echo "initdb.d: ignoring $script"; fi ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "PostgreSQL init done: database $database, owner $user, encoding from LANG=$LANG"
fi

if [ "$1" = "postgres" ]; then
    shift
    exec postgres -c listen_addresses='*' "$@"
fi
exec "$@"
