#!/usr/bin/env python3
"""Reads the wrk outputs, timings and memory figures Benchmarks/run.sh left in RESULTS and prints the results
as Markdown: the throughput table with medians across rounds, the targets with their ratios, the register
timing, memory, and the micro-benchmarks."""
import argparse
import os
import platform
import re
import statistics
from datetime import datetime, timezone

parser = argparse.ArgumentParser()
parser.add_argument("results")
parser.add_argument("--cores", type=int, required=True)
parser.add_argument("--load-cpus", required=True)
parser.add_argument("--server-cpus", required=True)
parser.add_argument("--load-threads", type=int, required=True)
parser.add_argument("--duration", type=int, required=True)
parser.add_argument("--connections", type=int, required=True)
parser.add_argument("--rounds", type=int, required=True)
parser.add_argument("--idle", type=int, nargs=2, required=True, help="kB, cached and uncached gateway")
parser.add_argument("--settled", type=int, nargs=2, required=True, help="kB, cached and uncached gateway")
args = parser.parse_args()

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def milliseconds(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * UNITS[unit]


def read_wrk(path):
    text = open(path).read()
    run = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))}
    for percent in ("50", "90", "99"):
        run["p" + percent] = milliseconds(re.search(rf"^\s+{percent}%\s+(\S+)", text, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    run["failures"] = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, errors.groups())) if errors else 0)
    peak = path.replace(".wrk", ".peak")
    run["peak_kb"] = int(open(peak).read()) if os.path.exists(peak) else None
    return run


def rounds(key):
    return [read_wrk(os.path.join(args.results, f"{key}.{n}.wrk")) for n in range(1, args.rounds + 1)]


def median(runs, field):
    return statistics.median(run[field] for run in runs)


def mb(kb):
    return f"{kb / 1024:.1f} MB" if kb is not None else "–"


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


runs = {key: rounds(key) for key in ("bare", "healthz", "healthz-quiet", "check", "gateway-list", "nginx-list",
                                     "mirror-check", "mirror-list", "nginx-file")}
labels = {
    "bare": "0. bare Hummingbird 2 route, `GET /healthz`, no middleware",
    "healthz": "1. `GET /healthz` (gateway's cheapest route)",
    "healthz-quiet": "1b. the same with `LOG_LEVEL=error` (no request line)",
    "check": "2. `GET /v1/unsubscribes/{phoneNumber}`, cached",
    "gateway-list": "3a. `GET /v1/unsubscribes?pageSize=100` via the gateway, cache off",
    "nginx-list": "3b. the same SENS page via nginx `proxy_pass` (keep-alive)",
    "mirror-check": "4. `GET /v1/unsubscribes/{phoneNumber}` from the mirror (200,000 records)",
    "mirror-list": "5a. `GET /v1/unsubscribes?pageSize=100` from the mirror",
    "nginx-file": "5b. the same page's bytes served by nginx as a file",
}
placement = (f"wrk on CPU {args.load_cpus}, nginx and the gateway on CPU {args.server_cpus}"
             if args.load_cpus != args.server_cpus else "wrk, nginx and the gateway sharing them")
print(f"machine: {args.cores} cores ({cpu_model()}), {placement}; "
      f"wrk -t{args.load_threads} -c{args.connections} -d{args.duration}s per run, {args.rounds} rounds alternating; "
      f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%MZ}")
