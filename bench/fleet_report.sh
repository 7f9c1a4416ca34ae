#!/usr/bin/env bash
# bench/fleet_report.sh - `sigsweep report html` on a generated merged fleet report
# (bench/fleet_report_gen.py: 1,000 hosts x 1,000 files + 20 agents each, 1.02 M records,
# ~250 MB), next to peers over the same file in the same run, alternating, median of R runs:
# `cat` (the floor: reading the bytes) and `jq -c . | wc -l` (parsing every line with a JSON
# tool, aggregating nothing); the page's size and report html's peak RSS. A known-answer check
# first: the page's total equals the generator's count.
#   bench/fleet_report.sh [--runs R] [--hosts H] [--files F] [--sigsweep PATH] [--no-jq]
set -euo pipefail
export LC_ALL=C
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$here")
runs=3 hosts=1000 files=1000 jq=1
sigsweep=$root/build/cli/sigsweep
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --hosts) hosts=$2; shift 2 ;;
    --files) files=$2; shift 2 ;;
    --sigsweep) sigsweep=$2; shift 2 ;;
    --no-jq) jq=0; shift ;;
    *) echo "usage: bench/fleet_report.sh [--runs R] [--hosts H] [--files F] [--sigsweep PATH] [--no-jq]" >&2; exit 2 ;;
  esac
done
[ -x "$sigsweep" ] || { echo "fleet_report.sh: build first: $sigsweep not found" >&2; exit 2; }
command -v jq >/dev/null || jq=0
data=$root/build/bench-data/fleet-report-$hosts-$files
mkdir -p "$data"
in=$data/fleet.jsonl
[ -f "$in" ] || python3 "$here/fleet_report_gen.py" --hosts "$hosts" --files "$files" --agents 20 \
  "$in" > "$data/totals.json"
records=$(python3 -c 'import json,sys; print(sum(json.load(open(sys.argv[1]))["totals"].values()))' "$data/totals.json")
"$sigsweep" report html "$in" --out "$data/report.html"
shown=$(grep -o 'id="total-files" data-n="[0-9]*"' "$data/report.html" | grep -o '[0-9]*"$' | tr -d '"')
[ "$shown" = "$records" ] || { echo "fleet_report.sh: the page shows $shown files, want $records" >&2; exit 1; }
secs() { local t0 t1; t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1; t1=$EPOCHREALTIME; echo "$t1 - $t0" | bc -l; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
render() { "$sigsweep" report html "$in" --out "$data/report.html"; }
floor() { cat "$in"; }
jqpeer() { jq -c . "$in" | wc -l; }
: > "$data/t.r"; : > "$data/t.c"; : > "$data/t.j"
for _ in $(seq 1 "$runs"); do
  secs render >> "$data/t.r"; secs floor >> "$data/t.c"
  [ "$jq" = 1 ] && secs jqpeer >> "$data/t.j"
done
rss=$(/usr/bin/time -f %M "$sigsweep" report html "$in" --out "$data/report.html" 2>&1 | tail -n 1)
r=$(median < "$data/t.r"); c=$(median < "$data/t.c")
mb=$(( $(stat -c %s "$in") / 1000000 ))
printf '## sigsweep report html (%s, %s cores, warm page cache, median of %s)\n\n' "$(date -u +%F)" "$(nproc)" "$runs"
printf '| input | report html | records/s | cat | jq -c . \\| wc -l | page | peak RSS |\n|---|---|---|---|---|---|---|\n'
j=n/a
[ "$jq" = 1 ] && j=$(printf '%.2f s (%.1fx report html)' "$(median < "$data/t.j")" "$(echo "$(median < "$data/t.j") / $r" | bc -l)")
printf '| %d records, %d MB | %.2f s | %.0f | %.2f s | %s | %d KB | %d KiB |\n' "$records" "$mb" "$r" \
  "$(echo "$records / $r" | bc -l)" "$c" "$j" "$(( $(stat -c %s "$data/report.html") / 1000 ))" "$rss"
