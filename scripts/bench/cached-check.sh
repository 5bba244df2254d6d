#!/usr/bin/env bash
# Benchmark: cached opt-out checks against the gateway's cheapest route, in the same run, with wrk.
#
#   scripts/bench/cached-check.sh [seconds-per-round] [connections] [rounds]
#
# Builds release binaries, starts the SENS simulator and the gateway on loopback, warms one check into the cache,
# then alternates wrk runs (2 threads, same duration and connections) against /healthz and the cached check for
# several rounds, so that a noisy moment on the machine cannot decide the comparison alone. Prints each round,
# the median of each route and of the per-round ratios, and how many calls reached the simulator during the runs
# (a cached run should add none). Everything listens on 127.0.0.1 only and stops when the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

duration=${1:-10}
connections=${2:-64}
rounds=${3:-3}
simulator_port=19090
gateway_port=18080
phone=01012345678

source scripts/bench/lib.sh
start_simulator "$simulator_port"
start_gateway "$gateway_port" "$simulator_port"

base="http://127.0.0.1:$gateway_port"
curl -sf -X POST "$base/v1/unsubscribes" -H 'Content-Type: application/json' -d "{\"phoneNumbers\":[\"$phone\"]}" >/dev/null
[ "$(curl -s -o /dev/null -D - "$base/v1/unsubscribes/$phone" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache"{print $2}')" = HIT ] \
    || { echo "the check is not cached; aborting"; exit 1; }

# run NAME URL KEY -> one table row: requests/s, p50, p90, p99, max, non-2xx; requests/s appended to /tmp/bench-KEY
run() {
    local out rps p50 p90 p99 max errors
    out=$(wrk -t2 -c"$connections" -d"${duration}s" --latency "$2")
    rps=$(awk '/^Requests\/sec/{print $2}' <<<"$out")
    p50=$(awk '$1=="50%"{print $2}' <<<"$out"); p90=$(awk '$1=="90%"{print $2}' <<<"$out"); p99=$(awk '$1=="99%"{print $2}' <<<"$out")
    max=$(awk '$1=="Latency"{print $4}' <<<"$out")
    errors=$(awk '/Non-2xx/{print $NF}' <<<"$out"); errors=${errors:-0}
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$rps" "$p50" "$p90" "$p99" "$max" "$errors"
    echo "$rps" >> "/tmp/bench-$3"
}

rm -f /tmp/bench-healthz /tmp/bench-check
calls_before=$(curl -s "http://127.0.0.1:$simulator_port/_simulator/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["listCalls"])')
echo "machine: $(nproc) cores; wrk -t2 -c$connections -d${duration}s per run, $rounds rounds alternating; $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| round: route | requests/s | p50 | p90 | p99 | max | non-2xx |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for round in $(seq "$rounds"); do
    run "$round: GET /healthz (cheapest route)" "$base/healthz" healthz
    run "$round: GET /v1/unsubscribes/{phoneNumber} (cached)" "$base/v1/unsubscribes/$phone" check
done
calls_after=$(curl -s "http://127.0.0.1:$simulator_port/_simulator/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["listCalls"])')
echo
python3 - /tmp/bench-check /tmp/bench-healthz <<'PY'
import statistics, sys
check = [float(line) for line in open(sys.argv[1])]
health = [float(line) for line in open(sys.argv[2])]
ratios = [c / h for c, h in zip(check, health)]
print("per-round ratios: " + ", ".join(f"{r:.0%}" for r in ratios))
print(f"median: /healthz {statistics.median(health):,.0f} req/s, cached check {statistics.median(check):,.0f} req/s, "
      f"ratio {statistics.median(ratios):.0%} (target 80% or more)")
PY
echo "SENS list calls during the runs: $((calls_after - calls_before))"
