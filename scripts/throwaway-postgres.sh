# Sourced by scripts/test and the benchmarks: a throwaway PostgreSQL cluster in a temporary directory on a free
# loopback port (run as the postgres user when root), from the server programs of Debian's `postgresql` package.
#   start_throwaway_postgres   sets throwaway_postgres_url (a superuser URL to its `postgres` database)
#   stop_throwaway_postgres    stops it and removes its directory; does nothing when none was started

throwaway_postgres_dir=""

start_throwaway_postgres() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -z "$bin" ]] && command -v initdb >/dev/null 2>&1; then bin=$(dirname "$(command -v initdb)"); fi
    if [[ -z "$bin" || ! -x "$bin/initdb" || ! -x "$bin/pg_ctl" ]]; then
        echo "PostgreSQL's initdb and pg_ctl are needed: apt-get install postgresql" >&2
        return 1
    fi
    throwaway_postgres_bin=$bin
    # In /tmp, which the postgres user can enter when this runs as root (a TMPDIR under /root it could not).
    throwaway_postgres_dir=$(mktemp -d /tmp/sens-gateway-postgres.XXXXXX) || return 1
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || return 1
    throwaway_postgres_owner=()
    if [[ $(id -u) == 0 ]]; then
        chown postgres "$throwaway_postgres_dir" || return 1
        throwaway_postgres_owner=(runuser -u postgres --)
    fi
    # Each step returns on failure: a caller's `start_throwaway_postgres || …` turns `set -e` off in here.
    "${throwaway_postgres_owner[@]}" "$bin/initdb" -D "$throwaway_postgres_dir/data" -A trust -U postgres --no-sync >/dev/null || return 1
    "${throwaway_postgres_owner[@]}" "$bin/pg_ctl" -D "$throwaway_postgres_dir/data" -l "$throwaway_postgres_dir/server.log" -w \
        -o "-p $port -k '$throwaway_postgres_dir' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null \
        || { cat "$throwaway_postgres_dir/server.log" >&2; return 1; }
    throwaway_postgres_url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
}

stop_throwaway_postgres() {
    [[ -n "$throwaway_postgres_dir" ]] || return 0
    "${throwaway_postgres_owner[@]}" "$throwaway_postgres_bin/pg_ctl" -D "$throwaway_postgres_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$throwaway_postgres_dir"
    throwaway_postgres_dir=""
}
