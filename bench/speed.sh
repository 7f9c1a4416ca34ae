#!/usr/bin/env bash
# bench/speed.sh - end-to-end speed of `sigsweep verify` next to its peers, in the same run.
#
#   bench/speed.sh [--dir DIR] [--small N] [--large N] [--runs R] [--sigsweep PATH] [--baseline PATH]
#
# Workloads (files in the page cache, i.e. warm: the files were just written and are read once
# before timing):
#   large: N x 32 MiB random files, each with an RSA-2048 PKCS#1 v1.5 SHA-256 signature;
#          peers: `sha256sum` over the same files (hash only) and `openssl speed -evp sha256`
#          (the single-core SHA-256 limit, x the core count = the machine's limit).
#   small: N x 4 KiB files, each with its own RSA-2048 signature;
#          peer: `openssl dgst -sha256 -verify` once per file via `xargs -P$(nproc)` over the
#          first 2,000 files (what a shell script would do).
#   cms:   20,000 x 4 KiB files, each with a detached CMS signature (signed attributes, leaf and
#          intermediate embedded) by one RSA-2048 code-signing certificate under root ->
#          intermediate; verified with --trust root --purpose codesign;
#          peer: `openssl cms -verify -binary -purpose any` once per file via xargs over 1,000.
# Each timing alternates sigsweep and peer (A B A B ...), R runs each, and reports medians and
# ratios: absolute times on a shared machine are noise, ratios measured side by side are not.
# Peak RSS of the small run is reported from GNU time.
# --baseline PATH: another sigsweep binary (e.g. a build of the commit before a change) timed on
# every workload in the same runs, alternating with this one (A B A B ...): a table of this
# build's medians against the baseline's, as ratios (> 1: this build is faster).
set -euo pipefail
export LC_ALL=C
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$here")
. "$here/common.sh"
dir=$root/build/bench-data
small=100000
large=24
runs=5
sigsweep=$root/build/cli/sigsweep
baseline=

while (($#)); do
  case $1 in
    --dir) dir=$2; shift 2 ;;
    --small) small=$2; shift 2 ;;
    --large) large=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --sigsweep) sigsweep=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    *) echo "usage: bench/speed.sh [--dir DIR] [--small N] [--large N] [--runs R] [--sigsweep PATH] [--baseline PATH]" >&2; exit 2 ;;
  esac
done
[ -x "$sigsweep" ] || { echo "speed.sh: build first: $sigsweep not found" >&2; exit 2; }
[ -z "$baseline" ] || [ -x "$baseline" ] || { echo "speed.sh: --baseline $baseline: not an executable" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "speed.sh: needs GNU time (apt-get install time)" >&2; exit 2; }
cores=$(nproc)

mkdir -p "$dir"
cd "$dir"
[ -f rsa.pem ] || { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
                    openssl pkey -in rsa.pem -pubout -out rsa.pub; }
if [ "$(find large -name '*.bin' 2>/dev/null | wc -l)" -ne "$large" ]; then
  rm -rf large; mkdir large
  for i in $(seq 1 "$large"); do head -c $((32 << 20)) /dev/urandom > "large/f$i.bin"; done
  "$sigsweep" sign -q --key rsa.pem large >/dev/null
fi
if [ "$(find small -name '*.bin' 2>/dev/null | wc -l)" -ne "$small" ]; then
  rm -rf small; mkdir small
  python3 - "$small" <<'PY'
import os, sys
n = int(sys.argv[1])
pool = os.urandom(4096 * 256)
for i in range(n):
    d = f"small/d{i // 1000:04d}"
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
    k = i % 256
    with open(f"{d}/f{i:07d}.bin", "wb") as f:
        f.write(pool[k * 4096:k * 4096 + 4088] + i.to_bytes(8, "little"))
PY
  "$sigsweep" sign -q --key rsa.pem small >/dev/null
fi
if [ ! -f pki/leaf.pem ]; then
  rm -rf pki; mkdir pki
  openssl req -x509 -newkey rsa:2048 -nodes -keyout pki/root.key -out pki/root.pem -days 3650 \
    -subj "/O=sigsweep bench/CN=Bench Root" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n' > pki/ca.ext
  printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' > pki/leaf.ext
  openssl req -newkey rsa:2048 -nodes -keyout pki/int.key -out pki/int.csr \
    -subj "/O=sigsweep bench/CN=Bench Intermediate" 2>/dev/null
  openssl x509 -req -in pki/int.csr -CA pki/root.pem -CAkey pki/root.key -CAcreateserial \
    -days 3000 -extfile pki/ca.ext -out pki/int.pem 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout pki/leaf.key -out pki/leaf.csr \
    -subj "/O=sigsweep bench/CN=Bench Code Signing" 2>/dev/null
  openssl x509 -req -in pki/leaf.csr -CA pki/int.pem -CAkey pki/int.key -CAcreateserial \
    -days 1000 -extfile pki/leaf.ext -out pki/leaf.pem 2>/dev/null
  rm -rf cms
fi
if [ "$(find cms -name '*.bin' 2>/dev/null | wc -l)" -ne 20000 ]; then
  rm -rf cms; mkdir cms
  python3 - <<'PY'
