#!/usr/bin/env bash
# The gateway's overhead on top of SENS, measured against nginx on this machine, printed as one table.
#
#   Benchmarks/run.sh [seconds-per-run] [connections] [rounds]      (defaults: 10 s, 64 connections, 3 rounds)
#
# PIN_CORES=0 lets wrk and the servers share every core; GATEWAY_BIN=path runs another build of the gateway
# (an earlier commit's, to compare) in the same setup.
#
# Builds release binaries, then starts on 127.0.0.1 only:
#   - nginx as SENS (nginx/upstream.conf): a fixed 100-record list page and a fixed 1,000-record register answer;
#   - nginx as a reverse proxy to it (nginx/proxy.conf): proxy_pass over keep-alive connections;
#   - the gateway twice, both talking to the nginx SENS: with its default cache, and with the cache off
#     (CACHE_TTL_SECONDS=0), so that every list call goes upstream.
# With 2 or more cores, wrk runs on core 0 and the servers on the others (taskset), so each server gets the
# same CPU whatever its thread count. Each round runs wrk (same connections and duration) against: /healthz, a cached check, a list
# page through the gateway, and the same page through nginx; the rounds alternate so that a noisy moment on the
# machine cannot decide a comparison alone, and the table reports medians. Then: unloaded latency (1 connection)
# of both list paths, a register of 10,000 numbers (10 SENS calls) timed 20 times with nginx's own time taken
# out, resident memory, and the micro-benchmarks. A third gateway with the mirror on syncs 200,000 records from the
# standalone simulator: its mirrored check and list page join the rounds (the page beside nginx serving its bytes
# as a file), and it filters 1,000,000 CSV recipients. Everything stops when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-10}
connections=${2:-64}
rounds=${3:-3}
upstream_port=19280
proxy_port=19281
cached_port=18280
uncached_port=18281
bare_port=18282
quiet_port=18283
mirror_port=18284
simulator_port=19282
mirror_records=200000

pin_cores=${PIN_CORES:-1}
source Benchmarks/lib.sh
build_release sens-gateway sens-microbench bare-hummingbird sens-simulator
nginx_setup
results="$work/results"
mkdir -p "$results"

start_nginx upstream "$upstream_port"
start_nginx proxy "$proxy_port" "$upstream_port"
service_path="/sms/v2/services/ncp:sms:kr:123456789012:sens/unsubscribes"
wait_for "http://127.0.0.1:$upstream_port$service_path" || { echo "nginx did not start" >&2; exit 1; }

# The gateways in their default configuration: a request line each, to a file as a container's output would be.
start_gateway "$cached_port" "$upstream_port" LOG_LEVEL=info MIRROR_ENABLED=false >"$work/cached.log"; cached=$gateway
start_gateway "$uncached_port" "$upstream_port" LOG_LEVEL=info CACHE_TTL_SECONDS=0 MIRROR_ENABLED=false >"$work/uncached.log"; uncached=$gateway
# The same with the request lines off (LOG_LEVEL=error), and the bare framework route: what the log line costs.
start_gateway "$quiet_port" "$upstream_port" LOG_LEVEL=error MIRROR_ENABLED=false; quiet=$gateway
require_free_port "$bare_port"
"${on_servers[@]}" "$bin/bare-hummingbird" "$bare_port" >/dev/null 2>&1 &
pids+=($!); bare=$!
wait_for "http://127.0.0.1:$bare_port/healthz" || { echo "the bare route did not start" >&2; exit 1; }
idle_cached_kb=$(rss_kb "$cached"); idle_uncached_kb=$(rss_kb "$uncached")

# The mirror: the standalone simulator as SENS with $mirror_records opt-outs, and a gateway in its default
# configuration (the mirror on, its SQLite file in a scratch directory) that syncs them.
seeded_simulator "$simulator_port" "$mirror_records"
start_gateway "$mirror_port" "$simulator_port" LOG_LEVEL=info >"$work/mirror.log"; mirrored=$gateway
wait_mirror_ready "$mirror_port"

