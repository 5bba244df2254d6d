#!/usr/bin/env bash
# Where the gateway's time goes on one route: perf samples (software cpu-clock, which works on virtual machines
# without hardware counters) of the release gateway under wrk, printed as the frames that hold the most time.
#
#   Benchmarks/profile.sh [list|check|healthz|mirror-list|mirror-check|register] [seconds]      (defaults: list, 10 s)
#
# list: an uncached 100-record list page, the slowest path; check: a cached check. Setup as in run.sh: the
# nginx SENS stand-in, the gateway (cache off for list), wrk on core 0 and the servers on the others. The mirror
# routes run the gateway with its mirror on, synced from the standalone simulator holding 200,000 records;
# register posts run.sh's 10,000 numbers one call after another (curl) for the duration instead of wrk.
set -euo pipefail
cd "$(dirname "$0")/.."

route=${1:-list}
duration=${2:-10}
upstream_port=19380
gateway_port=18380

pin_cores=1
source Benchmarks/lib.sh
install_missing perf linux-perf
build_release sens-gateway sens-simulator
nginx_setup
start_nginx upstream "$upstream_port"
wait_for "http://127.0.0.1:$upstream_port/sms/v2/services/x/unsubscribes" || { echo "nginx did not start" >&2; exit 1; }

case $route in
    list) start_gateway "$gateway_port" "$upstream_port" CACHE_TTL_SECONDS=0 MIRROR_ENABLED=false; path="/v1/unsubscribes?pageSize=100" ;;
    check) start_gateway "$gateway_port" "$upstream_port" MIRROR_ENABLED=false; path="/v1/unsubscribes/01020000005" ;;
    healthz) start_gateway "$gateway_port" "$upstream_port" MIRROR_ENABLED=false; path="/healthz" ;;
    mirror-list|mirror-check)
        simulator_port=19381
        start_simulator "$simulator_port"
        wait_for "http://127.0.0.1:$simulator_port/_simulator/stats" || { echo "the simulator did not start" >&2; exit 1; }
        curl -sf -X POST "http://127.0.0.1:$simulator_port/_simulator/unsubscribes" -H 'Content-Type: application/json' \
            -d '{"count":200000,"prefix":"0105"}' >/dev/null
        start_gateway "$gateway_port" "$simulator_port"
        for _ in $(seq 600); do curl -sf "http://127.0.0.1:$gateway_port/v1/mirror" | grep -q '"state":"ready"' && break; sleep 0.1; done
        path=$([ "$route" = mirror-list ] && echo "/v1/unsubscribes?pageSize=100" || echo "/v1/unsubscribes/01050000007") ;;
    register) start_gateway "$gateway_port" "$upstream_port" MIRROR_ENABLED=false; path="/healthz" ;;
    *) echo "route: list, check, healthz, mirror-list, mirror-check or register" >&2; exit 2 ;;
esac
url="http://127.0.0.1:$gateway_port$path"
curl -sf -o /dev/null "$url"

perf record -e cpu-clock -F 2000 -g -p "$gateway" -o "$work/perf.data" -- sleep "$((duration + 1))" >/dev/null 2>&1 &
recorder=$!
sleep 0.5
if [ "$route" = register ]; then
    python3 -c 'import json; f=["010-{0:04d}-{1:04d}","+82 10-{0:04d}-{1:04d}","010{0:04d}{1:04d}","(010) {0:04d} {1:04d}"]; print(json.dumps({"phoneNumbers":[f[i%4].format(4000+i//10000,i%10000) for i in range(10000)]}))' > "$work/register.json"
    calls=0; end=$((SECONDS + duration))
    while [ $SECONDS -lt $end ]; do
        "${on_load[@]}" curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary "@$work/register.json" "http://127.0.0.1:$gateway_port/v1/unsubscribes"
        calls=$((calls + 1))
    done
    echo "registers of 10,000: $calls in $duration s"
else
    "${on_load[@]}" wrk "-t$load_threads" -c64 "-d${duration}s" "$url" | grep 'Requests/sec'
fi
wait "$recorder"
echo
echo "share of the gateway's samples, including callees (PROFILE_FRAMES, default 60, frames):"
perf report -i "$work/perf.data" --children --sort symbol --stdio -g none 2>/dev/null \
    | grep -E '^ +[0-9]' | swift demangle --simplified | cut -c1-150 \
    | grep -v -E 'partial apply|protocol witness|thunk|start_thread|_dispatch_|swift_job_run|runJobInEstablished' | head -"${PROFILE_FRAMES:-60}"
