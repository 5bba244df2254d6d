#!/usr/bin/env bash
# Replicas sharing one mirror on PostgreSQL (a throwaway cluster), with the standalone simulator as SENS: the SENS
# list calls per sync interval with 1, 2 and 3 replicas, how long a register through one replica takes to be
# answered as opted out by another's check (median, 90th percentile and worst of 100), and the initial sync of
# 200,000 records on each store. Release builds, default
# configuration (request log lines on) but a 2 s sync interval, so that the count is quick to take.
#   Benchmarks/replicas.sh        results in Benchmarks/README.md, "Replicas"
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/lib.sh
build_release sens-gateway sens-simulator
start_throwaway_postgres

simulator_port=19410
interval=2
intervals=10
start_simulator "$simulator_port"
wait_for "http://127.0.0.1:$simulator_port/_simulator/stats"
curl -sf -X POST "http://127.0.0.1:$simulator_port/_simulator/unsubscribes" -d '{"count":20000,"prefix":"0105"}' >/dev/null

database_url() { echo "${throwaway_postgres_url%/postgres?*}/$1?sslmode=disable"; }
create_database() { python3 - "$throwaway_postgres_url" "$1" <<'PY'
import subprocess, sys, urllib.parse
url = urllib.parse.urlparse(sys.argv[1])
subprocess.run(["psql", "-q", "-h", url.hostname, "-p", str(url.port), "-U", url.username, "-d", "postgres",
                "-c", f"CREATE DATABASE {sys.argv[2]}"], check=True)
PY
}

# replicas N: N gateways on a new database, all started at once, until each mirror is ready; their ports in $ports
# and their pids in $group.
replicas() {
    local count=$1 database="replicas_$1"
    create_database "$database"
    ports=()
    group=()
    for index in $(seq "$count"); do
        local port=$((19420 + 10 * count + index))
        start_gateway "$port" "$simulator_port" LOG_LEVEL=info \
            MIRROR_DATABASE_URL="$(database_url "$database")" MIRROR_SYNC_INTERVAL_SECONDS="$interval" >>"$work/gateways.log" 2>&1
        ports+=("$port")
        group+=("$gateway")
    done
    for port in "${ports[@]}"; do
        for _ in $(seq 600); do
            curl -sf "http://127.0.0.1:$port/v1/mirror" | grep -q '"state":"ready"' && break
            sleep 0.1
        done
    done
}

work=$(mktemp -d)
scratch+=("$work")

# The initial sync of a larger list by one replica, on each store: what the shared store costs the syncing replica.
large_port=19411
start_simulator "$large_port"
wait_for "http://127.0.0.1:$large_port/_simulator/stats"
curl -sf -X POST "http://127.0.0.1:$large_port/_simulator/unsubscribes" -d '{"count":200000,"prefix":"0105"}' >/dev/null
initial_sync() {  # initial_sync PORT [settings...]: seconds from start to a ready mirror
    local port=$1; shift
    local started=$(date +%s.%N)
    start_gateway "$port" "$large_port" LOG_LEVEL=info "$@" >>"$work/gateways.log" 2>&1
    for _ in $(seq 3000); do
        curl -sf "http://127.0.0.1:$port/v1/mirror" | grep -q '"state":"ready"' && break
        sleep 0.1
    done
    python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$started" "$(date +%s.%N)"
    kill "$gateway" && wait "$gateway" 2>/dev/null || true
}
create_database initial
sqlite_seconds=$(initial_sync 19412)
postgres_seconds=$(initial_sync 19413 MIRROR_DATABASE_URL="$(database_url initial)")
printf '| initial sync of 200,000 records, one replica, start to ready | embedded SQLite | PostgreSQL |\n| --- | ---: | ---: |\n'
printf '| seconds | %s | %s |\n\n' "$sqlite_seconds" "$postgres_seconds"
printf '| replicas | SENS list calls per %s s sync interval |\n| ---: | ---: |\n' "$interval"
for count in 1 2 3; do
    replicas "$count"
    printf '| %s | %s |\n' "$count" "$(python3 Benchmarks/replicas.py calls "$simulator_port" "$interval" "$intervals")"
    if [ "$count" = 3 ]; then
        read -r median p90 worst <<<"$(python3 Benchmarks/replicas.py delay "${ports[0]}" "${ports[1]}" 100)"
    fi
    # Only this group's replicas call SENS during the next count.
    kill "${group[@]}" && wait "${group[@]}" 2>/dev/null || true
done
printf '\n| register through one replica, answered by another | median | 90th percentile | worst (of 100) |\n'
printf '| --- | ---: | ---: | ---: |\n| ms after the write was answered | %s | %s | %s |\n' "$median" "$p90" "$worst"