print()
print("| run (median of rounds) | requests/s | p50 | p90 | p99 | gateway peak RSS | failed |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for key, label in labels.items():
    rs = runs[key]
    peaks = [r["peak_kb"] for r in rs if r["peak_kb"] is not None]
    print(f"| {label} | {median(rs, 'rps'):,.0f} | {median(rs, 'p50'):.2f} ms | {median(rs, 'p90'):.2f} ms | "
          f"{median(rs, 'p99'):.2f} ms | {mb(max(peaks)) if peaks and key != 'bare' else '–'} | {sum(r['failures'] for r in rs)} |")

unloaded = {key: read_wrk(os.path.join(args.results, f"{key}.unloaded.wrk")) for key in ("gateway-list", "nginx-list")}
print()
print("| unloaded, 1 connection | requests/s | p50 | p90 | p99 |")
print("| --- | ---: | ---: | ---: | ---: |")
for key in ("gateway-list", "nginx-list"):
    r = unloaded[key]
    print(f"| {labels[key][4:]} | {r['rps']:,.0f} | {r['p50']:.3f} ms | {r['p90']:.3f} ms | {r['p99']:.3f} ms |")


def per_round_ratio(numerator, denominator):
    values = [n["rps"] / d["rps"] for n, d in zip(runs[numerator], runs[denominator])]
    return statistics.median(values), values


def verdict(met):
    return "**met**" if met else "**not met**"


bare_ratio, bare_ratios = per_round_ratio("healthz", "bare")
quiet_ratio, quiet_ratios = per_round_ratio("healthz", "healthz-quiet")
check_ratio, check_ratios = per_round_ratio("check", "healthz")
mirror_check_ratio, mirror_check_ratios = per_round_ratio("mirror-check", "healthz")
mirror_list_ratio, mirror_list_ratios = per_round_ratio("mirror-list", "nginx-file")
list_ratio, list_ratios = per_round_ratio("gateway-list", "nginx-list")
added_loaded = median(runs["gateway-list"], "p50") - median(runs["nginx-list"], "p50")
added_unloaded = unloaded["gateway-list"]["p50"] - unloaded["nginx-list"]["p50"]
print()
print("| target | measured (per-round ratios) | |")
print("| --- | --- | --- |")
print(f"| `/healthz` ≥ 0.85× the bare Hummingbird route | {bare_ratio:.2f}× ({', '.join(f'{v:.2f}' for v in bare_ratios)}) | {verdict(bare_ratio >= 0.85)} |")
print(f"| (`/healthz` with request lines vs without: what the line costs) | {quiet_ratio:.2f}× ({', '.join(f'{v:.2f}' for v in quiet_ratios)}) | |")
print(f"| cached check ≥ 0.90× `/healthz` | {check_ratio:.2f}× ({', '.join(f'{v:.2f}' for v in check_ratios)}) | {verdict(check_ratio >= 0.9)} |")
print(f"| mirrored check ≥ 0.90× `/healthz` (another gateway, same configuration) | {mirror_check_ratio:.2f}× ({', '.join(f'{v:.2f}' for v in mirror_check_ratios)}) | {verdict(mirror_check_ratio >= 0.9)} |")
print(f"| list page of 100 from the mirror ≥ 0.5× nginx serving its bytes as a file | {mirror_list_ratio:.2f}× ({', '.join(f'{v:.2f}' for v in mirror_list_ratios)}) | {verdict(mirror_list_ratio >= 0.5)} |")
print(f"| proxied list (cache off) ≥ 0.25× nginx `proxy_pass` | {list_ratio:.2f}× ({', '.join(f'{v:.2f}' for v in list_ratios)}) | {verdict(list_ratio >= 0.25)} |")
print(f"| gateway adds ≤ 0.5 ms to p50, unloaded (1 connection) | {added_unloaded:+.3f} ms | {verdict(added_unloaded <= 0.5)} |")
print(f"| gateway adds ≤ 0.5 ms to p50, under load ({args.connections} connections) | {added_loaded:+.3f} ms | {verdict(added_loaded <= 0.5)} |")

times = [line.split() for line in open(os.path.join(args.results, "register.times"))]
totals = [float(t[0]) * 1000 for t in times]
calls = [int(t[1]) for t in times]
upstream = [float(t[2]) * 1000 for t in times]
gateway_side = [total - up for total, up in zip(totals, upstream)]
register_peak = int(open(os.path.join(args.results, "register.peak")).read())
print()
print(f"Register of 10,000 numbers (4 formats, {statistics.median(calls):.0f} SENS calls of 1,000), {len(times)} times, one after another:")
print()
print("| | median | fastest | slowest |")
print("| --- | ---: | ---: | ---: |")
print(f"| whole call, as the caller sees it | {statistics.median(totals):.1f} ms | {min(totals):.1f} ms | {max(totals):.1f} ms |")
print(f"| of which nginx (SENS) by its own clock | {statistics.median(upstream):.1f} ms | {min(upstream):.1f} ms | {max(upstream):.1f} ms |")
print(f"| gateway side (whole call minus nginx) | {statistics.median(gateway_side):.1f} ms | {min(gateway_side):.1f} ms | {max(gateway_side):.1f} ms |")
print(f"| gateway side per number | {statistics.median(gateway_side) * 1000 / 10_000:.2f} µs | | |")
print()
print(f"Register of 10,000, gateway side ≤ 20 ms: {statistics.median(gateway_side):.1f} ms, {verdict(statistics.median(gateway_side) <= 20)}")
filters = {}
for line in open(os.path.join(args.results, "filter.times")):
    answer, seconds = line.split()
    filters.setdefault(answer, []).append(float(seconds))
print()
print("Filter of 1,000,000 CSV recipients (a CRM export: half on the mirrored list, 1 in 100 not a number), end to end as curl sees it:")
print()
print("| answer | median | fastest | slowest | target |")
print("| --- | ---: | ---: | ---: | --- |")
for answer, label in (("text/csv", "the allowed recipients as CSV"), ("application/json", "JSON listing the 500,000 opted out and 10,000 invalid")):
    times = filters[answer]
    target = f"≤ 0.5 s: {verdict(statistics.median(times) <= 0.5)}" if answer == "text/csv" else ""
    print(f"| {label} | {statistics.median(times):.2f} s | {min(times):.2f} s | {max(times):.2f} s | {target} |")
print()
print("| gateway resident memory | cache on | cache off |")
print("| --- | ---: | ---: |")
print(f"| idle, just started | {mb(args.idle[0])} | {mb(args.idle[1])} |")
peak_cached = max([r["peak_kb"] for key in ("healthz", "check") for r in runs[key]] + [register_peak])
peak_uncached = max(r["peak_kb"] for r in runs["gateway-list"] + [unloaded["gateway-list"]])
print(f"| peak during the runs | {mb(peak_cached)} | {mb(peak_uncached)} |")
print(f"| peak during the registers of 10,000 | {mb(register_peak)} | |")
print(f"| idle, 5 s after the last run | {mb(args.settled[0])} | {mb(args.settled[1])} |")
print()
print(open(os.path.join(args.results, "micro.md")).read().rstrip())
