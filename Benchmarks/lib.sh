# Shared by the benchmark scripts: release binaries, and servers on loopback ports that stop when the calling
# script exits. Source it from the repository root.

install_missing() {  # install_missing COMMAND PACKAGE
    command -v "$1" >/dev/null && return
    echo "installing $2"
    apt-get update -qq && apt-get install -y -qq "$2" >/dev/null
}
install_missing wrk wrk
install_missing curl curl
install_missing python3 python3
bin=$(swift build -c release --show-bin-path 2>/dev/null)
# GATEWAY_BIN runs another build of the gateway (an earlier commit's, to compare) with the same scripts.
gateway_bin=${GATEWAY_BIN:-$bin/sens-gateway}

# build_release PRODUCT...: release builds of what the calling script runs, into $bin.
build_release() {
    for product in "$@"; do
        swift build -c release --product "$product" >/dev/null 2>&1 || { echo "release build of $product failed" >&2; exit 1; }
    done
}

# With pin_cores=1 (set before sourcing) and 2 or more cores, the load generator runs on core 0 and every server
# on the other cores, so that a server's share of the CPU does not depend on how many threads it runs against
# wrk's. Otherwise nothing is pinned.
if [ "${pin_cores:-0}" = 1 ] && [ "$(nproc)" -ge 2 ]; then
    load_cpus=0
    server_cpus=$([ "$(nproc)" -eq 2 ] && echo 1 || echo "1-$(($(nproc) - 1))")
    load_threads=1
else
    load_cpus="0-$(($(nproc) - 1))"
    server_cpus=$load_cpus
    load_threads=2
fi
# Command prefixes. A server is started as `"${on_servers[@]}" command &` (taskset execs the command, so $! is
# the server's own pid, which the memory readings and the cleanup need).
on_servers=(taskset -c "$server_cpus")
on_load=(taskset -c "$load_cpus")

pids=()
scratch=()
source scripts/throwaway-postgres.sh
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    stop_throwaway_postgres
    rm -rf "${scratch[@]}"
}
trap cleanup EXIT

# start_simulator PORT [sens-simulator flags...]
start_simulator() {
    local port=$1; shift
    require_free_port "$port"
    "${on_servers[@]}" "$bin/sens-simulator" --http-port "$port" --log-level error "$@" &
    pids+=($!)
}

# start_gateway PORT SENS_PORT [NAME=value settings...]: the gateway with the simulator's default keys, talking
# to SENS at 127.0.0.1:SENS_PORT; sets $gateway to its pid.
# The mirror's file goes to a scratch directory, unless a MIRROR_DATABASE_URL is among the settings. nginx as SENS answers one fixed page whatever the time window,
# which no mirror can sync from: scripts that use it pass MIRROR_ENABLED=false.
start_gateway() {
    local port=$1 sens_port=$2; shift 2
    require_free_port "$port"
    local mirror_dir
    mirror_dir=$(mktemp -d)
    scratch+=("$mirror_dir")
    # A gateway given a shared store's URL gets no file (both at once stop start-up).
    local store=(MIRROR_PATH="$mirror_dir/mirror.sqlite") setting
    for setting in "$@"; do [[ $setting == MIRROR_DATABASE_URL=* ]] && store=(); done
    "${on_servers[@]}" env SENS_ACCESS_KEY=ACCESS_KEY_ID SENS_SECRET_KEY=SECRET_KEY SENS_SERVICE_ID=ncp:sms:kr:123456789012:sens \
        SENS_BASE_URL="http://127.0.0.1:$sens_port" LOG_LEVEL=error "${store[@]}" "$@" "$gateway_bin" --http-port "$port" &
    gateway=$!
    pids+=($gateway)
    wait_for "http://127.0.0.1:$port/healthz" || { echo "the gateway did not start" >&2; return 1; }
}

# nginx_setup: a scratch directory for nginx, with the fixed SENS answers in it; sets $work.
nginx_setup() {
    install_missing nginx nginx
    work=$(mktemp -d)
    scratch+=("$work")
    mkdir -p "$work/client-body" "$work/proxy-temp"
    python3 Benchmarks/make-sens-answers.py "$work"
}

# start_nginx NAME PORT [UPSTREAM_PORT]: nginx from Benchmarks/nginx/NAME.conf with its paths and ports filled in,
# in the foreground, on the server cores.
start_nginx() {
    require_free_port "$2"
    sed "s#__DIR__#$work#g; s#__PORT__#$2#g; s#__UPSTREAM_PORT__#${3:-}#g" "Benchmarks/nginx/$1.conf" > "$work/$1.conf"
    "${on_servers[@]}" nginx -p "$work" -c "$work/$1.conf" -g "daemon off; user $(id -un);" &
    pids+=($!)
}

# require_free_port PORT: stops the script if something already listens there (a server left over from an
# earlier run would otherwise answer in place of the one about to fail to start).
require_free_port() {
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
        echo "port $1 is in use; stop what listens there first" >&2
        exit 1
    fi
}

# wait_for URL: up to 5 s for URL to answer 2xx.
wait_for() {
    for _ in $(seq 50); do curl -sf -o /dev/null "$1" && return; sleep 0.1; done
    return 1
}

# Resident memory of a process in kB, now (rss) and at its peak since start or the last reset_peak.
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
peak_kb() { awk '/^VmHWM/{print $2}' "/proc/$1/status"; }
reset_peak() { echo 5 > "/proc/$1/clear_refs"; }

# seeded_simulator PORT RECORDS [simulator options]: the standalone simulator as SENS, holding RECORDS opt-outs
# (0105…).
seeded_simulator() {
    local port=$1 records=$2; shift 2
    start_simulator "$port" "$@"
    wait_for "http://127.0.0.1:$port/_simulator/stats" || { echo "the simulator did not start" >&2; exit 1; }
    curl -sf -X POST "http://127.0.0.1:$port/_simulator/unsubscribes" -H 'Content-Type: application/json' \
        -d "{\"count\":$records,\"prefix\":\"0105\"}" >/dev/null
}

# wait_mirror_ready PORT: until the gateway's mirror is ready (polled every 0.1 s, at most 30 minutes).
wait_mirror_ready() {
    for _ in $(seq 18000); do
        curl -sf "http://127.0.0.1:$1/v1/mirror" | grep -q '"state":"ready"' && return
        sleep 0.1
    done
    echo "the mirror on port $1 did not become ready" >&2
    exit 1
}
