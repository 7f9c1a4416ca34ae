#!/usr/bin/env bash
# bench/compare/run.sh - sigsweep next to the tools its users would use instead, end to end, on
# a fixed workload, all in the same run (issue 7).
#
#   bench/compare/run.sh [--runs N] [--out DIR] [--cache auto|cold|warm|both] [--sigsweep PATH]
#                        [--large N] [--small N] [--mixed N] [--sample N]
#
# Workloads (gen.py: deterministic content, the same bytes on every machine), kept in
# OUT/data and reused while their spec is unchanged:
#   large  16 x 64 MiB                        (--large N changes the count)
#   small  20,000 x 4 KiB                     (--small N)
#   mixed  3,000 files, log-uniform 1 KiB - 8 MiB, 64 folders (--mixed N)
# Each workload is a tree W/files, a sha256sum-format manifest of it made by `sigsweep package
# create` and signed by `sigsweep package sign` (RSA-2048), a BLAKE3 manifest (b3sum), a
# hashdeep known-hashes file, and W/signed: hard links to the same files (same inodes, same
# page cache) plus one RSA-2048 PKCS#1 v1.5 signature F.sig per file by `sigsweep sign`.
#
# Audits timed, peers using every core where they can (P = nproc):
#   hash only:  sigsweep package verify W/files --manifest ... --key ...   (baseline)
#               sha256sum -c --quiet (single-threaded by design)
#               hashdeep -jP -c sha256 -a -k known -r -l .
#               b3sum --check --quiet: BLAKE3, a different hash, the reference for
#               multithreaded hashing (it threads inside a file, not across files)
#   signature:  sigsweep verify -q --key rsa.pub W/signed                  (baseline)
#               openssl dgst -sha256 -verify, one process per file, xargs -PP; on the small
#               workload over a fixed sample (every k-th file, --sample N, default 2,000) and
#               extrapolated to the whole set; on large and mixed over every file.
# Page cache: --cache auto (default) = both cold and warm when dropping the cache works (root,
# `echo 3 > /proc/sys/vm/drop_caches`, checked with fincore on a probe file), else warm only.
# Cold: sync + drop before every timed command (each workload is read once before its tools,
# so that on a VM the host's cache of the virtual disk is the same for every tool). Warm: every
# file read once before the runs.
# Each run times every tool on every workload (A B A B ...); medians of N runs (default 5).
# Every tool must pass (exit 0) every time, or the script stops.
#
# Output: a Markdown table on stdout (ratios = peer median / sigsweep median, so 3.0x means the
# peer took three times as long), OUT/results.json (date, CPU, cores, tool versions, commands,
# every raw timing), OUT/results.md, OUT/raw.tsv. Needs bash, coreutils, python3, the openssl
# CLI, hashdeep and b3sum (root: installed with apt-get when missing; otherwise skipped, said).
set -euo pipefail
export LC_ALL=C
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$here/../.." && pwd)
runs=5
out=$root/build/bench-compare
cache=auto
sigsweep=$root/build/cli/sigsweep
n_large=16 n_small=20000 n_mixed=3000 sample=2000
die() { printf 'run.sh: %s\n' "$*" >&2; exit 2; }
note() { printf 'run.sh: %s\n' "$*" >&2; }
usage="usage: bench/compare/run.sh [--runs N] [--out DIR] [--cache auto|cold|warm|both] [--sigsweep PATH] [--large N] [--small N] [--mixed N] [--sample N]"

while (($#)); do
    case $1 in
        --runs|--out|--cache|--sigsweep|--large|--small|--mixed|--sample)
            (($# >= 2)) || die "$1 needs a value"
            case $1 in
                --runs) runs=$2 ;; --out) out=$2 ;; --cache) cache=$2 ;; --sigsweep) sigsweep=$2 ;;
                --large) n_large=$2 ;; --small) n_small=$2 ;; --mixed) n_mixed=$2 ;; --sample) sample=$2 ;;
            esac
            shift 2 ;;
        -h|--help) sed -n '2,39p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "$usage" ;;
    esac
