#!/usr/bin/env bash
# The mirror at scale, in the gateway's default configuration (log lines on, the embedded SQLite store), against
# the standalone simulator as SENS:
#
#   Benchmarks/mirror.sh [records] [wrk-seconds]      (defaults: 1000000 records, 10 s)
#
#   - initial sync of `records` simulator records: time, SENS calls;
#   - resident memory per mirrored number: the gateway after its initial sync and after a restart that loads the
#     mirror from its store, less a gateway whose mirror is empty;
#   - the filter: 100,000 and `records` recipients, as CSV and JSON, answered as JSON and as CSV, end to end
#     (curl) and gateway-side (the access log's duration_ms), medians of 3;
#   - a mirrored check against /healthz (wrk -t1 -c32), rounds alternating, medians of 3.
# PIN_CORES=0 lets wrk and the servers share every core. Everything listens on 127.0.0.1 and stops with the script.
set -euo pipefail
cd "$(dirname "$0")/.."

records=${1:-1000000}
duration=${2:-10}
simulator_port=19380
gateway_port=18380
empty_port=18381
main_service=ncp:sms:kr:123456789012:sens
empty_service=ncp:sms:kr:123456789012:empty

pin_cores=${PIN_CORES:-1}
source Benchmarks/lib.sh
install_missing bc bc
build_release sens-gateway sens-simulator
work=$(mktemp -d)
scratch+=("$work")

start_simulator "$simulator_port" --sens-service-id "$main_service" --sens-service-id "$empty_service"
wait_for "http://127.0.0.1:$simulator_port/_simulator/stats" || { echo "the simulator did not start" >&2; exit 1; }
seed_start=$(date +%s.%N)
curl -sf -X POST "http://127.0.0.1:$simulator_port/_simulator/unsubscribes" -H 'Content-Type: application/json' \
    -d "{\"count\":$records,\"prefix\":\"0105\"}" >/dev/null
seed_seconds=$(echo "$(date +%s.%N) - $seed_start" | bc)

# wait_ready PORT: seconds until the gateway's mirror is ready (polled every 0.1 s, at most 30 minutes).
wait_ready() {
    local start now
    start=$(date +%s.%N)
    for _ in $(seq 18000); do
        if curl -sf "http://127.0.0.1:$1/v1/mirror" | grep -q '"state":"ready"'; then
            now=$(date +%s.%N)
            echo "$now - $start" | bc
            return
        fi
        sleep 0.1
    done
    echo "the mirror on port $1 did not become ready" >&2
    exit 1
}

status_field() { curl -sf "http://127.0.0.1:$1/v1/mirror" | python3 -c "import json,sys; s=json.load(sys.stdin)['services'][0]; print(eval(sys.argv[1]))" "$2"; }

# A gateway whose mirror holds nothing: the baseline for memory per number.
start_gateway "$empty_port" "$simulator_port" LOG_LEVEL=info SENS_SERVICE_ID="$empty_service" MIRROR_PATH="$work/empty.sqlite" \
    >"$work/empty.log" 2>&1
empty=$gateway
wait_ready "$empty_port" >/dev/null
sleep 2
empty_kb=$(rss_kb "$empty")

curl -sf -X DELETE "http://127.0.0.1:$simulator_port/_simulator/stats" >/dev/null
start_gateway "$gateway_port" "$simulator_port" LOG_LEVEL=info MIRROR_PATH="$work/mirror.sqlite" >"$work/gateway.log" 2>&1
main=$gateway
sync_seconds=$(wait_ready "$gateway_port")
sync_calls=$(status_field "$gateway_port" "s['initialSync']['sensCalls']")
mirrored=$(status_field "$gateway_port" "s['records']")
sleep 2
synced_kb=$(rss_kb "$main"); synced_peak_kb=$(peak_kb "$main")
store_bytes=$(du -cb "$work"/mirror.sqlite* | tail -1 | cut -f1)

# Restarted on the same store: the mirror is loaded, not synced again.
kill "$main"; wait "$main" 2>/dev/null || true
start_gateway "$gateway_port" "$simulator_port" LOG_LEVEL=info MIRROR_PATH="$work/mirror.sqlite" >"$work/gateway.log" 2>&1
main=$gateway
load_seconds=$(wait_ready "$gateway_port")
sleep 2
loaded_kb=$(rss_kb "$main"); loaded_peak_kb=$(peak_kb "$main")

# Recipients: half on the list (0105…), half not (0106…), 1 in 100 invalid, written as people write them.
python3 - "$work" "$records" <<'PY'
import json, sys
work, records = sys.argv[1], int(sys.argv[2])
for count in sorted({100_000, records}):
    numbers = []
    for i in range(count):
        if i % 100 == 99:
            numbers.append("n/a")
        else:
            prefix = "5" if i % 2 == 0 else "6"
            n = f"{(i * 7919) % records:07d}"
            numbers.append(f"010-{prefix}{n[:3]}-{n[3:]}")
    with open(f"{work}/recipients-{count}.csv", "w") as f:
        f.write("name,phone\n")
        f.writelines(f"customer {i},{n}\n" for i, n in enumerate(numbers))
    with open(f"{work}/recipients-{count}.json", "w") as f:
        json.dump({"phoneNumbers": numbers}, f)
