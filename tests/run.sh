#!/usr/bin/env bash
# tests/run.sh - the whole test suite, from a clean checkout: installs what is missing (as root),
# builds and runs ctest twice: a normal RelWithDebInfo build (which also runs the ThreadSanitizer
# targets) and an AddressSanitizer + UndefinedBehaviorSanitizer build; then static analysis
# (tests/analyze.sh: clang-tidy + cppcheck over the first build's compile_commands.json; any
# finding fails the run).
# Usage: tests/run.sh [--quick] [--analyze]   (--quick: the first build and its tests only, no
# sanitizer build and no analysis; --analyze with --quick: the analysis too)
# Wycheproof vectors are read from ../shared/testvectors (or $SGS_TESTVECTORS); absent, that
# test is skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/deps
jobs=$(nproc 2>/dev/null || echo 2)

vectors=()
[ -n "${SGS_TESTVECTORS:-}" ] && vectors=(-DSGS_TESTVECTORS="$SGS_TESTVECTORS")

run_build() { # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSGS_WERROR=ON "${vectors[@]}" "$@" >/dev/null
  cmake --build "$dir" -j "$jobs" >/dev/null
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

echo "== build + tests (RelWithDebInfo) =="
run_build build
if [[ " $* " != *" --quick "* ]]; then
  echo "== build + tests (ASan + UBSan) =="
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_build build-asan -DSGS_SANITIZE=address,undefined -DSGS_BUILD_BENCH=OFF
fi
if [[ " $* " != *" --quick "* || " $* " == *" --analyze "* ]]; then
  echo "== static analysis =="
  tests/analyze.sh build
fi
echo "== all tests passed =="
