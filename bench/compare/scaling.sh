#!/usr/bin/env bash
# bench/compare/scaling.sh - sigsweep's throughput against thread count, and its peak memory
# against file count (issue 7).
#
#   bench/compare/scaling.sh [--runs N] [--out DIR] [--files N] [--threads "1 2 3 4"]
#                            [--keep] [--sigsweep PATH]
#
# 1. Threads: `sigsweep verify -q -j J --key rsa.pub W/signed` on run.sh's 4 KiB set (small)
#    and large set, J = 1..4 alternating within every run, warm page cache, median of N runs
#    (default 5). Needs OUT/data from bench/compare/run.sh (same --out; default
#    build/bench-compare).
# 2. Memory: peak RSS (GNU time %M) of `sigsweep verify` and of `sigsweep package verify`
#    against file count: 1 %, 10 % and all of --files (default 1,000,000) 512-byte files, each
#    with an ECDSA P-256 signature (fast to make; RSS does not depend on the algorithm). One
#    nested tree (gen.py tiny) serves the three counts. The package manifests are made before
#    the signatures, and package verify runs with --ignore '*.sig'. Median of 3 runs for each
#    count. Every file and every signature takes one file-system block, so 1,000,000 files
#    need about 2 x 1,000,000 x 4 KiB = 8 GB on ext4: `df` is checked first and --files scaled
#    down (with a message) when space or inodes are short. The tree is removed afterwards
#    unless --keep.
#
# Writes OUT/threads.csv, OUT/rss.csv (and the raw timings OUT/threads-raw.csv,
# OUT/rss-raw.csv), OUT/scaling.md (Markdown tables), and the plots
# bench/compare/figures/threads.png and rss.png with gnuplot (installed with apt-get when
# missing and root: gnuplot-nox), else python3-matplotlib; if neither is there, no plots
# (said). Needs GNU time (/usr/bin/time).
set -euo pipefail
export LC_ALL=C
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$here/../.." && pwd)
runs=5
rss_runs=3
out=$root/build/bench-compare
files=1000000
threads="1 2 3 4"
keep=0
sigsweep=$root/build/cli/sigsweep
figs=$here/figures
die() { printf 'scaling.sh: %s\n' "$*" >&2; exit 2; }
note() { printf 'scaling.sh: %s\n' "$*" >&2; }

while (($#)); do
    case $1 in
        --runs|--out|--files|--threads|--sigsweep)
            (($# >= 2)) || die "$1 needs a value"
            case $1 in
                --runs) runs=$2 ;; --out) out=$2 ;; --files) files=$2 ;;
                --threads) threads=$2 ;; --sigsweep) sigsweep=$2 ;;
            esac
            shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "usage: bench/compare/scaling.sh [--runs N] [--out DIR] [--files N] [--threads \"1 2 3 4\"] [--keep] [--sigsweep PATH]" ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ && $files =~ ^[1-9][0-9]*$ ]] || die "--runs and --files: positive integers"
[[ $threads =~ ^[1-9][0-9\ ]*$ ]] || die "--threads: a list of positive integers"
[[ -x $sigsweep ]] || die "build first (cmake --build build -j2): $sigsweep not found"
[[ -x /usr/bin/time ]] || die "needs GNU time: apt-get install -y time"
data=$out/data
for w in small large; do
    [[ -f $data/$w/stamp ]] || die "no $data/$w: run bench/compare/run.sh first (same --out)"
done
out=$(cd -- "$out" && pwd)
data=$out/data
t_start=$SECONDS
cores=$(nproc)

# ---- 1. threads ----
cd -- "$data"
for w in small large; do find "$w/signed" -type f -exec cat {} + >/dev/null; done # warm
raw=$out/threads-raw.csv
echo "workload,threads,run,seconds" >"$raw"
for r in $(seq 1 "$runs"); do
    note "threads, run $r of $runs ($((SECONDS - t_start)) s so far)"
    for w in small large; do
        for j in $threads; do
            t0=$EPOCHREALTIME
            "$sigsweep" verify -q -j "$j" --key rsa.pub "$w/signed" >/dev/null ||
                die "sigsweep verify -j $j $w/signed failed"
            t1=$EPOCHREALTIME
            awk -v w="$w" -v j="$j" -v r="$r" -v a="$t0" -v b="$t1" \
                'BEGIN { printf "%s,%s,%s,%.6f\n", w, j, r, b - a }' >>"$raw"
        done
    done
done

# ---- 2. peak RSS against file count ----
tiny=$data/tiny
rm -rf -- "$tiny"
bs=$(stat -f -c %S "$data")
avail=$(df -P -B1 "$data" | awk 'NR == 2 { print $4 }')
ifree=$(df -P -i "$data" | awk 'NR == 2 { print $4 }')
want=$files
# two blocks and two inodes per file (file + signature), plus 10 % and 2 GB to spare
while ((want >= 1000)) && { ((want * 2 * bs * 11 / 10 + (2 << 30) > avail)) || ((want * 22 / 10 > ifree)); }; do
    want=$((want / 10))
