#!/usr/bin/env bash
# Marketers' files and the export, in the gateway's default configuration (log lines on, the embedded SQLite
# store), against the standalone simulator as SENS:
#
#   Benchmarks/files.sh [records]      (default: 1000000 mirrored records and 1000000 file rows)
#
#   - the filter of a CP949 CSV of `records` rows and three columns (이름,휴대폰,등급; half the numbers on the list,
#     1 in 100 with its leading 0 lost), answered as the rows to send to (every column kept) in UTF-8 and in CP949,
#     and the same file in UTF-8 for comparison: end to end (curl) and gateway-side (the access log), medians of 3;
#   - the export of the `records`-record list, as CSV and as JSON lines: time end to end, and the gateway's
#     resident memory before and at its peak during the export, medians of 3.
# PIN_CORES=0 lets curl and the servers share every core. Everything listens on 127.0.0.1 and stops with the script.
set -euo pipefail
cd "$(dirname "$0")/.."

records=${1:-1000000}
simulator_port=19480
gateway_port=18480

pin_cores=${PIN_CORES:-1}
source Benchmarks/lib.sh
build_release sens-gateway sens-simulator
work=$(mktemp -d)
scratch+=("$work")

seeded_simulator "$simulator_port" "$records"
start_gateway "$gateway_port" "$simulator_port" LOG_LEVEL=info >"$work/gateway.log"; gateway_pid=$gateway
wait_mirror_ready "$gateway_port"

echo "making the files" >&2
python3 - "$work" "$records" <<'PY'
import sys
work, records = sys.argv[1], int(sys.argv[2])
names = ["김민준", "이서연", "박지호", "최유나", "정하늘", "강도윤", "윤서아", "장예준"]
grades = ["VIP", "일반", "골드"]
lines = ["이름,휴대폰,등급"]
for i in range(records):
    n = f"{(i * 7919) % records:07d}"
    number = f"010{'5' if i % 2 == 0 else '6'}{n}"
    phone = number[1:] if i % 100 == 7 else f"{number[:3]}-{number[3:7]}-{number[7:]}"
    lines.append(f"{names[i % 8]},{phone},{grades[i % 3]}")
text = "\r\n".join(lines) + "\r\n"
open(f"{work}/recipients-cp949.csv", "wb").write(text.encode("cp949"))
open(f"{work}/recipients-utf8.csv", "wb").write(text.encode("utf-8"))
PY

url="http://127.0.0.1:$gateway_port/v1/unsubscribes/filter?column=%ED%9C%B4%EB%8C%80%ED%8F%B0&repair=leading-zero"
# median VALUES...: the middle of an odd count.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# gateway_ms: the last access-log line's duration_ms.
gateway_ms() { grep -o 'duration_ms=[0-9.]*' "$work/gateway.log" | tail -1 | cut -d= -f2; }

rows=()
for case in "cp949 text/csv" "cp949 text/csv;charset=cp949" "utf8 text/csv"; do
    set -- $case
    file="$work/recipients-$1.csv"; accept=${2/;/; }
    totals=(); sides=()
    for attempt in 1 2 3 4; do
        timing=$("${on_load[@]}" curl -s -o "$work/answer.csv" -w '%{http_code} %{time_total}' -H 'Content-Type: text/csv' \
            -H "Accept: $accept" --data-binary "@$file" "$url")
        [ "${timing%% *}" = 200 ] || { echo "the filter answered ${timing%% *}; aborting" >&2; exit 1; }
        [ "$attempt" = 1 ] && continue  # warms the caches
        totals+=("${timing#* }"); sides+=("$(gateway_ms)")
    done
    # The answer holds the header and the rows not on the list: half, less the 1 in 100 on it with its 0 lost.
    lines=$(wc -l < "$work/answer.csv")
    echo "| $(du -m "$file" | cut -f1) MB $1 file, Accept: $accept | $(median "${totals[@]}") s | $(median "${sides[@]}") ms | $lines lines |" >> "$work/filter.rows"
done

for accept in text/csv application/x-ndjson; do
    totals=(); growth=()
    for attempt in 1 2 3 4; do
        sleep 1
        before=$(rss_kb "$gateway_pid"); reset_peak "$gateway_pid"
        timing=$("${on_load[@]}" curl -s -o "$work/export" -w '%{http_code} %{time_total}' -H "Accept: $accept" \
            "http://127.0.0.1:$gateway_port/v1/unsubscribes/export")
        [ "${timing%% *}" = 200 ] || { echo "the export answered ${timing%% *}; aborting" >&2; exit 1; }
        peak=$(peak_kb "$gateway_pid")
        [ "$attempt" = 1 ] && continue
        totals+=("${timing#* }"); growth+=("$(( (peak - before) / 1024 ))")
    done
    lines=$(wc -l < "$work/export")
    echo "| export, Accept: $accept | $(median "${totals[@]}") s | $(median "${growth[@]}") MB | $lines lines, $(du -m "$work/export" | cut -f1) MB |" >> "$work/export.rows"
done

echo
echo "| filter of $records rows, three columns, rows kept | end to end | gateway-side | answer |"
echo "| --- | --- | --- | --- |"
cat "$work/filter.rows"
echo
echo "| export of $records records | end to end | resident memory growth (peak - before) | answer |"
echo "| --- | --- | --- | --- |"
cat "$work/export.rows"
