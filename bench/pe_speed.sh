#!/usr/bin/env bash
# bench/pe_speed.sh - end-to-end speed of `sigsweep verify` on Authenticode-signed PE files,
# next to osslsigncode and the machine's SHA-256 limit, in the same run.
#
#   bench/pe_speed.sh [--runs R] [--sigsweep PATH] [--files N] [--baseline PATH]
#
# Data (build/bench-data/pe/, made once and reused while complete; setup is not timed):
#   pki/     corpus/pe.sh's output: root.pem, chain-leaf.pem (leaf + intermediate),
#            keys/leaf.key and build/hello.exe (x86_64-w64-mingw32-gcc -O2 -s)
#   small/   N (default 1,000) signed copies of hello.exe, each with its own 32-byte overlay
#            appended before signing (so every image hash differs), ~18 KiB each
#   large/   8 signed copies of hello.exe with a 64 MiB random overlay appended before
#            signing (the overlay is covered by the flat image hash)
#   All are signed `osslsigncode sign -certs chain-leaf.pem -key keys/leaf.key -h sha256`
#   (xargs -P$(nproc)); the stamps small.ok/large.ok name N and root.pem's SHA-256.
# Timings (warm page cache: every file is read once before timing), R runs each, alternating
# tools (A B A B ...), medians reported:
#   small: `sigsweep verify -q --trust root.pem small` vs `osslsigncode verify -CAfile root.pem
#          -ignore-crl -in F` once per file via `xargs -P$(nproc)`: files/s and the ratio.
#   large: sigsweep on the 8 x 64 MiB files (GB/s) vs the SHA-256 limit measured in the same
#          run, `openssl speed -evp sha256 -bytes 16384 -seconds 2` on 1 core and with -multi
#          $(nproc) (kB/s of the 16,384-byte column -> GB/s); and osslsigncode per file via
#          xargs on the same files.
# --baseline PATH: another sigsweep binary timed on the same workloads in the same runs,
# alternating with this one; a table of medians and ratios (baseline time / this time).
# Correctness (before timing, and every timed run): sigsweep --format jsonl must report one
# VALID authenticode record per file and nothing else; every timed sigsweep run must exit 0;
# osslsigncode must exit 0 on every file. Anything else stops the script (exit 1).
set -euo pipefail
export LC_ALL=C
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$here")
. "$here/common.sh"
runs=5
nfiles=1000
nlarge=8
large_mib=64
sigsweep=$root/build/cli/sigsweep
baseline=
usage() { echo "usage: bench/pe_speed.sh [--runs R] [--sigsweep PATH] [--files N] [--baseline PATH]" >&2; exit 2; }
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --sigsweep) sigsweep=$2; shift 2 ;;
    --files) nfiles=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ && $nfiles =~ ^[1-9][0-9]*$ ]] || usage
die() { printf 'pe_speed.sh: %s\n' "$*" >&2; exit 1; }
[ -x "$sigsweep" ] || { echo "pe_speed.sh: build first: $sigsweep not found" >&2; exit 2; }
sigsweep=$(cd -- "$(dirname -- "$sigsweep")" && pwd)/$(basename -- "$sigsweep")
if [ -n "$baseline" ]; then
  [ -x "$baseline" ] || { echo "pe_speed.sh: --baseline $baseline: not an executable" >&2; exit 2; }
  baseline=$(cd -- "$(dirname -- "$baseline")" && pwd)/$(basename -- "$baseline")
fi
for t in osslsigncode openssl x86_64-w64-mingw32-gcc python3 bc; do
  command -v "$t" >/dev/null || { echo "pe_speed.sh: $t not found" >&2; exit 2; }
done
osslsigncode --help 2>&1 | grep -q -- '-ignore-crl' ||
  { echo "pe_speed.sh: osslsigncode has no verify -ignore-crl (2.9+ needed)" >&2; exit 2; }
cores=$(nproc)
t_start=$EPOCHREALTIME

# ---------------------------------------------------------------------------------------------
# Setup
dir=$root/build/bench-data/pe
mkdir -p "$dir"
cd "$dir"
if ! grep -qx 'state=complete' pki/.sgs-pe 2>/dev/null; then
  rm -f small.ok large.ok
  "$root/corpus/pe.sh" "$dir/pki" 2>/dev/null || die "corpus/pe.sh $dir/pki failed (run it by hand)"
fi
for f in pki/root.pem pki/chain-leaf.pem pki/keys/leaf.key pki/build/hello.exe; do
  [ -f "$f" ] || die "corpus/pe.sh did not write $dir/$f"
