#!/usr/bin/env bash
# What each layer between the framework and the gateway's /healthz costs: the bare Hummingbird route with the
# gateway's framework-level layers added one at a time (`bare-hummingbird PORT [layer...]`), then the gateway
# itself (its middleware on top), with and without request lines.
#
#   Benchmarks/layers.sh [seconds-per-run] [rounds]      (defaults: 5 s, 3 rounds)
#
# Pinned as run.sh pins (wrk on core 0, the servers on core 1), wrk -t1 -c64, rounds alternating; prints each
# step's median requests/s and its cost over the step before, in µs of the server core per request.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-5}
rounds=${2:-3}
pin_cores=${PIN_CORES:-1}
source Benchmarks/lib.sh
build_release sens-gateway bare-hummingbird
nginx_setup
start_nginx upstream 19480
wait_for "http://127.0.0.1:19480/sms/v2/services/x/unsubscribes" || { echo "nginx did not start" >&2; exit 1; }

# Each step adds to the one before it.
steps=("bare" "server" "server context" "server context head" "server context head body-flow")
labels=("bare route" "+ server name and idle timeout" "+ the gateway's request context" "+ HEAD responder" "+ body-flow handler")
port=18480
urls=()
for step in "${steps[@]}"; do
    require_free_port "$port"
    # shellcheck disable=SC2086
    "${on_servers[@]}" "$bin/bare-hummingbird" "$port" ${step#bare} >/dev/null 2>&1 &
    pids+=($!)
    wait_for "http://127.0.0.1:$port/healthz" || { echo "bare-hummingbird $step did not start" >&2; exit 1; }
    urls+=("http://127.0.0.1:$port/healthz")
    port=$((port + 1))
done
start_gateway "$port" 19480 LOG_LEVEL=error MIRROR_ENABLED=false; urls+=("http://127.0.0.1:$port/healthz"); port=$((port + 1))
labels+=("+ the gateway's middleware (request scope, hot reads), request lines off")
start_gateway "$port" 19480 LOG_LEVEL=info MIRROR_ENABLED=false >/dev/null; urls+=("http://127.0.0.1:$port/healthz")
labels+=("+ request lines (the default configuration)")

results=$(mktemp)
scratch+=("$results")
for round in $(seq "$rounds"); do
    echo "round $round of $rounds" >&2
    for index in "${!urls[@]}"; do
        rps=$("${on_load[@]}" wrk -t1 -c64 "-d${duration}s" "${urls[$index]}" | awk '/Requests\/sec/ {print $2}')
        echo "$index $rps" >> "$results"
    done
done
python3 - "$results" "${labels[@]}" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
labels = sys.argv[2:]
medians = [statistics.median(float(r[1]) for r in rows if int(r[0]) == i) for i in range(len(labels))]
print("| step (each adds to the one above) | requests/s | × bare | cost of the step, µs a request |")
print("| --- | ---: | ---: | ---: |")
for i, (label, rps) in enumerate(zip(labels, medians)):
    step = "" if i == 0 else f"{1e6 / rps - 1e6 / medians[i - 1]:+.1f}"
    print(f"| {label} | {rps:,.0f} | {rps / medians[0]:.2f} | {step} |")
PY
