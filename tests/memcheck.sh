#!/usr/bin/env bash
# tests/memcheck.sh - the unit tests under Valgrind memcheck: uninitialised reads, invalid
# accesses and definite leaks (MemorySanitizer would need an instrumented OpenSSL).
# Builds a plain Debug tree in build-memcheck/ (no sanitizers) and runs each unit test
# executable (not the ThreadSanitizer ones) under valgrind with
# tests/analysis/valgrind.supp. Exit 1 on any error. Label in docs: "memcheck" (not part of
# tests/run.sh; see CONTRIBUTING.md for its duration).
# Usage: tests/memcheck.sh [executable-name-regex]   (e.g. tests/memcheck.sh 'pe|cms')
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/deps
dir=build-memcheck
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DSGS_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" -j "$jobs" >/dev/null
rm -f "$dir"/memcheck.*.log
run_one() { # executable
  local t=$1 name; name=$(basename "$t")
  local rc=0
  valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --track-origins=yes --num-callers=30 --suppressions=tests/analysis/valgrind.supp \
    --log-file="$dir/memcheck.$name.log" "$t" >"$dir/memcheck.$name.out" 2>&1 || rc=$?
  case $rc in
    0) echo "memcheck: $name ok" ;;
    77) echo "memcheck: $name skipped" ;;
    *) echo "memcheck: $name FAILED (exit $rc)"; cat "$dir/memcheck.$name.log" "$dir/memcheck.$name.out"; return 1 ;;
  esac
}
export -f run_one; export dir
# Every unit test executable the build made (a new one is picked up without editing this).
find "$dir/tests/unit" -maxdepth 1 -type f -name '*_test' -perm -u+x | grep -v tsan |
  grep -E "${1:-.}" | sort | xargs -P "$jobs" -I{} bash -c 'run_one {}'
echo "memcheck: clean"