done
pki_id=$(sha256sum < pki/root.pem | cut -c1-64)
export OSSL_CHAIN=$dir/pki/chain-leaf.pem OSSL_KEY=$dir/pki/keys/leaf.key
# sign_all UNSIGNED_DIR SIGNED_DIR: every *.exe, in parallel; the unsigned copies are removed
sign_all() {
  find "$1" -name '*.exe' -printf '%f\n' | sort |
    xargs -P "$cores" -n 16 sh -c 'u=$1; s=$2; shift 2; for f; do
      osslsigncode sign -certs "$OSSL_CHAIN" -key "$OSSL_KEY" -h sha256 \
        -in "$u/$f" -out "$s/$f" >/dev/null 2>"$s/$f.err" || { cat "$s/$f.err" >&2; exit 255; }
      rm -f "$s/$f.err" "$u/$f"; done' sh "$1" "$2" || die "osslsigncode sign failed in $2"
}
if [ "$(cat small.ok 2>/dev/null)" != "$nfiles $pki_id" ]; then
  echo "pe_speed.sh: making $nfiles small signed PE files in $dir/small" >&2
  rm -rf small small.tmp small.ok; mkdir small small.tmp
  python3 - "$nfiles" pki/build/hello.exe small.tmp <<'PY'
import sys
n, src, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
img = open(src, "rb").read()
for i in range(n):
    with open(f"{out}/f{i:06d}.exe", "wb") as f:
        f.write(img + b"sigsweep bench overlay %08d\n" % i)
PY
  sign_all small.tmp small
  rmdir small.tmp
  [ "$(find small -type f | wc -l)" -eq "$nfiles" ] || die "small: not $nfiles files"
  echo "$nfiles $pki_id" > small.ok
fi
if [ "$(cat large.ok 2>/dev/null)" != "$nlarge x $large_mib MiB $pki_id" ]; then
  echo "pe_speed.sh: making $nlarge x $large_mib MiB signed PE files in $dir/large" >&2
  rm -rf large large.tmp large.ok; mkdir large large.tmp
  for i in $(seq 1 "$nlarge"); do
    { cat pki/build/hello.exe; head -c $((large_mib << 20)) /dev/urandom; } > "large.tmp/l$i.exe"
  done
  sign_all large.tmp large
  rmdir large.tmp
  [ "$(find large -type f | wc -l)" -eq "$nlarge" ] || die "large: not $nlarge files"
  echo "$nlarge x $large_mib MiB $pki_id" > large.ok
fi
cp pki/root.pem root.pem
find small -type f | sort > peer-small.txt
find large -type f | sort > peer-large.txt
t_setup=$EPOCHREALTIME

# ---------------------------------------------------------------------------------------------
# Correctness (untimed; also warms the page cache and the binaries)
find small large -type f -exec cat {} + > /dev/null
# check_jsonl DIR N: sigsweep's jsonl has exactly N records, all VALID authenticode
check_jsonl() {
  local out rc=0 n valid
  out=$("$sigsweep" verify -q --format jsonl --trust root.pem "$1" 2>/dev/null) || rc=$?
  n=$(printf '%s\n' "$out" | grep -c '"verdict":' || true)
  valid=$(printf '%s\n' "$out" | grep -c '"verdict":"VALID".*"format":"authenticode"' || true)
  [ "$rc" -eq 0 ] && [ "$n" -eq "$2" ] && [ "$valid" -eq "$2" ] || {
    printf '%s\n' "$out" | grep -v '"verdict":"VALID"' | head -n 5 >&2
    die "sigsweep on $1: exit $rc, $n records, $valid VALID authenticode; want $2 VALID"
  }
}
check_jsonl small "$nfiles"
check_jsonl large "$nlarge"