done
((want >= 1000)) || die "not enough space for even 1,000 files in $data ($avail bytes, $ifree inodes free)"
if ((want != files)); then
    note "space: $((avail >> 20)) MiB and $ifree inodes free in $data; $files files would need ~$((files * 2 * bs >> 20)) MiB: scaled down to $want files"
    files=$want
fi
note "making $files x 512-byte files ($((SECONDS - t_start)) s so far)"
mkdir -p -- "$tiny"
python3 "$here/gen.py" tiny "$tiny/files" "$files" >/dev/null
tf=$tiny/files
declare -A dir=([s]=$tf/m/s [m]=$tf/m [all]=$tf)
declare -A count=([s]=$(find "$tf/m/s" -type f | wc -l) [m]=$(find "$tf/m" -type f | wc -l) [all]=$files)
[[ -f ec.pem ]] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
openssl pkey -in ec.pem -pubout -out ec.pub
for k in s m all; do
    "$sigsweep" package create "${dir[$k]}" --out "$tiny/$k.sha256" >/dev/null
    "$sigsweep" package sign --key ec.pem "$tiny/$k.sha256" >/dev/null 2>&1
done
note "signing $files files ($((SECONDS - t_start)) s so far)"
"$sigsweep" sign -q --key ec.pem "$tf" >/dev/null
rawm=$out/rss-raw.csv
echo "tool,files,run,peak_rss_kib,seconds" >"$rawm"
for r in $(seq 1 "$rss_runs"); do
    for k in s m all; do
        note "memory, run $r of $rss_runs: ${count[$k]} files ($((SECONDS - t_start)) s so far)"
        for tool in verify package; do
            if [[ $tool == verify ]]; then
                set -- "$sigsweep" verify -q --key ec.pub "${dir[$k]}"
            else
                set -- "$sigsweep" package verify "${dir[$k]}" --manifest "$tiny/$k.sha256" \
                    --key ec.pub --ignore '*.sig'
            fi
            /usr/bin/time -o "$out/.time" -f '%M %e' "$@" >/dev/null 2>"$out/last.err" ||
                die "$* failed: $(tail -n 3 "$out/last.err")"
            read -r kib secs <"$out/.time"
            echo "$tool,${count[$k]},$r,$kib,$secs" >>"$rawm"
        done
    done
done
if ((keep)); then note "kept $tiny"; else rm -rf -- "$tiny"; fi


# ---- tables, CSV, plots ----
{
    printf 'date\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf 'cpu\t%s\n' "$(lscpu | sed -n 's/^Model name: *//p' | head -n1)"
    printf 'cores\t%s\n' "$cores"
    printf 'runs\t%s\n' "$runs"
    printf 'rss_runs\t%s\n' "$rss_runs"
    printf 'sigsweep\t%s\n' "$("$sigsweep" --version 2>&1 | head -n1)"
} >"$out/scaling-meta.tsv"
python3 "$here/scaling_report.py" "$out" | tee "$out/scaling.md"

mkdir -p -- "$figs"
if ! command -v gnuplot >/dev/null && ((EUID == 0)) && command -v apt-get >/dev/null; then
    note "gnuplot missing: apt-get install -y gnuplot-nox"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox >/dev/null 2>&1 || true
fi
if command -v gnuplot >/dev/null; then
    b_small=$(awk -F, '$1 == "small" && $2 == 1 { print $4 }' "$out/threads.csv")
    b_large=$(awk -F, '$1 == "large" && $2 == 1 { print $5 / 1e9 }' "$out/threads.csv")
    jmax=$(tr ' ' '\n' <<<"$threads" | sort -n | tail -n1)
    gnuplot -e "csv='$out/threads.csv'; png='$figs/threads.png'; cores=$cores; jmax=$jmax;
                bs=${b_small:-0}; bl=${b_large:-0}" "$here/threads.gp"
    gnuplot -e "csv='$out/rss.csv'; png='$figs/rss.png'" "$here/rss.gp"
else # matplotlib: Debian's python3-matplotlib is for the system python3
    py=
    for p in python3 /usr/bin/python3; do "$p" -c 'import matplotlib' 2>/dev/null && { py=$p; break; }; done
    if [[ -z $py ]] && ((EUID == 0)) && command -v apt-get >/dev/null; then
        note "no gnuplot: apt-get install -y python3-matplotlib"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-matplotlib >/dev/null 2>&1 || true
        /usr/bin/python3 -c 'import matplotlib' 2>/dev/null && py=/usr/bin/python3
    fi
    if [[ -n $py ]]; then
        "$py" "$here/scaling_report.py" "$out" --matplotlib "$figs" >/dev/null
    else
        note "neither gnuplot nor python3-matplotlib: no plots (the CSVs are in $out)"
    fi
fi
note "done in $((SECONDS - t_start)) s: $out/scaling.md, $out/threads.csv, $out/rss.csv, $figs/threads.png, $figs/rss.png"
