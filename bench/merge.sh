#!/usr/bin/env bash
# bench/merge.sh - `sigsweep report merge` and `report summary` on R generated reports of N
# records each (bench/report_gen.py): records/s and peak RSS (/usr/bin/time -v), next to `cat`
# of the same files into one (the floor: reading and writing every byte, checking nothing).
#   bench/merge.sh [--reports R] [--records N] [--sigsweep PATH]   (default 1000 x 10000)
set -euo pipefail
export LC_ALL=C
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$here")
reports=1000
records=10000
sigsweep=$root/build/cli/sigsweep
while (($#)); do
  case $1 in
    --reports) reports=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    --sigsweep) sigsweep=$2; shift 2 ;;
    *) echo "usage: bench/merge.sh [--reports R] [--records N] [--sigsweep PATH]" >&2; exit 2 ;;
  esac
done
[ -x "$sigsweep" ] || { echo "merge.sh: build first: $sigsweep not found" >&2; exit 2; }
data=$root/build/bench-data/reports-$reports-$records
[ -f "$data/.done" ] || { rm -rf "$data"; python3 "$here/report_gen.py" "$data" \
    --reports "$reports" --records "$records" && touch "$data/.done"; }
total=$((reports * records))
bytes=$(cat "$data"/host-*.jsonl | wc -c)
out=$root/build/bench-data/merged.jsonl
measure() { # label cmd... -> a table row: wall and CPU time, records/s (by wall time), peak RSS
  local label=$1 rc=0; shift
  /usr/bin/time -v "$@" 2>"$out.time" >/dev/null || rc=$?
  [ $rc -le 1 ] || { tail -5 "$out.time" >&2; exit 1; } # summary: 1 when a file is not VALID
  local s c k
  s=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); t=0; for(i=1;i<=n;i++) t=t*60+a[i]; print t}' "$out.time")
  c=$(awk -F': ' '/(User|System) time/ {t+=$2} END {print t}' "$out.time")
  k=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out.time")
  printf '| %s | %.1f s | %.1f s | %.0f records/s | %d KiB |\n' "$label" "$s" "$c" \
    "$(echo "$total / $s" | bc -l)" "$k"
}
printf '## report merge (%s, %s cores; %d reports x %d records = %d records, %.0f MB)\n\n' \
  "$(date -u +%F)" "$(nproc)" "$reports" "$records" "$total" "$(echo "$bytes / 1000000" | bc -l)"
printf '| command | wall time | CPU time | throughput | peak RSS |\n|---|---|---|---|---|\n'
cat "$data"/host-*.jsonl > /dev/null # warm the page cache
measure "cat (floor)" bash -c 'cat "$1"/host-*.jsonl > "$2"' _ "$data" "$out"
measure "sigsweep report merge" "$sigsweep" report merge "$data"/host-*.jsonl --out "$out"
measure "sigsweep report summary (merged)" "$sigsweep" report summary "$out"
grep -c '^{"type":"run"' "$out" | awk -v r="$reports" '$1 != r {print "merge.sh: " $1 " runs, want " r > "/dev/stderr"; exit 1}'
rm -f "$out" "$out.time"
