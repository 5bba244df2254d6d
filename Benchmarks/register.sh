#!/usr/bin/env bash
# A register of 10,000 numbers (run.sh's body) through several builds of the gateway, alternating call by call
# against one nginx SENS, so that the machine's noise falls on every build alike:
#
#   Benchmarks/register.sh [count] BINARY...      (count: registers per build, default 30)
#
# Prints each build's gateway side (the caller's total less nginx's own time): median, first quartile, fastest.
# Pinned as run.sh pins; request lines on, mirror off.
set -euo pipefail
cd "$(dirname "$0")/.."

count=${1:-30}
shift || true
[ $# -gt 0 ] || { echo "usage: Benchmarks/register.sh [count] BINARY..." >&2; exit 2; }
upstream_port=19580
pin_cores=${PIN_CORES:-1}
source Benchmarks/lib.sh
nginx_setup
start_nginx upstream "$upstream_port"
wait_for "http://127.0.0.1:$upstream_port/sms/v2/services/x/unsubscribes" || { echo "nginx did not start" >&2; exit 1; }
python3 -c 'import json; f=["010-{0:04d}-{1:04d}","+82 10-{0:04d}-{1:04d}","010{0:04d}{1:04d}","(010) {0:04d} {1:04d}"]; print(json.dumps({"phoneNumbers":[f[i%4].format(4000+i//10000,i%10000) for i in range(10000)]}))' > "$work/register.json"

port=18580
ports=()
for binary in "$@"; do
    gateway_bin=$binary
    start_gateway "$port" "$upstream_port" LOG_LEVEL=info MIRROR_ENABLED=false > "$work/gateway-$port.log"
    ports+=("$port")
    port=$((port + 1))
done
register() {
    "${on_load[@]}" curl -s -o /dev/null -w '%{http_code} %{time_total}' -H 'Content-Type: application/json' \
        --data-binary "@$work/register.json" "http://127.0.0.1:$1/v1/unsubscribes"
}
# The first call of each warms connections and caches; it is not counted.
for p in "${ports[@]}"; do register "$p" >/dev/null; done
for _ in $(seq "$count"); do
    for p in "${ports[@]}"; do
        before=$(wc -l < "$work/upstream-register.log")
        timing=$(register "$p")
        [ "${timing%% *}" = 200 ] || { echo "register answered ${timing%% *}; aborting" >&2; exit 1; }
        upstream=$(tail -n "+$((before + 1))" "$work/upstream-register.log" | awk '{total += $3} END {print total + 0}')
        echo "$p ${timing#* } $upstream" >> "$work/times"
    done
done
python3 - "$work/times" "${ports[@]}" -- "$@" <<'PY'
import statistics, sys
arguments = sys.argv[2:]
split = arguments.index("--")
ports, binaries = arguments[:split], arguments[split + 1:]
rows = [line.split() for line in open(sys.argv[1])]
print("| build | median | first quartile | fastest |")
print("| --- | ---: | ---: | ---: |")
for port, binary in zip(ports, binaries):
    side = [(float(total) - float(upstream)) * 1000 for p, total, upstream in rows if p == port]
    print(f"| {binary} | {statistics.median(side):.1f} ms | {statistics.quantiles(side, n=4)[0]:.1f} ms | {min(side):.1f} ms |")
PY