done
for v in "$runs" "$n_large" "$n_small" "$n_mixed" "$sample"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || die "counts must be positive integers: $v"
done
[[ $cache =~ ^(auto|cold|warm|both)$ ]] || die "--cache: auto, cold, warm or both"
[[ -x $sigsweep ]] || die "build first (cmake --build build -j2): $sigsweep not found"
sigsweep=$(cd -- "$(dirname -- "$sigsweep")" && pwd)/${sigsweep##*/}
for t in python3 openssl sha256sum xargs; do command -v "$t" >/dev/null || die "$t not found"; done
cores=$(nproc)
t_start=$SECONDS

mkdir -p -- "$out/data"
out=$(cd -- "$out" && pwd)
data=$out/data
notes=$out/notes.txt
: >"$notes"
say() { printf '%s\n' "$*" | tee -a "$notes" >&2; } # a note that also goes into the report

# Peers that may be missing: install them when root, otherwise skip them and say so.
have_peer() { # tool package
    command -v "$1" >/dev/null && return 0
    if ((EUID == 0)) && command -v apt-get >/dev/null; then
        note "$1 missing: apt-get install -y $2"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null 2>&1 || true
        command -v "$1" >/dev/null && return 0
    fi
    local pol
    pol=$(apt-cache policy "$2" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n1)
    say "$1 not installed (Debian package $2, candidate: ${pol:-none}); its rows are skipped"
    return 1
}
use_hd=0 use_b3=0
have_peer hashdeep hashdeep && use_hd=1
have_peer b3sum b3sum && use_b3=1

# ---- page cache: can we drop it? ----
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
drop_works() {
    local probe=$data/.drop-probe res
    head -c $((32 << 20)) /dev/zero >"$probe"
    cat "$probe" >/dev/null
    if ! (drop) 2>/dev/null; then rm -f "$probe"; return 1; fi
    if command -v fincore >/dev/null; then
        res=$(fincore --bytes --noheadings --output RES "$probe" 2>/dev/null | tr -d ' ')
        rm -f "$probe"
        [[ $res == 0 ]]
    else
        rm -f "$probe" # the write was accepted; nothing to check it with
        say "fincore (util-linux) missing: dropping the page cache was accepted but not checked"
    fi
}
modes=()
case $cache in
    warm) modes=(warm) ;;
    cold|both|auto)
        if drop_works; then
            [[ $cache == both || $cache == auto ]] && modes=(cold warm) || modes=(cold)
        elif [[ $cache == auto ]]; then
            say "the page cache cannot be dropped here (not root, or /proc/sys read-only in a container): warm only"
            modes=(warm)
        else
            die "--cache $cache: the page cache cannot be dropped here (needs root and a writable /proc/sys/vm/drop_caches)"
        fi ;;
esac
hv=$(lscpu 2>/dev/null | sed -n 's/^Hypervisor vendor: *//p' | head -n1)
if [[ ${modes[0]} == cold && -n $hv ]]; then
    say "virtual machine ($hv): cold = the guest's page cache dropped before every timed command; the host may still cache the virtual disk, so each workload is read once before its tools and every tool sees the same host cache: cold here means read through the hypervisor, not from the physical disk"
fi

# ---- workloads ----
cd -- "$data"
if [[ ! -f rsa.pem || ! -f rsa.pub ]]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
    openssl pkey -in rsa.pem -pubout -out rsa.pub
