#!/usr/bin/env bash
# bench/package_memory.sh - peak memory and wall time of `sigsweep package verify` on a package
# of N small files (default 1,000,000), next to a peer sigsweep binary (another build, e.g. the
# commit before a change) in the same run, on the same package and manifests (issue 14: memory
# flat in the number of manifest entries, <= 64 MiB at 1 M, speed not lower).
#
#   bench/package_memory.sh --peer PATH [--sigsweep PATH] [--files N] [--runs R] [--dir DIR]
#                           [--keep]
#
# DIR (default /dev/shm/sgs-package-memory, tmpfs: 1 M files of 32 bytes take ~4 GiB of RAM
# there) gets pkg/ (N files, 1,000 a folder, distinct contents), pkg.sha256 (`sigsweep package
# create`: sorted), shuffled.sha256 (the same lines in a random order: the entries must be
# sorted by sigsweep), each signed with `openssl dgst -sha256 -sign` (RSA-2048). DIR is removed
# at the end unless --keep (then reused by the next run when its file count matches).
# Timed, warm page cache: R runs (default 3), the two binaries alternating within every run:
#   BIN package verify DIR/pkg --manifest M --key k.pub --quiet      (-j = online CPUs)
# each under /usr/bin/time (wall seconds, maximum resident set size); every run must exit 0.
# Reported: medians, and the ratios peer / sigsweep (time: > 1 means sigsweep is faster).
set -euo pipefail
export LC_ALL=C
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$here")
dir=/dev/shm/sgs-package-memory
files=1000000
runs=3
keep=0
peer=
sigsweep=$root/build/cli/sigsweep
die() { printf 'package_memory.sh: %s\n' "$*" >&2; exit 2; }
while (($#)); do
    case $1 in
        --dir|--files|--runs|--sigsweep|--peer) (($# >= 2)) || die "$1 needs a value" ;;&
        --dir) dir=$2; shift 2 ;;
        --files) files=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --sigsweep) sigsweep=$2; shift 2 ;;
        --peer) peer=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "usage: bench/package_memory.sh --peer PATH [--sigsweep PATH] [--files N] [--runs R] [--dir DIR] [--keep]" ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ && $files =~ ^[1-9][0-9]*$ ]] || die "--runs and --files: positive integers"
[[ -n $peer ]] || die "--peer PATH is required (the sigsweep to compare with)"
for b in "$sigsweep" "$peer"; do [[ -x $b ]] || die "not an executable: $b"; done
sigsweep=$(realpath -- "$sigsweep"); peer=$(realpath -- "$peer")
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install -y time)"
for t in openssl python3; do command -v "$t" >/dev/null || die "$t not found"; done
((keep)) || trap 'rm -rf -- "$dir"' EXIT

mkdir -p -- "$dir"
cd -- "$dir"
if [[ ! -f .done-$files ]]; then
    printf 'package_memory.sh: making %s/pkg (%d files)\n' "$dir" "$files" >&2
    rm -rf pkg ./*.sha256 ./*.sig .done-*
    python3 - "$files" <<'PY'
import os, random, sys
n = int(sys.argv[1])
for i in range(n):
    d = "pkg/d%04d" % (i // 1000)
    if i % 1000 == 0:
        os.makedirs(d)
    with open("%s/f%07d" % (d, i), "wb") as f:
        f.write(b"%031d\n" % i)
PY
    "$sigsweep" package create pkg --out pkg.sha256
    python3 -c 'import random, sys; l = open("pkg.sha256", "rb").readlines(); random.Random(14).shuffle(l); sys.stdout.buffer.write(b"".join(l))' >shuffled.sha256
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out k.pem 2>/dev/null
    openssl pkey -in k.pem -pubout -out k.pub
    for m in pkg.sha256 shuffled.sha256; do openssl dgst -sha256 -sign k.pem -out "$m.sig" "$m"; done
    touch ".done-$files"
fi
entries=$(wc -l <pkg.sha256)
((entries == files)) || die "pkg.sha256 has $entries lines, not $files"
find pkg -type f -exec cat {} + >/dev/null # warm

one() { # BIN MANIFEST -> "wall_seconds max_rss_kib"
    local rc=0
    /usr/bin/time -f '%e %M' -o time.out "$1" package verify pkg --manifest "$2" --key k.pub \
        --quiet >/dev/null 2>verify.err || rc=$?
    ((rc == 0)) || { tail -n 3 verify.err >&2; die "$1 on $2: exit $rc"; }
    cat time.out
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for m in pkg.sha256 shuffled.sha256; do : >"t.$m.new"; : >"t.$m.peer"; done
for _ in $(seq 1 "$runs"); do
    for m in pkg.sha256 shuffled.sha256; do
        one "$peer" "$m" >>"t.$m.peer"
        one "$sigsweep" "$m" >>"t.$m.new"
    done
done

printf '## package verify memory (%s, %s cores, %s, %d files, %d runs, medians)\n\n' \
    "$(date -u +%F)" "$(nproc)" "$(lscpu | sed -n 's/^Model name: *//p' | head -n1)" "$files" "$runs"
printf 'sigsweep: %s\npeer: %s\n\n' "$sigsweep" "$peer"
printf '| manifest | sigsweep wall | peer wall | time peer/sigsweep | sigsweep peak RSS | peer peak RSS | RSS peer/sigsweep |\n'
printf '|---|---|---|---|---|---|---|\n'
for m in pkg.sha256 shuffled.sha256; do
    nw=$(cut -d' ' -f1 "t.$m.new" | median); pw=$(cut -d' ' -f1 "t.$m.peer" | median)
    nr=$(cut -d' ' -f2 "t.$m.new" | median); pr=$(cut -d' ' -f2 "t.$m.peer" | median)
    label=$([[ $m == pkg.sha256 ]] && echo "sorted (package create)" || echo "shuffled lines")
    printf '| %s | %.2f s | %.2f s | %.2fx | %.1f MiB | %.1f MiB | %.1fx |\n' "$label" "$nw" "$pw" \
        "$(echo "$pw / $nw" | bc -l)" "$(echo "$nr / 1024" | bc -l)" "$(echo "$pr / 1024" | bc -l)" \
        "$(echo "$pr / $nr" | bc -l)"
done
