#!/usr/bin/env bash
# bench/package_speed.sh - `sigsweep package verify` next to `sha256sum -c` and `hashdeep -a`,
# in the same run, on the same packages (issue 5: >= 2.5x sha256sum -c, >= 2x hashdeep -j2 -a).
#
#   bench/package_speed.sh [--dir DIR] [--runs R] [--sigsweep PATH]
#
# Packages (made once, kept in DIR, default build/bench-data; remade when their file count is off):
#   DIR/pkg-small/  20,000 x 4 KiB files in 20 folders
#   DIR/pkg-large/  64 x 8 MiB files
# Each gets a manifest DIR/pkg-*.sha256 (`sigsweep package create`, checked equal to coreutils),
# signed with `openssl dgst -sha256 -sign` (DIR/pkg-rsa.pem, RSA-2048), and a hashdeep known-hashes
# file DIR/pkg-*.hashdeep (`hashdeep -c sha256 -r -l .` in the package folder).
# Timed, warm page cache (every file read once before), R runs each (default 5), the three tools
# alternating within every run; reported: medians and ratios (peer time / sigsweep time):
#   sigsweep package verify PKG --manifest PKG.sha256 --key pkg-rsa.pub   (-j = online CPUs)
#   (cd PKG && sha256sum -c --quiet PKG.sha256)
#   (cd PKG && hashdeep -j2 -c sha256 -a -k PKG.hashdeep -r -l .)   (SHA-256 only, as the others)
# Every tool must pass on its package (exit 0) or the run stops. Needs bash, coreutils, bc,
# python3, the openssl CLI and hashdeep (`apt-get install -y hashdeep`).
set -euo pipefail
export LC_ALL=C
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$here")
dir=$root/build/bench-data
runs=5
sigsweep=$root/build/cli/sigsweep
die() { printf 'package_speed.sh: %s\n' "$*" >&2; exit 2; }