fi
keyfp=$(sha256sum <rsa.pub | cut -c1-16)
: >"$out/workloads.tsv"
build() { # W COUNT
    local w=$1 count=$2 spec step
    spec="gen.py-v1 $w $count key=$keyfp sample=$sample b3=$use_b3 hd=$use_hd"
    if [[ ! -f $w/stamp || $(<"$w/stamp") != "$spec" ]]; then
        note "making workload $w ($count files)"
        rm -rf -- "$w"
        mkdir -p -- "$w"
        python3 "$here/gen.py" "$w" "$w/files" "$count" >"$w/size"
        "$sigsweep" package create "$w/files" --out "$w/manifest.sha256" >/dev/null
        "$sigsweep" package sign --key rsa.pem "$w/manifest.sha256" >/dev/null 2>>"$w/build.log"
        sed 's/^[0-9a-f]*  //' "$w/manifest.sha256" >"$w/list"
        if ((use_b3)); then (cd "$w/files" && xargs -d '\n' b3sum <../list >../manifest.b3); fi
        if ((use_hd)); then (cd "$w/files" && hashdeep -c sha256 -r -l . >../known.hashdeep); fi
        cp -al -- "$w/files" "$w/signed"
        "$sigsweep" sign -q --key rsa.pem "$w/signed" >/dev/null 2>>"$w/build.log"
        step=1
        [[ $w == small ]] && ((count > sample)) && step=$(((count + sample - 1) / sample))
        awk -v k="$step" '(NR - 1) % k == 0 { print "signed/" $0 }' "$w/list" >"$w/peer.list"
        printf '%s\n' "$spec" >"$w/stamp"
    fi
    [[ -f $w/manifest.b3 ]] || use_b3=0
    [[ -f $w/known.hashdeep ]] || use_hd=0
    local files bytes pfiles pbytes fp
    read -r files bytes <"$w/size"
    pfiles=$(wc -l <"$w/peer.list")
    pbytes=$(cd "$w" && xargs -d '\n' stat -c %s <peer.list | awk '{s += $1} END {printf "%.0f\n", s}')
    fp=$(sha256sum <"$w/manifest.sha256" | cut -d' ' -f1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$files" "$bytes" "$pfiles" "$pbytes" "$fp" >>"$out/workloads.tsv"
}
build large "$n_large"
build small "$n_small"
build mixed "$n_mixed"
workloads=(large small mixed)

# ---- tools: id, command (run in OUT/data/W) ----
tools=(sgs_pkg sha)
((use_hd)) && tools+=(hd)
((use_b3)) && tools+=(b3)
tools+=(sgs_verify ossl)
declare -A cmd=(
    [sgs_pkg]="$sigsweep package verify files --manifest manifest.sha256 --key ../rsa.pub"
    [sha]="cd files && sha256sum -c --quiet ../manifest.sha256"
    [hd]="cd files && hashdeep -j$cores -c sha256 -a -k ../known.hashdeep -r -l ."
    [b3]="cd files && b3sum --check --quiet ../manifest.b3"
    [sgs_verify]="$sigsweep verify -q --key ../rsa.pub signed"
    [ossl]="xargs -P$cores -I{} openssl dgst -sha256 -verify ../rsa.pub -signature {}.sig {} <peer.list"
)
: >"$out/commands.tsv"
for t in "${tools[@]}"; do printf '%s\t%s\n' "$t" "${cmd[$t]}" >>"$out/commands.tsv"; done

err=$out/last.err
run_one() { # W TOOL -> seconds on stdout; the command must pass
    local t0 t1 rc=0
    t0=$EPOCHREALTIME
    (cd -- "$data/$1" && eval "${cmd[$2]}") >/dev/null 2>"$err" || rc=$?
    t1=$EPOCHREALTIME
    if ((rc != 0)); then
        tail -n 5 "$err" >&2
        die "$2 on $1 failed (exit $rc): timings would be meaningless. Command (in $data/$1): ${cmd[$2]}"
    fi
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }'
}

# Every tool passes once on every workload before anything is timed.
for w in "${workloads[@]}"; do
    for t in "${tools[@]}"; do run_one "$w" "$t" >/dev/null; done
done

raw=$out/raw.tsv
: >"$raw"
for mode in "${modes[@]}"; do
    if [[ $mode == warm ]]; then
        for w in "${workloads[@]}"; do find "$w" -type f -exec cat {} + >/dev/null; done
    fi
    for r in $(seq 1 "$runs"); do
        note "$mode page cache, run $r of $runs ($((SECONDS - t_start)) s so far)"
        for w in "${workloads[@]}"; do
            # Cold: read the workload once, then drop the page cache before every tool. On a
            # virtual machine the host's cache of the virtual disk then holds the workload for
            # every tool alike; without this the first tool after another workload pays for
            # the host's misses and the later ones do not (measured: +40 % on the mixed set).
            [[ $mode == cold ]] && find "$w" -type f -exec cat {} + >/dev/null
            for t in "${tools[@]}"; do
                [[ $mode == cold ]] && drop
                printf '%s\t%s\t%s\t%s\t%s\n' "$mode" "$w" "$t" "$r" "$(run_one "$w" "$t")" >>"$raw"
            done
        done
    done
done

# ---- report ----
{
    printf 'date\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf 'cpu\t%s\n' "$(lscpu | sed -n 's/^Model name: *//p' | head -n1)"
    printf 'cores\t%s\n' "$cores"
    printf 'hypervisor\t%s\n' "${hv:-none}"
    printf 'kernel\t%s\n' "$(uname -sr)"
    printf 'runs\t%s\n' "$runs"
    printf 'modes\t%s\n' "${modes[*]}"
    printf 'sample\t%s\n' "$sample"
    printf 'data\t%s\n' "$data"
    printf 'ver_sigsweep\t%s\n' "$("$sigsweep" --version 2>&1 | head -n1)"
    printf 'ver_sha256sum\t%s\n' "$(sha256sum --version | head -n1)"
    ((use_hd)) && printf 'ver_hashdeep\t%s\n' "$(hashdeep -V 2>&1 | head -n1)"
    ((use_b3)) && printf 'ver_b3sum\t%s\n' "$(b3sum --version | head -n1)"
    printf 'ver_openssl\t%s\n' "$(openssl version)"
    printf 'elapsed\t%s\n' "$((SECONDS - t_start))"
} >"$out/meta.tsv"
python3 "$here/report.py" "$out" | tee "$out/results.md"
note "results: $out/results.md, $out/results.json ($((SECONDS - t_start)) s)"
