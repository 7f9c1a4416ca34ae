#!/usr/bin/env bash
# bench/guard.sh - what `sigsweep guard` adds to an exec: N fork+execve (sgs_exec_loop) of a
# signed copy of /bin/true, in one run: no guard; the guard in enforce mode with a warm verdict
# store; the guard cold (--paranoid: the store is never asked, every exec judged through its
# descriptor); the floor (sgs_fan_floor: a responder that allows every exec unlooked-at, the
# kernel's permission round trip and the wakeups alone, what any guard pays before its own work);
# and, with --fapolicyd ROOT (the Debian package fapolicyd 1.1.7 unpacked there:
# `apt-get download fapolicyd && dpkg-deb -x fapolicyd_*.deb ROOT`), fapolicyd with
# integrity=sha256 and a file trust database (trust=file) deciding the same execs. Every leg has
# a mount of its own and all are up at once, measured in turns (R rounds), so each shares the
# same moments of a busy machine; median of R; overheads over "no guard", and the ratio of the
# warm guard's overhead to fapolicyd's. With --base PATH, another sigsweep binary (say, the main
# branch's build) runs a warm leg of its own ("base") in the same turns, for the ratio of the two.
# With --cpu K, every daemon and every exec loop runs on CPU K only (taskset): the exec'ing process
# and the daemon answering it then share one CPU, so no wakeup crosses CPUs (on a virtual machine
# an idle vCPU woken by an IPI can cost more than all the rest of the round trip).
#
# Root only. Everything runs inside a mount namespace of its own (unshare --mount, private
# propagation): the guards' legs on tmpfs mounts made there (each guard marks only its own
# mount), fapolicyd's on a ramfs (a file system type no real mount of this machine uses, so its
# watch_fs=ramfs marks that mount only), fapolicyd's /etc, /var/lib and /run bind-mounted from
# namespace-private copies; every daemon is killed on exit (trap).
#   bench/guard.sh [--n N] [--runs R] [--sigsweep PATH] [--loop PATH] [--fapolicyd ROOT]
#                  [--base PATH] [--cpu K]
set -euo pipefail
export LC_ALL=C
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$here")
n=10000
runs=3
sigsweep=$root/build/cli/sigsweep
loop=$root/build/bench/sgs_exec_loop
floor_bin=$root/build/bench/sgs_fan_floor
fapd=
base=
pin=()
inside=0
args=("$@")
while (($#)); do
  case $1 in
    --n) n=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --sigsweep) sigsweep=$(realpath "$2"); shift 2 ;;
    --loop) loop=$(realpath "$2"); shift 2 ;;
    --fapolicyd) fapd=$(realpath "$2"); shift 2 ;;
    --base) base=$(realpath "$2"); shift 2 ;;
    --cpu) pin=(taskset -c "$2"); shift 2 ;;
    --inside) inside=1; shift ;;
    *) echo "usage: bench/guard.sh [--n N] [--runs R] [--sigsweep PATH] [--loop PATH]" \
            "[--fapolicyd ROOT] [--base PATH] [--cpu K]" >&2; exit 2 ;;
  esac
done
(($(id -u) == 0)) || { echo "guard.sh: root only (fanotify permission events)" >&2; exit 2; }
[[ -x $sigsweep && -x $loop && -x $floor_bin ]] ||
  { echo "guard.sh: build sigsweep, sgs_exec_loop and sgs_fan_floor" >&2; exit 2; }
[[ -z $base || -x $base ]] || { echo "guard.sh: --base $base is not executable" >&2; exit 2; }
if ((!inside)); then
  exec unshare --mount --propagation private bash "$0" "${args[@]}" --inside
fi
# from here on, every mount is this namespace's own
[[ $(readlink /proc/self/ns/mnt) != "$(readlink /proc/1/ns/mnt)" ]] ||
  { echo "guard.sh: not in a mount namespace of its own" >&2; exit 2; }

