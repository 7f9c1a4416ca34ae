#!/usr/bin/env bash
# bench/cache.sh - the persistent cache on bench/speed.sh's 100,000 x 4 KiB signed files:
# a cold run (empty cache), warm runs (nothing changed), no-cache runs, and a run after 1% of
# the files were touched; median of R, all in the same run. Build the files first with
# bench/speed.sh (they live in build/bench-data/small). With --drop-caches (root) the kernel's
# page, dentry and inode caches are dropped before every timed command, as on the first audit
# of a night: cold then reads every file from disk, warm every inode.
#   bench/cache.sh [--runs R] [--sigsweep PATH] [--drop-caches]
set -euo pipefail
export LC_ALL=C
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$here")
runs=5
sigsweep=$root/build/cli/sigsweep
dropping=0
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --sigsweep) sigsweep=$2; shift 2 ;;
    --drop-caches) dropping=1; shift ;;
    *) echo "usage: bench/cache.sh [--runs R] [--sigsweep PATH] [--drop-caches]" >&2; exit 2 ;;
  esac
done
data=$root/build/bench-data
[ -d "$data/small" ] || { echo "cache.sh: run bench/speed.sh first (it makes $data/small)" >&2; exit 2; }
cd "$data"
if ((dropping)) && ! { sync && echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
  echo "cache.sh: --drop-caches needs root and a writable /proc/sys/vm/drop_caches" >&2; exit 2
fi
drop() { if ((dropping)); then sync; echo 3 >/proc/sys/vm/drop_caches; fi; }
secs() { local t0 t1; drop; t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1 || true; t1=$EPOCHREALTIME; echo "$t1 - $t0" | bc -l; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
run() { "$sigsweep" verify -q --key rsa.pub "$@" small; }
find small -type f -newermt '-3 seconds' -print -quit | grep -q . && sleep 3 # let ctimes age
: > t.cold; : > t.warm; : > t.none; : > t.find
for _ in $(seq 1 "$runs"); do
  rm -rf cache-bench
  secs run --cache-dir cache-bench >> t.cold
  secs run --cache-dir cache-bench >> t.warm
  secs run >> t.none
  # the floor of any stat-based re-audit: one stat of every file and signature (GNU find,
  # relative fstatat from one thread), nothing else
  secs find small -printf '%i %s %T@ %C@\n' >> t.find
done
# touch 1%: new mtime and ctime; let the racy window pass so they are recorded again
find small -name 'f*.bin' | sort | awk 'NR % 100 == 0' > touched.txt
xargs touch < touched.txt
sleep 3
reread=$( { "$sigsweep" verify --key rsa.pub --cache-dir cache-bench small 2>&1 >/dev/null || true; } |
         sed -n 's/.*persistent cache: \([0-9]*\) files not re-read.*/\1/p')
total=$(find small -name 'f*.bin' | wc -l)
c=$(median < t.cold); w=$(median < t.warm); n=$(median < t.none); f=$(median < t.find)
printf '## persistent cache (%s, %s cores, %s, median of %s)\n\n' "$(date -u +%F)" "$(nproc)" \
  "$( ((dropping)) && echo "kernel caches dropped before each run" || echo "warm page cache")" "$runs"
printf '| run | time | vs cold |\n|---|---|---|\n'
printf '| cold (empty cache) | %.2f s | 1.0x |\n' "$c"
printf '| no cache | %.2f s | %.1fx |\n' "$n" "$(echo "$c / $n" | bc -l)"
printf '| warm (nothing changed) | %.2f s | %.1fx |\n' "$w" "$(echo "$c / $w" | bc -l)"
printf '| peer: find stat of every entry | %.2f s | %.1fx |\n' "$f" "$(echo "$c / $f" | bc -l)"
printf '\nafter touching %d of %d files: %d read again\n' "$(wc -l < touched.txt)" "$total" "$((total - ${reread:-0}))"