# ---------------------------------------------------------------------------------------------
# Timing
sgs() { "$sigsweep" verify -q --trust root.pem "$1"; }
base() { "$baseline" verify -q --trust root.pem "$1"; }
# peer LIST: osslsigncode verify once per file; xargs exits non-zero if any one fails
peer() { xargs -P "$cores" -I{} osslsigncode verify -CAfile root.pem -ignore-crl -in {} < "$1"; }
# shaspeed NAME [-multi K]: kB/s of the 16,384-byte column -> t.NAME
shaspeed() {
  local name=$1 v
  shift
  v=$(openssl speed -evp sha256 -bytes 16384 -seconds 2 "$@" 2>/dev/null | awk '/^sha256/ {print $NF}' | tr -d k)
  [[ $v =~ ^[0-9.]+$ ]] || die "openssl speed $*: no sha256 figure"
  echo "$v" >> "t.$name"
}
for n in sgs_small peer_small sgs_large peer_large sha1 shaN sgs_warm base_small base_large base_warm; do : > "t.$n"; done
# the nightly re-audit: a persistent cache filled by one run (files older than its 2 s racy
# window), then timed warm runs
rm -rf cache-pe
sleep 2.2
"$sigsweep" verify -q --trust root.pem --cache-dir cache-pe small > /dev/null
if [ -n "$baseline" ]; then
  rm -rf cache-pe-base
  "$baseline" verify -q --trust root.pem --cache-dir cache-pe-base small > /dev/null
fi
for _ in $(seq 1 "$runs"); do
  secs sgs_warm "$sigsweep" verify -q --trust root.pem --cache-dir cache-pe small
  [ -z "$baseline" ] || secs base_warm "$baseline" verify -q --trust root.pem --cache-dir cache-pe-base small
  secs sgs_small sgs small
  [ -z "$baseline" ] || secs base_small base small
  secs peer_small peer peer-small.txt
  secs sgs_large sgs large
  [ -z "$baseline" ] || secs base_large base large
  secs peer_large peer peer-large.txt
  shaspeed sha1
  shaspeed shaN -multi "$cores"
done
t_end=$EPOCHREALTIME

# ---------------------------------------------------------------------------------------------
# Report
large_bytes=$(cat large/*.exe | wc -c)
small_bytes=$(cat small/*.exe | wc -c)
m_ss=$(median < t.sgs_small); m_ps=$(median < t.peer_small)
m_sl=$(median < t.sgs_large); m_pl=$(median < t.peer_large); m_sw=$(median < t.sgs_warm)
sha1=$(echo "$(median < t.sha1) * 1000 / 1000000000" | bc -l)
shaN=$(echo "$(median < t.shaN) * 1000 / 1000000000" | bc -l)
c() { echo "$*" | bc -l; }
fps=$(c "$nfiles / $m_ss"); pfps=$(c "$nfiles / $m_ps")
gbs=$(c "$large_bytes / $m_sl / 1000000000"); pgbs=$(c "$large_bytes / $m_pl / 1000000000")
printf '## sigsweep PE (Authenticode) speed (%s, %s cores, %s, warm page cache, median of %s)\n\n' \
  "$(date -u +%F)" "$cores" "$(lscpu | sed -n 's/^Model name: *//p' | head -n1)" "$runs"
printf '| workload | sigsweep | peer | ratio |\n|---|---|---|---|\n'
printf '| %d small PE (%.0f KiB avg), RSA-2048 leaf <- intermediate <- root | %.0f files/s (%.3f s) | osslsigncode verify per file, xargs -P%d: %.0f files/s (%.2f s) | %.1fx (target >= 50x) |\n' \
  "$nfiles" "$(c "$small_bytes / $nfiles / 1024")" "$fps" "$m_ss" "$cores" "$pfps" "$m_ps" "$(c "$fps / $pfps")"
printf '| same, warm persistent cache (--cache-dir, nothing changed) | %.0f files/s (%.3f s) | same | %.1fx |\n' \
  "$(c "$nfiles / $m_sw")" "$m_sw" "$(c "$m_ps / $m_sw")"
printf '| %d x %d MiB PE (overlay), same signer | %.2f GB/s (%.3f s) | SHA-256 limit: openssl speed -multi %d: %.2f GB/s (1 core: %.2f GB/s) | %.0f%% of limit (target >= 90%%) |\n' \
  "$nlarge" "$large_mib" "$gbs" "$m_sl" "$cores" "$shaN" "$sha1" "$(c "100 * $gbs / $shaN")"
printf '| same | %.2f GB/s | osslsigncode verify per file, xargs -P%d: %.2f GB/s (%.2f s) | %.1fx |\n' \
  "$gbs" "$cores" "$pgbs" "$m_pl" "$(c "$gbs / $pgbs")"
printf '\nall %d + %d files VALID (sigsweep jsonl) and accepted by osslsigncode (rc 0); setup %.0f s, checks + timing %.0f s\n' \
  "$nfiles" "$nlarge" "$(c "$t_setup - $t_start")" "$(c "$t_end - $t_setup")"
[ -z "$baseline" ] || baseline_table "$baseline" small warm large
