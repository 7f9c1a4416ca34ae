#!/usr/bin/env bash
# bench/agents.sh - `sigsweep agents` on generated fleets (corpus/fleet.sh), with the command
# signature verified for every agent, next to `sha256sum` over the same key files (the floor:
# reading and hashing every file, judging nothing), alternating, median of R runs; peak RSS.
#   bench/agents.sh [--runs R] [--sigsweep PATH]
set -euo pipefail
export LC_ALL=C
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$here")
runs=5
sigsweep=$root/build/cli/sigsweep
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --sigsweep) sigsweep=$2; shift 2 ;;
    *) echo "usage: bench/agents.sh [--runs R] [--sigsweep PATH]" >&2; exit 2 ;;
  esac
done
[ -x "$sigsweep" ] || { echo "agents.sh: build first: $sigsweep not found" >&2; exit 2; }
data=$root/build/bench-data
mkdir -p "$data"
secs() { local t0 t1; t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1 || true; t1=$EPOCHREALTIME; echo "$t1 - $t0" | bc -l; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
printf '## sigsweep agents (%s, %s cores, warm page cache, median of %s)\n\n' "$(date -u +%F)" "$(nproc)" "$runs"
printf '| agents | sigsweep agents --command | sha256sum of the key files | ratio | peak RSS |\n|---|---|---|---|---|\n'
for n in 10000 100000; do
  out=$data/fleet-$n
  [ -f "$out/expected.tsv" ] || "$root/corpus/fleet.sh" "$out" --agents "$n" >/dev/null
  find "$out/fleet" -name OfcNTCer.dat -type f -print0 > "$out/files.lst"
  audit() { "$sigsweep" agents -q --server-cert "$out/server.crt" --known "$out/old-server.crt" \
              --command "$out/command.txt" --command-sig "$out/command.sig" --format jsonl "$out/fleet"; }
  floor() { xargs -0 sha256sum < "$out/files.lst"; }
  audit >/dev/null 2>&1 || true; floor >/dev/null 2>&1 || true
  : > "$out/t.a"; : > "$out/t.f"
  for _ in $(seq 1 "$runs"); do secs audit >> "$out/t.a"; secs floor >> "$out/t.f"; done
  rss=$(/usr/bin/time -f %M "$sigsweep" agents -q --server-cert "$out/server.crt" --command "$out/command.txt" \
          --command-sig "$out/command.sig" "$out/fleet" 2>&1 >/dev/null | tail -n 1 || true)
  a=$(median < "$out/t.a"); f=$(median < "$out/t.f")
  printf '| %d | %.3f s | %.3f s | %.1fx | %d KiB |\n' "$n" "$a" "$f" "$(echo "$f / $a" | bc -l)" "$rss"
done
