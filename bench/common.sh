# bench/common.sh - sourced by speed.sh, pe_speed.sh and kmod_speed.sh.

# median: of the numbers on standard input, one per line
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# baseline_table BASELINE W...: the --baseline table. For each workload W, t.sgs_W and t.base_W
# (in the working directory) hold this build's and the baseline's wall seconds, measured
# alternately in the same runs.
baseline_table() {
  local base=$1 w m_this m_base
  shift
  printf '\n## this build vs --baseline %s (same runs, alternating; ratio = baseline time / this time, > 1: faster)\n\n' "$base"
  printf '| workload | this build | baseline | ratio |\n|---|---|---|---|\n'
  for w in "$@"; do
    m_this=$(median < "t.sgs_$w")
    m_base=$(median < "t.base_$w")
    printf '| %s | %.3f s | %.3f s | %.2fx |\n' "$w" "$m_this" "$m_base" "$(echo "$m_base / $m_this" | bc -l)"
  done
}

# secs NAME command...: append wall seconds to t.NAME (in the working directory); a failing
# command stops the script (through the sourcing script's die)
secs() {
  local name=$1 t0 t1 rc=0
  shift
  t0=$EPOCHREALTIME; "$@" > /dev/null 2> "t.$name.err" || rc=$?; t1=$EPOCHREALTIME
  [ "$rc" -eq 0 ] || { tail -n 5 "t.$name.err" >&2; die "$name: $* exited $rc"; }
  echo "$t1 - $t0" | bc -l >> "t.$name"
}