while (($#)); do
    case $1 in
        --dir) (($# >= 2)) || die "$1 needs a value"; dir=$2; shift 2 ;;
        --runs) (($# >= 2)) || die "$1 needs a value"; runs=$2; shift 2 ;;
        --sigsweep) (($# >= 2)) || die "$1 needs a value"; sigsweep=$2; shift 2 ;;
        -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "usage: bench/package_speed.sh [--dir DIR] [--runs R] [--sigsweep PATH]" ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
[[ -x $sigsweep ]] || die "build first: $sigsweep not found"
sigsweep=$(cd -- "$(dirname -- "$sigsweep")" && pwd)/${sigsweep##*/}
for t in openssl python3 bc sha256sum; do command -v "$t" >/dev/null || die "$t not found"; done
command -v hashdeep >/dev/null ||
    die "hashdeep not found: install it with 'apt-get install -y hashdeep' (Debian/Ubuntu)"
if "$sigsweep" package 2>&1 | grep -q "unknown command 'package'"; then
    die "$sigsweep has no 'package' command"
fi
cores=$(nproc)

mkdir -p -- "$dir"
cd -- "$dir"
if [[ ! -f pkg-rsa.pem ]]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out pkg-rsa.pem 2>/dev/null
fi
openssl pkey -in pkg-rsa.pem -pubout -out pkg-rsa.pub

# make NAME COUNT SIZE FOLDERS: DIR/NAME with COUNT files of SIZE bytes (distinct contents)
make_pkg() {
    local name=$1 count=$2 size=$3 folders=$4
    if [[ -d $name && $(find "$name" -type f | wc -l) -eq $count && -f $name.sha256.sig &&
          -f $name.hashdeep ]]; then
        return 0
    fi
    printf 'package_speed.sh: making %s (%d x %d bytes)\n' "$name" "$count" "$size" >&2
    rm -rf -- "$name" "$name.sha256" "$name.sha256.sig" "$name.hashdeep"
    python3 - "$name" "$count" "$size" "$folders" <<'PY'
import os, sys
name, count, size, folders = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
pool = os.urandom(size + 4096 * 64)
per = (count + folders - 1) // folders
for i in range(count):
    d = "%s/d%03d" % (name, i // per)
    if i % per == 0:
        os.makedirs(d, exist_ok=True)
    k = (i * 4096) % (4096 * 64)
    with open("%s/f%06d.bin" % (d, i), "wb") as f:
        f.write(pool[k:k + size - 8] + i.to_bytes(8, "little"))
PY
    "$sigsweep" package create "$name" --out "$name.sha256"
    (cd "$name" && find . -type f -print0 | sort -z | sed -z 's|^\./||' | xargs -0 sha256sum) |
        cmp -s - "$name.sha256" || die "sigsweep package create $name differs from coreutils"
    openssl dgst -sha256 -sign pkg-rsa.pem -out "$name.sha256.sig" "$name.sha256"
    (cd "$name" && hashdeep -c sha256 -r -l .) >"$name.hashdeep"
}
make_pkg pkg-small 20000 4096 20
make_pkg pkg-large 64 $((8 << 20)) 1

t_sgs() { "$sigsweep" package verify "$1" --manifest "$1.sha256" --key pkg-rsa.pub; }
t_sha() { (cd "$1" && sha256sum -c --quiet "../$1.sha256"); }
t_hd() { (cd "$1" && hashdeep -j2 -c sha256 -a -k "../$1.hashdeep" -r -l .); }

# Each tool must pass once (also warms the page cache).
for p in pkg-small pkg-large; do
    find "$p" -type f -exec cat {} + >/dev/null
    for t in t_sgs t_sha t_hd; do
        rc=0
        "$t" "$p" >/dev/null 2>"$p.$t.err" || rc=$?
        if ((rc != 0)); then
            tail -n 5 "$p.$t.err" >&2
            die "$t $p failed (exit $rc): timings would be meaningless"
        fi
    done
done

secs() { # command... -> wall seconds (the command must pass)
    local t0 t1
    t0=$EPOCHREALTIME
    "$@" >/dev/null 2>&1 || die "$* failed during timing"
    t1=$EPOCHREALTIME
    echo "$t1 - $t0" | bc -l
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

for p in pkg-small pkg-large; do : >"t.$p.sgs"; : >"t.$p.sha"; : >"t.$p.hd"; done
for _ in $(seq 1 "$runs"); do
    for p in pkg-small pkg-large; do
        secs t_sgs "$p" >>"t.$p.sgs"
        secs t_sha "$p" >>"t.$p.sha"
        secs t_hd "$p" >>"t.$p.hd"
    done
done

printf '## sigsweep package verify (%s, %s cores, %s, warm page cache, median of %s)\n\n' \
    "$(date -u +%F)" "$cores" "$(lscpu | sed -n 's/^Model name: *//p' | head -n1)" "$runs"
printf '| package | sigsweep package verify | sha256sum -c | hashdeep -j2 -a (sha256) | vs sha256sum -c (target 2.5x) | vs hashdeep (target 2x) |\n'
printf '|---|---|---|---|---|---|\n'
for p in pkg-small pkg-large; do
    s=$(median <"t.$p.sgs"); c=$(median <"t.$p.sha"); h=$(median <"t.$p.hd")
    case $p in
        pkg-small) label='20,000 x 4 KiB' ;;
        pkg-large) label='64 x 8 MiB' ;;
    esac
    r1=$(echo "$c / $s" | bc -l); r2=$(echo "$h / $s" | bc -l)
    ok1=$(echo "$r1 >= 2.5" | bc -l); ok2=$(echo "$r2 >= 2" | bc -l)
    printf '| %s | %.3f s | %.3f s | %.3f s | %.1fx %s | %.1fx %s |\n' "$label" "$s" "$c" "$h" \
        "$r1" "$( ((ok1)) && echo ok || echo MISSED)" "$r2" "$( ((ok2)) && echo ok || echo MISSED)"
done