work=$(mktemp -d /tmp/sgs-guard-bench.XXXXXX)
mount -t tmpfs -o size=64m sgs-guard-bench "$work" # logs, keys, the stores: not marked
pids=()
declare -A daemon cpu0 # leg -> the pid of its daemon; its CPU time (ns) before the rounds
stop_all() {
  local p
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; umount -R -l "$work"; rmdir "$work"' EXIT

key=$root/corpus/keys/rsa2048.pem
openssl pkey -in "$key" -pubout -out "$work/pub.pem" 2>/dev/null
legs=(none floor warm cold)
[[ -n $base ]] && legs+=(base)
[[ -n $fapd ]] && legs+=(fap)
for leg in "${legs[@]}"; do
  mkdir -p "$work/$leg"
  if [[ $leg == fap ]]; then
    mount -t ramfs -o mode=0755 sgs-guard-bench-ramfs "$work/$leg"
  else
    mount -t tmpfs -o size=16m,mode=0755 "sgs-guard-bench-$leg" "$work/$leg"
  fi
  cp /bin/true "$work/$leg/true"
  "$sigsweep" sign --key "$key" "$work/$leg/true" >/dev/null 2>&1
done
sleep 2.2 # out of the store's racy window (entries for files changed within 2 s are not kept)

start_guard() { # LEG ARGS...: once its marks are in place
  local leg=$1 bin=$sigsweep
  shift
  [[ $leg == base ]] && bin=$base
  "${pin[@]}" "$bin" guard --watch "$work/$leg" --key "$work/pub.pem" --cache-dir "$work/cache-$leg" \
    --log "$work/$leg.jsonl" --mode enforce "$@" 2>"$work/$leg.err" &
  started "$leg" $!
}
started() { # LEG PID: a daemon that says "watching" on $work/LEG.err once its marks are in place
  pids+=("$2")
  daemon[$1]=$2
  for _ in $(seq 200); do grep -q watching "$work/$1.err" && return 0; sleep 0.05; done
  echo "guard.sh: the $1 leg's daemon did not start: $(cat "$work/$1.err")" >&2
  exit 1
}
"${pin[@]}" "$floor_bin" "$work/floor" 2>"$work/floor.err" &
started floor $!
start_guard warm
"$loop" 1 "$work/warm/true" >/dev/null # judged once, stored
start_guard cold --paranoid
if [[ -n $base ]]; then
  start_guard base
  "$loop" 1 "$work/base/true" >/dev/null
fi

if [[ -n $fapd ]]; then
  # fapolicyd's fixed paths, private to this namespace
  cp -a /etc "$work/etc"
  mkdir -p "$work/etc/fapolicyd/rules.d" "$work/etc/fapolicyd/trust.d" "$work/varlib/fapolicyd" \
    "$work/run/fapolicyd"
  printf '%s\n' "permissive = 0" "nice_val = 0" "q_size = 640" "uid = root" "gid = root" \
    "do_stat_report = 0" "detailed_report = 0" "db_max_size = 50" "subj_cache_size = 1549" \
    "obj_cache_size = 8191" "watch_fs = ramfs" "trust = file" "integrity = sha256" \
    "syslog_format = rule,dec,perm,auid,pid,exe,:,path,ftype,trust" "rpm_sha256_only = 0" \
    "allow_filesystem_mark = 0" >"$work/etc/fapolicyd/fapolicyd.conf"
  printf '%s\n' 'allow perm=execute all : trust=1' 'deny_audit perm=execute all : all' \
    'allow perm=open all : all' >"$work/etc/fapolicyd/compiled.rules"
  printf '%s %s %s\n' "$work/fap/true" "$(stat -c %s "$work/fap/true")" \
    "$(sha256sum "$work/fap/true" | cut -d' ' -f1)" >"$work/etc/fapolicyd/fapolicyd.trust"
  mount --bind "$work/etc" /etc
  mount --bind "$work/varlib" /var/lib
  mount --bind "$work/run" /run
  "${pin[@]}" "$fapd/usr/sbin/fapolicyd" --debug-deny >"$work/fapd.out" 2>&1 &
  pids+=($!)
  daemon[fap]=$!
  for _ in $(seq 300); do
    grep -q 'Starting to listen' "$work/fapd.out" && break
    kill -0 "${pids[-1]}" 2>/dev/null ||
      { echo "guard.sh: fapolicyd exited: $(tail -5 "$work/fapd.out")" >&2; exit 1; }
    sleep 0.1
  done
  # the known answer: fapolicyd decides this mount (an untrusted copy is denied)
  cp /bin/true "$work/fap/untrusted"
  if "$loop" 1 "$work/fap/untrusted" 2>/dev/null; then
    echo "guard.sh: fapolicyd does not decide $work/fap: $(tail -5 "$work/fapd.out")" >&2
    exit 1
  fi
fi

# a daemon's CPU time in ns, all its threads, user and system (schedstat: not rounded to ticks)
# (a daemon gone, or a kernel without schedstat: the benchmark stops, it never prints a 0)
cpu_ns() {
  local t
  t=$(cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{t += $1; n++} END {if (n) printf "%.0f\n", t}')
  [[ -n $t ]] || { echo "guard.sh: no CPU time for daemon $1 (exited? no /proc/PID/task/*/schedstat)" >&2; exit 1; }
  echo "$t"
}
for leg in "${!daemon[@]}"; do cpu0[$leg]=$(cpu_ns "${daemon[$leg]}") || exit 1; done
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for ((i = 0; i < runs; i++)); do
  for leg in "${legs[@]}"; do
    "${pin[@]}" "$loop" "$n" "$work/$leg/true" | awk '{print $5}' >>"$work/t.$leg"
  done
done
for leg in "${legs[@]}"; do printf -v "$leg" '%s' "$(median <"$work/t.$leg")"; done
# each daemon's CPU per exec of its leg (it is idle in the other legs' turns)
cpu_line=
for leg in "${legs[@]}"; do
  [[ -n ${daemon[$leg]:-} ]] || continue
  t1=$(cpu_ns "${daemon[$leg]}") || exit 1
  cpu_line+=$(printf ' %s %.1f,' "$leg" "$(echo "($t1 - ${cpu0[$leg]}) / ($n * $runs) / 1000" | bc -l)")
done
# the guard's own part of each exec, as it logs it: from reading the event to answering it
latency() { grep -F "\"how\":\"$2\"" "$work/$1.jsonl" | sed 's/.*"latency_us":\([0-9.]*\).*/\1/' | median; }
warm_lat=$(latency warm store)
cold_lat=$(latency cold judged)
hits=$(grep -c '"how":"store"' "$work/warm.jsonl" || true)
[[ -n $base ]] && base_lat=$(latency base store)
judged=$(grep -c '"how":"judged"' "$work/cold.jsonl" || true)
stop_all

printf 'exec latency, %s fork+execve of a signed /bin/true (%s bytes), median of %s rounds%s\n' \
  "$n" "$(stat -c %s "$work/none/true")" "$runs" "${pin:+, all on CPU ${pin[2]}}"
printf '%-44s %10s %12s\n' "" "us/exec" "overhead us"
printf '%-44s %10s %12s\n' "no guard" "$none" "-"
row() { printf '%-44s %10s %12.1f\n' "$1" "$2" "$(echo "$2 - $none" | bc -l)"; }
row "floor (allow unlooked-at: sgs_fan_floor)" "$floor"
row "sigsweep guard, warm store" "$warm"
row "sigsweep guard, cold (--paranoid)" "$cold"
if [[ -n $base ]]; then
  row "--base guard, warm store" "$base"
  printf 'warm guard overhead / --base warm overhead: %.2f\n' \
    "$(echo "($warm - $none) / ($base - $none)" | bc -l)"
fi
if [[ -n $fapd ]]; then
  row "fapolicyd 1.1.7, integrity=sha256 (ramfs)" "$fap"
  printf 'warm guard overhead / fapolicyd overhead: %.2f\n' \
    "$(echo "($warm - $none) / ($fap - $none)" | bc -l)"
fi
printf 'warm guard over the floor: %.1f us/exec\n' "$(echo "$warm - $floor" | bc -l)"
[[ -z $fapd ]] || printf 'fapolicyd over the floor: %.1f us/exec\n' "$(echo "$fap - $floor" | bc -l)"
printf 'daemon CPU per exec (us, all threads, /proc/PID/task/*/schedstat):%s\n' "${cpu_line%,}"
printf 'store hits in the warm leg: %s; judgements in the cold leg: %s\n' "$hits" "$judged"
printf 'the guard answers (latency_us of its log, median): warm %s us, cold %s us\n' \
  "$warm_lat" "$cold_lat"
[[ -z $base ]] || printf 'the --base guard answers (latency_us, median): warm %s us\n' "$base_lat"
