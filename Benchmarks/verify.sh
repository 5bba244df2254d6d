#!/usr/bin/env bash
# The mirror's verification and concurrent passes, in the gateway's default configuration (log lines on, the
# embedded SQLite store, default mirror settings unless a row says otherwise), against the standalone simulator
# as SENS with 50 ms added to every SENS answer:
#
#   Benchmarks/verify.sh [records] [concurrencies]     (defaults: 1000000 records; "8", the default)
#
#   - the initial sync of `records` records, for each MIRROR_SYNC_CONCURRENCY in `concurrencies` (e.g. "4 8 16"):
#     seconds until the mirror is ready (the first verification pass included) and SENS calls;
#   - SENS calls a minute for the quiet list (nothing changes: incremental syncs and verification passes only);
#   - seconds from a record registered 3 days ago appearing in SENS to the mirror answering it opted out
#     (X-Cache: MIRROR), three times; and the same for a record in another digit form (82…);
#   - resident memory of the gateway after it all.
# Everything listens on 127.0.0.1 and stops with the script. Results: Benchmarks/README.md, "Mirror verification".
set -euo pipefail
cd "$(dirname "$0")/.."

records=${1:-1000000}
concurrencies=${2:-8}
latency=${LATENCY_MS:-50}
simulator_port=19390
gateway_port=18390

pin_cores=${PIN_CORES:-0}
source Benchmarks/lib.sh
install_missing bc bc
build_release sens-gateway sens-simulator
work=$(mktemp -d)
scratch+=("$work")

seeded_simulator "$simulator_port" "$records"
curl -sf -X PUT "http://127.0.0.1:$simulator_port/_simulator/faults" -H 'Content-Type: application/json' \
    -d "{\"latencyMilliseconds\":$latency}" >/dev/null

now() { date +%s.%N; }
list_calls() { curl -sf "http://127.0.0.1:$simulator_port/_simulator/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["listCalls"])'; }
reset_calls() { curl -sf -X DELETE "http://127.0.0.1:$simulator_port/_simulator/stats" >/dev/null; }
status_field() { curl -sf "http://127.0.0.1:$gateway_port/v1/mirror" | python3 -c "import json,sys; s=json.load(sys.stdin)['services'][0]; print(eval(sys.argv[1]))" "$1"; }

# wait_ready: seconds until the mirror is ready (polled every 0.1 s, at most 30 minutes).
wait_ready() {
    local start
    start=$(now)
    for _ in $(seq 18000); do
        if curl -sf "http://127.0.0.1:$gateway_port/v1/mirror" | grep -q '"state":"ready"'; then
            echo "$(now) - $start" | bc
            return
        fi
        sleep 0.1
    done
    echo "the mirror did not become ready" >&2
    exit 1
}

# opted_out_after DIGITS NATIONAL: seeds DIGITS registered 3 days ago, then polls the check of NATIONAL every
# 0.1 s; prints the seconds until the mirror answers it opted out.
opted_out_after() {
    local registered start
    registered=$(TZ=Asia/Seoul date -d '3 days ago' +%Y-%m-%dT%H:%M:%S.000)
    start=$(now)
    curl -sf -X POST "http://127.0.0.1:$simulator_port/_simulator/unsubscribes" -H 'Content-Type: application/json' \
        -d "[{\"clientTelNo\":\"$1\",\"registerType\":\"C\",\"registerTime\":\"$registered\"}]" >/dev/null
    for _ in $(seq 3000); do
        if curl -sfi "http://127.0.0.1:$gateway_port/v1/unsubscribes/$2" | tr -d '\r' \
            | awk 'tolower($0) ~ /^x-cache: mirror/ {m=1} /"optedOut":true/ {o=1} END {exit !(m && o)}'; then
            echo "$(now) - $start" | bc
            return
        fi
        sleep 0.1
    done
    echo "the mirror did not learn of $2 in 300 s" >&2
    exit 1
}

echo "records=$records latency_ms=$latency"
for concurrency in $concurrencies; do
    rm -f "$work"/mirror.sqlite*
    reset_calls
    start_gateway "$gateway_port" "$simulator_port" LOG_LEVEL=info MIRROR_PATH="$work/mirror.sqlite" \
        MIRROR_SYNC_CONCURRENCY="$concurrency" >"$work/gateway-$concurrency.log" 2>&1
    main=$gateway
    seconds=$(wait_ready)
    echo "initial_sync concurrency=$concurrency seconds=$seconds sens_calls=$(list_calls) initial_sync_calls=$(status_field "s['initialSync']['sensCalls']") records=$(status_field "s['records']")"
    [[ $concurrency == "${concurrencies##* }" ]] && break
    kill "$main"; wait "$main" 2>/dev/null || true
done

# The quiet list: a minute of nothing but incremental syncs and verification passes.
sleep 5
reset_calls
sleep 60
echo "quiet_minute sens_calls=$(list_calls) verification=$(status_field "s['verification']")"

for round in 1 2 3; do
    echo "backdated round=$round seconds=$(opted_out_after "0109900000$round" "0109900000$round")"
done
echo "other_form seconds=$(opted_out_after "821099000100" "01099000100")"
echo "rss_kb=$(rss_kb "$main") peak_kb=$(peak_kb "$main")"