PY

# filter_run FILE CONTENT_TYPE ACCEPT: "end-to-end-seconds gateway-side-seconds"; a CSV's numbers are in its
# "phone" column, as in a CRM export.
filter_run() {
    local total side query=""
    [ "$2" = text/csv ] && query="?column=phone"
    total=$(curl -sf -o "$work/answer" -w '%{time_total}' -X POST "http://127.0.0.1:$gateway_port/v1/unsubscribes/filter$query" \
        -H "Content-Type: $2" -H "Accept: $3" --data-binary "@$1")
    sleep 0.2
    side=$(grep 'route=/v1/unsubscribes/filter' "$work/gateway.log" | tail -1 | sed -E 's/.*duration_ms=([0-9.]+).*/\1/')
    echo "$total $(echo "$side / 1000" | bc -l)"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

filter_rows=()
for count in $(printf '%s\n' 100000 "$records" | sort -un); do
    for body in csv json; do
        content_type=$([ "$body" = csv ] && echo text/csv || echo application/json)
        for answer in json csv; do
            accept=$([ "$answer" = csv ] && echo text/csv || echo application/json)
            : >"$work/runs"
            for _ in 1 2 3; do filter_run "$work/recipients-$count.$body" "$content_type" "$accept" >>"$work/runs"; done
            # The answer must be what the recipients make: 1 in 100 invalid, half of the rest opted out.
            checked_headers=$(curl -s -o /dev/null -D - -X POST "http://127.0.0.1:$gateway_port/v1/unsubscribes/filter$([ "$body" = csv ] && echo '?column=phone')" \
                -H "Content-Type: $content_type" --data-binary "@$work/recipients-$count.$body" | tr -d '\r')
            grep -qi "^x-filter-invalid: $((count / 100))$" <<<"$checked_headers" \
                || { echo "unexpected filter answer for $count $body: $checked_headers" >&2; exit 1; }
            total=$(cut -d' ' -f1 "$work/runs" | median)
            side=$(cut -d' ' -f2 "$work/runs" | median)
            filter_rows+=("| $count | $body | $answer | $(printf '%.3f' "$total") | $(printf '%.3f' "$side") | $(printf '%.0f' "$(echo "$count / $side" | bc -l)") |")
        done
    done
done

# A mirrored check against /healthz on the same gateway.
check_url="http://127.0.0.1:$gateway_port/v1/unsubscribes/01050000001"
[ "$(curl -s -o /dev/null -D - "$check_url" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache"{print $2}')" = MIRROR ] \
    || { echo "the check is not answered from the mirror; aborting" >&2; exit 1; }
: >"$work/healthz"; : >"$work/check"
for _ in 1 2 3; do
    "${on_load[@]}" wrk -t1 -c32 -d"${duration}s" "http://127.0.0.1:$gateway_port/healthz" | awk '/Requests\/sec/{print $2}' >>"$work/healthz"
    "${on_load[@]}" wrk -t1 -c32 -d"${duration}s" "$check_url" | awk '/Requests\/sec/{print $2}' >>"$work/check"
done
healthz_rps=$(median <"$work/healthz"); check_rps=$(median <"$work/check")

per_number() { echo "($1 - $empty_kb) * 1024 / $mirrored" | bc; }
cat <<TABLE

### Initial sync and memory ($mirrored records)

| measure | value |
| --- | ---: |
| simulator seeded $records records | $(printf '%.1f' "$seed_seconds") s |
| initial sync, start to ready | $(printf '%.1f' "$sync_seconds") s ($(printf '%.0f' "$(echo "$mirrored / $sync_seconds" | bc -l)") records/s) |
| SENS calls of the initial sync | $sync_calls ($(printf '%.1f' "$(echo "$mirrored / $sync_calls" | bc -l)") records a call) |
| restart on the same store, start to ready | $(printf '%.1f' "$load_seconds") s |
| store on disk (SQLite file and WAL) | $((store_bytes / 1048576)) MiB |
| RSS, empty mirror | $((empty_kb / 1024)) MiB |
| RSS after the initial sync (peak) | $((synced_kb / 1024)) MiB ($((synced_peak_kb / 1024)) MiB) |
| RSS after a restart (peak) | $((loaded_kb / 1024)) MiB ($((loaded_peak_kb / 1024)) MiB) |
| RSS per mirrored number, after the initial sync | $(per_number "$synced_kb") bytes |
| RSS per mirrored number, after a restart | $(per_number "$loaded_kb") bytes |

### Filter (medians of 3)

| recipients | body | answer | end to end (s) | gateway-side (s) | recipients/s (gateway-side) |
| ---: | --- | --- | ---: | ---: | ---: |
$(printf '%s\n' "${filter_rows[@]}")

### Mirrored check against /healthz (wrk -t1 -c32, ${duration} s, medians of 3)

| route | req/s | ratio |
| --- | ---: | ---: |
| /healthz | $healthz_rps | 1.00 |
| mirrored check | $check_rps | $(printf '%.2f' "$(echo "$check_rps / $healthz_rps" | bc -l)") |
TABLE
