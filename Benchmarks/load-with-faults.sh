#!/usr/bin/env bash
# Load with faults: drives the gateway with many connections while the SENS simulator fails a share of calls,
# and reports every status returned, whether any was a 5xx other than the documented 502/503/504, whether the
# gateway survived, and its memory before and after.
#
#   Benchmarks/load-with-faults.sh [seconds] [connections]      (defaults: 60 s, 256 connections)
#
# SENS faults: 10% answered 500, 5% connections dropped, 5% answers cut off mid-body (20% in all), plus 20 ms
# latency. Requests: 80% checks of random numbers (cache misses), 10% list pages, 10% registers of three numbers.
# Everything listens on 127.0.0.1 only and stops when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-60}
connections=${2:-256}
simulator_port=19091
gateway_port=18081

source Benchmarks/lib.sh
build_release sens-simulator sens-gateway
start_simulator "$simulator_port" --simulator-latency-milliseconds 20 --simulator-failure-rate 0.10 \
    --simulator-failure-status 500 --simulator-drop-rate 0.05 --simulator-truncate-rate 0.05
start_gateway "$gateway_port" "$simulator_port"

for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$gateway_port/v1/unsubscribes/01012345678"; done
before=$(rss_kb "$gateway")

out=$(wrk -t2 -c"$connections" -d"${duration}s" --timeout 15s -s Benchmarks/load-with-faults.lua "http://127.0.0.1:$gateway_port")
after=$(rss_kb "$gateway")
alive=no
kill -0 "$gateway" 2>/dev/null && curl -sf "http://127.0.0.1:$gateway_port/healthz" >/dev/null && alive=yes
sleep 5
settled=$(rss_kb "$gateway")

echo "machine: $(nproc) cores; wrk -t2 -c$connections -d${duration}s; SENS failing 20% of calls; $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| status | answers |"
echo "| --- | --- |"
grep '^STATUS' <<<"$out" | sort -k2n | awk '{printf "| %s | %s |\n", $2, $3}'
echo
awk '/^Requests\/sec/{print "requests/s: " $2}' <<<"$out"
grep '^ERRORS' <<<"$out" | sed 's/^ERRORS/socket errors:/'
undocumented=$(grep '^STATUS 5' <<<"$out" | awk '$2!=502 && $2!=503 && $2!=504 {n+=$3} END {print n+0}')
echo "5xx other than 502/503/504: $undocumented"
echo "gateway alive and healthy after the run: $alive"
echo "resident memory: ${before} kB before, ${after} kB right after, ${settled} kB 5 s later; peak $(peak_kb "$gateway") kB"
[ "$undocumented" = 0 ] && [ "$alive" = yes ]