# A number on nginx's list page, so that its check is a cached "opted out" after the first call.
phone=01020000005
healthz_url="http://127.0.0.1:$cached_port/healthz"
quiet_healthz_url="http://127.0.0.1:$quiet_port/healthz"
bare_url="http://127.0.0.1:$bare_port/healthz"
check_url="http://127.0.0.1:$cached_port/v1/unsubscribes/$phone"
gateway_list_url="http://127.0.0.1:$uncached_port/v1/unsubscribes?pageSize=100"
nginx_list_url="http://127.0.0.1:$proxy_port$service_path?pageSize=100&pageIndex=0"
curl -sf -o /dev/null "$check_url"
[ "$(curl -s -o /dev/null -D - "$check_url" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache"{print $2}')" = HIT ] \
    || { echo "the check is not cached; aborting" >&2; exit 1; }
mirror_check_url="http://127.0.0.1:$mirror_port/v1/unsubscribes/01050000007"
mirror_list_url="http://127.0.0.1:$mirror_port/v1/unsubscribes?pageSize=100"
# nginx serving the mirror's list page as a file: the same bytes, nothing computed.
curl -sf -o "$work/answers/mirror-page.json" "$mirror_list_url"
nginx_file_url="http://127.0.0.1:$upstream_port/answers/mirror-page.json"
[ "$(curl -s -o /dev/null -D - "$mirror_check_url" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache"{print $2}')" = MIRROR ] \
    || { echo "the mirrored check is not answered from the mirror; aborting" >&2; exit 1; }
cmp -s "$work/answers/mirror-page.json" <(curl -sf "$nginx_file_url") || { echo "nginx does not serve the page's bytes; aborting" >&2; exit 1; }
for url in "$gateway_list_url" "$nginx_list_url"; do
    curl -sf -o /dev/null "$url" || { echo "$url does not answer 200; aborting" >&2; exit 1; }
done

# measure KEY PID URL [wrk options]: one wrk run; its output and the gateway's peak memory go to $results.
measure() {
    local key=$1 pid=$2 url=$3; shift 3
    [ "$pid" = - ] || reset_peak "$pid"
    "${on_load[@]}" wrk "$@" --latency "$url" > "$results/$key.wrk"
    [ "$pid" = - ] || peak_kb "$pid" > "$results/$key.peak"
}

load=("-t$load_threads" "-c$connections" "-d${duration}s")
for round in $(seq "$rounds"); do
    echo "round $round of $rounds" >&2
    measure "bare.$round" "$bare" "$bare_url" "${load[@]}"
    measure "healthz.$round" "$cached" "$healthz_url" "${load[@]}"
    measure "healthz-quiet.$round" "$quiet" "$quiet_healthz_url" "${load[@]}"
    measure "check.$round" "$cached" "$check_url" "${load[@]}"
    measure "gateway-list.$round" "$uncached" "$gateway_list_url" "${load[@]}"
    measure "nginx-list.$round" - "$nginx_list_url" "${load[@]}"
    measure "mirror-check.$round" "$mirrored" "$mirror_check_url" "${load[@]}"
    measure "mirror-list.$round" "$mirrored" "$mirror_list_url" "${load[@]}"
    measure "nginx-file.$round" - "$nginx_file_url" "${load[@]}"
done
echo "unloaded latency" >&2
measure "gateway-list.unloaded" "$uncached" "$gateway_list_url" -t1 -c1 "-d${duration}s"
measure "nginx-list.unloaded" - "$nginx_list_url" -t1 -c1 "-d${duration}s"

echo "register of 10,000 numbers" >&2
python3 - "$work/register.json" <<'PY'
import json, sys
# 10,000 distinct mobile numbers in the formats callers send.
formats = ["010-{0:04d}-{1:04d}", "+82 10-{0:04d}-{1:04d}", "010{0:04d}{1:04d}", "(010) {0:04d} {1:04d}"]
numbers = [formats[i % 4].format(4000 + i // 10000, i % 10000) for i in range(10000)]
json.dump({"phoneNumbers": numbers}, open(sys.argv[1], "w"))
PY
reset_peak "$cached"
: > "$results/register.times"
for attempt in $(seq 21); do
    before=$(wc -l < "$work/upstream-register.log")
    timing=$("${on_load[@]}" curl -s -o "$work/register-answer.json" -w '%{http_code} %{time_total}' -H 'Content-Type: application/json' \
        --data-binary "@$work/register.json" "http://127.0.0.1:$cached_port/v1/unsubscribes")
    [ "${timing%% *}" = 200 ] || { echo "register answered ${timing%% *}; aborting" >&2; exit 1; }
    upstream=$(tail -n "+$((before + 1))" "$work/upstream-register.log" | awk '{calls++; total += $3} END {print calls, total}')
    # The first call warms connections and caches; it is not counted.
    [ "$attempt" = 1 ] || echo "${timing#* } $upstream" >> "$results/register.times"
done
peak_kb "$cached" > "$results/register.peak"

echo "filter of 1,000,000 recipients" >&2
# A CRM export: half the numbers on the mirrored list (0105…), half not (0106…), 1 in 100 not a number.
python3 - "$work/recipients.csv" "$mirror_records" <<'PY'
import sys
path, records = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("name,phone\n")
    for i in range(1_000_000):
        if i % 100 == 99:
            f.write(f"customer {i},n/a\n")
            continue
        n = f"{(i * 7919) % records:07d}"
        f.write(f"customer {i},010-{'5' if i % 2 == 0 else '6'}{n[:3]}-{n[3:]}\n")
PY
: > "$results/filter.times"
for answer in text/csv application/json; do
    for attempt in 1 2 3 4; do
        timing=$("${on_load[@]}" curl -s -o "$work/filter-answer" -w '%{http_code} %{time_total}' -H 'Content-Type: text/csv' -H "Accept: $answer" \
            --data-binary "@$work/recipients.csv" "http://127.0.0.1:$mirror_port/v1/unsubscribes/filter?column=phone")
        [ "${timing%% *}" = 200 ] || { echo "the filter answered ${timing%% *}; aborting" >&2; exit 1; }
        # The first warms the caches; it is not counted.
        [ "$attempt" = 1 ] || echo "$answer ${timing#* }" >> "$results/filter.times"
    done
done
# The last answer (JSON) must have found what the file holds: 500,000 on the list, 10,000 not numbers.
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert (r['checked'], len(r['optedOut']), len(r['invalid'])) == (1_000_000, 500_000, 10_000), (r['checked'], len(r['optedOut']), len(r['invalid']))" \
    "$work/filter-answer" || { echo "the filter's answer does not hold what was sent; aborting" >&2; exit 1; }

sleep 5
settled_cached_kb=$(rss_kb "$cached"); settled_uncached_kb=$(rss_kb "$uncached")
echo "micro-benchmarks" >&2
"${on_servers[@]}" "$bin/sens-microbench" > "$results/micro.md"

python3 Benchmarks/summarize.py "$results" \
    --cores "$(nproc)" --load-cpus "$load_cpus" --server-cpus "$server_cpus" --load-threads "$load_threads" --duration "$duration" --connections "$connections" --rounds "$rounds" \
    --idle "$idle_cached_kb" "$idle_uncached_kb" --settled "$settled_cached_kb" "$settled_uncached_kb"