import os
pool = os.urandom(4096 * 256)
for i in range(20000):
    d = f"cms/d{i // 1000:02d}"
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
    k = i % 256
    with open(f"{d}/f{i:05d}.bin", "wb") as f:
        f.write(pool[k * 4096:k * 4096 + 4088] + i.to_bytes(8, "little"))
PY
  "$sigsweep" sign -q --key pki/leaf.key --cert pki/leaf.pem --certfile pki/int.pem cms >/dev/null
fi
find cms -name 'f*.bin' | sort | sed -n '1,1000p' > peer-cms.txt
find small -name 'f*.bin' | sort | sed -n '1,2000p' > peer-list.txt
find large small cms -type f -exec cat {} + >/dev/null # warm the page cache

secs() { # command... -> wall seconds
  local t0 t1
  t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1 || true; t1=$EPOCHREALTIME
  echo "$t1 - $t0" | bc -l
}
peer_verify() { xargs -P "$cores" -I{} openssl dgst -sha256 -verify rsa.pub -signature {}.sig {} < peer-list.txt; }
peer_cms() { xargs -P "$cores" -I{} openssl cms -verify -binary -inform DER -in {}.p7s -content {} \
               -CAfile pki/root.pem -purpose any -out /dev/null < peer-cms.txt; }

large_bytes=$(cat large/*.bin | wc -c)
: > t.sgs_large; : > t.sha; : > t.sgs_small; : > t.peer; : > t.sgs_cms; : > t.peer_cms
: > t.base_large; : > t.base_small; : > t.base_cms
for _ in $(seq 1 "$runs"); do
  secs "$sigsweep" verify -q --key rsa.pub large >> t.sgs_large
  [ -z "$baseline" ] || secs "$baseline" verify -q --key rsa.pub large >> t.base_large
  secs sha256sum large/*.bin >> t.sha
  secs "$sigsweep" verify -q --key rsa.pub small >> t.sgs_small
  [ -z "$baseline" ] || secs "$baseline" verify -q --key rsa.pub small >> t.base_small
  secs peer_verify >> t.peer
  secs "$sigsweep" verify -q --trust pki/root.pem --purpose codesign cms >> t.sgs_cms
  [ -z "$baseline" ] || secs "$baseline" verify -q --trust pki/root.pem --purpose codesign cms >> t.base_cms
  secs peer_cms >> t.peer_cms
done
sha_core=$(openssl speed -evp sha256 -bytes 16384 -seconds 2 2>/dev/null | awk '/^sha256/ {print $NF}' | tr -d k)
rss=$(/usr/bin/time -f %M "$sigsweep" verify -q --key rsa.pub small 2>&1 >/dev/null | tail -n 1)

m_cms=$(median < t.sgs_cms); m_pcms=$(median < t.peer_cms)
m_sl=$(median < t.sgs_large); m_sha=$(median < t.sha); m_ss=$(median < t.sgs_small); m_peer=$(median < t.peer)
gbs=$(echo "$large_bytes / $m_sl / 1000000000" | bc -l)
limit=$(echo "$sha_core * 1000 * $cores / 1000000000" | bc -l)
fps=$(echo "$small / $m_ss" | bc -l)
peer_fps=$(echo "2000 / $m_peer" | bc -l)
printf '## sigsweep speed (%s, %s cores, %s, warm page cache, median of %s)\n\n' \
  "$(date -u +%F)" "$cores" "$(lscpu | sed -n 's/^Model name: *//p' | head -n1)" "$runs"
printf '| workload | sigsweep | peer | ratio |\n|---|---|---|---|\n'
printf '| %d x 32 MiB, RSA-2048 | %.2f GB/s | sha256sum %.2f GB/s (hash only) | %.1fx |\n' \
  "$large" "$gbs" "$(echo "$large_bytes / $m_sha / 1000000000" | bc -l)" "$(echo "$m_sha / $m_sl" | bc -l)"
printf '| same | %.2f GB/s | SHA-256 limit %.2f GB/s (openssl speed x %d cores) | %.0f%% of limit |\n' \
  "$gbs" "$limit" "$cores" "$(echo "100 * $gbs / $limit" | bc -l)"
printf '| %d x 4 KiB, RSA-2048 each | %.0f files/s | openssl dgst -verify per file, xargs -P%d: %.0f files/s | %.0fx |\n' \
  "$small" "$fps" "$cores" "$peer_fps" "$(echo "$fps / $peer_fps" | bc -l)"
cms_fps=$(echo "20000 / $m_cms" | bc -l)
peer_cms_fps=$(echo "1000 / $m_pcms" | bc -l)
printf '| 20000 x 4 KiB, CMS (RSA-2048 leaf under root -> intermediate), --purpose codesign | %.0f files/s | openssl cms -verify per file, xargs -P%d: %.0f files/s | %.0fx |\n' \
  "$cms_fps" "$cores" "$peer_cms_fps" "$(echo "$cms_fps / $peer_cms_fps" | bc -l)"
printf '\npeak RSS, %d small files: %d KiB\n' "$small" "$rss"
[ -z "$baseline" ] || baseline_table "$baseline" large small cms
