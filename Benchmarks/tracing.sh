#!/usr/bin/env bash
# What OpenTelemetry traces cost: throughput and latency of /healthz and of a mirrored check with traces off, on
# at 1% (parentbased_traceidratio 0.01) and on at 100%, each gateway in its default configuration otherwise
# (request lines on), printed as one Markdown table.
#
#   Benchmarks/tracing.sh [seconds-per-run] [connections] [rounds]      (defaults: 10 s, 64 connections, 3 rounds)
#
# Starts on 127.0.0.1 only: the standalone simulator as SENS, holding 20,000 opt-outs; nginx as the OTLP/HTTP
# collector (nginx/collector.conf: accepts every export and logs it); three gateways syncing their mirrors
# from the simulator, one per setting, exporting to the collector every 5 s (the default). With 2 or more cores,
# wrk runs on core 0 and the servers on the others. The rounds alternate between the gateways; the table reports
# medians, and how many exports the collector took. The traced gateways' logs are kept: how many spans their
# exporters dropped (a full queue) is counted from them.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-10}
connections=${2:-64}
rounds=${3:-3}
simulator_port=19380
collector_port=19381
declare -A ports=([off]=18380 [ratio1]=18381 [ratio100]=18382)

pin_cores=${PIN_CORES:-1}
source Benchmarks/lib.sh
build_release sens-gateway sens-simulator
nginx_setup
results="$work/results"
mkdir -p "$results"

seeded_simulator "$simulator_port" 20000
start_nginx collector "$collector_port"
collector="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$collector_port"
start_gateway "${ports[off]}" "$simulator_port" LOG_LEVEL=info >"$work/off.log"
start_gateway "${ports[ratio1]}" "$simulator_port" LOG_LEVEL=info "$collector" \
    OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.01 >"$work/ratio1.log"
start_gateway "${ports[ratio100]}" "$simulator_port" LOG_LEVEL=info "$collector" \
    OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=1 >"$work/ratio100.log"
for setting in off ratio1 ratio100; do wait_mirror_ready "${ports[$setting]}"; done

load=(-t"$load_threads" -c"$connections" "-d${duration}s")
for round in $(seq "$rounds"); do
    for setting in off ratio1 ratio100; do
        for path in healthz check; do
            url="http://127.0.0.1:${ports[$setting]}/healthz"
            [ "$path" = check ] && url="http://127.0.0.1:${ports[$setting]}/v1/unsubscribes/01050000001"
            "${on_load[@]}" wrk "${load[@]}" --latency "$url" > "$results/$setting.$path.$round.wrk"
        done
    done
done
sleep 6  # the last batches of spans go out
cp "$work"/exports-*.log "$results/" 2>/dev/null || true
for setting in ratio1 ratio100; do
    echo "$setting: $(grep -c 'dropped' "$work/$setting.log" || true) warnings of spans dropped (queue full)" >> "$results/dropped.txt"
done
python3 - "$results" "$duration" "$connections" "$rounds" "$(nproc)" <<'PY'
import glob, os, re, statistics, sys
results, duration, connections, rounds, cores = sys.argv[1:]
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
def ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * UNITS[unit]
def runs(setting, path):
    out = []
    for name in sorted(glob.glob(f"{results}/{setting}.{path}.*.wrk")):
        text = open(name).read()
        run = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))}
        for p in ("50", "99"):
            run["p" + p] = ms(re.search(rf"^\s+{p}%\s+(\S+)", text, re.M).group(1))
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        run["bad"] = int(non2xx.group(1)) if non2xx else 0
        out.append(run)
    return out
names = {"off": "traces off", "ratio1": "traces on, 1% sampled", "ratio100": "traces on, 100% sampled"}
print(f"{rounds} rounds of {duration} s, {connections} connections, {cores} cores; medians across rounds.\n")
print("| route | traces | requests/s | vs off | p50 ms | p99 ms | non-2xx |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for path, label in (("healthz", "`/healthz`"), ("check", "mirrored check")):
    base = statistics.median(r["rps"] for r in runs("off", path))
    for setting in ("off", "ratio1", "ratio100"):
        rs = runs(setting, path)
        rps = statistics.median(r["rps"] for r in rs)
        print(f"| {label} | {names[setting]} | {rps:,.0f} | {rps / base:.2f} | "
              f"{statistics.median(r['p50'] for r in rs):.2f} | {statistics.median(r['p99'] for r in rs):.2f} | "
              f"{sum(r['bad'] for r in rs)} |")
logs = glob.glob(f"{results}/exports-*.log")
lines = [l.split() for name in logs for l in open(name)]
dropped = open(f"{results}/dropped.txt").read().strip().replace("\n", "; ")
print(f"\nThe collector took {len(lines)} exports from the two traced gateways, answered "
      f"{sorted(set(l[1] for l in lines))}; {dropped}.")
PY
