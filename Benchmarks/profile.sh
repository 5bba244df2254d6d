#!/usr/bin/env bash
# Where the gateway's time goes on one route: perf samples (software cpu-clock, which works on virtual machines
# without hardware counters) of the release gateway under wrk, printed as the frames that hold the most time.
#
#   Benchmarks/profile.sh [list|check|healthz] [seconds]      (defaults: list, 10 s)
#
# list: an uncached 100-record list page, the slowest path; check: a cached check. Setup as in run.sh: the
# nginx SENS stand-in, the gateway (cache off for list), wrk on core 0 and the servers on the others.
set -euo pipefail
cd "$(dirname "$0")/.."

route=${1:-list}
duration=${2:-10}
upstream_port=19380
gateway_port=18380

pin_cores=1
source Benchmarks/lib.sh
install_missing perf linux-perf
build_release sens-gateway
nginx_setup
start_nginx upstream "$upstream_port"
wait_for "http://127.0.0.1:$upstream_port/sms/v2/services/x/unsubscribes" || { echo "nginx did not start" >&2; exit 1; }

case $route in
    list) start_gateway "$gateway_port" "$upstream_port" CACHE_TTL_SECONDS=0 MIRROR_ENABLED=false; path="/v1/unsubscribes?pageSize=100" ;;
    check) start_gateway "$gateway_port" "$upstream_port" MIRROR_ENABLED=false; path="/v1/unsubscribes/01020000005" ;;
    healthz) start_gateway "$gateway_port" "$upstream_port" MIRROR_ENABLED=false; path="/healthz" ;;
    *) echo "route: list, check or healthz" >&2; exit 2 ;;
esac
url="http://127.0.0.1:$gateway_port$path"
curl -sf -o /dev/null "$url"

perf record -e cpu-clock -F 2000 -g -p "$gateway" -o "$work/perf.data" -- sleep "$((duration + 1))" >/dev/null 2>&1 &
recorder=$!
sleep 0.5
"${on_load[@]}" wrk "-t$load_threads" -c64 "-d${duration}s" "$url" | grep 'Requests/sec'
wait "$recorder"
echo
echo "share of the gateway's samples, including callees (PROFILE_FRAMES, default 60, frames):"
perf report -i "$work/perf.data" --children --sort symbol --stdio -g none 2>/dev/null \
    | grep -E '^ +[0-9]' | swift demangle --simplified | cut -c1-150 \
    | grep -v -E 'partial apply|protocol witness|thunk|start_thread|_dispatch_|swift_job_run|runJobInEstablished' | head -"${PROFILE_FRAMES:-60}"
