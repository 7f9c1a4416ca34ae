#!/usr/bin/env bash
# tests/coverage.sh - line and branch coverage of engine/ and cli/ by the ctest suite.
# Builds with -DSGS_COVERAGE=ON (gcc --coverage) in build-coverage/, runs ctest (minus the
# ThreadSanitizer targets, which are not instrumented), prints a gcovr summary per file and
# the least-covered files. HTML report: build-coverage/coverage/index.html.
# Usage: tests/coverage.sh [ctest args...]   (e.g. -L unit; none: the whole suite, the end-to-end
# and adversarial tests running the instrumented sigsweep; ~7 min on 2 shared cores, not in CI)
# Wycheproof vectors: ../shared/testvectors, or $SGS_TESTVECTORS (as tests/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/deps
dir=build-coverage
jobs=$(nproc 2>/dev/null || echo 2)
vectors=()
[ -n "${SGS_TESTVECTORS:-}" ] && vectors=(-DSGS_TESTVECTORS="$SGS_TESTVECTORS")
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DSGS_COVERAGE=ON -DSGS_BUILD_BENCH=OFF \
      "${vectors[@]}" >/dev/null
cmake --build "$dir" -j "$jobs" >/dev/null
find "$dir" -name '*.gcda' -delete
ctest --test-dir "$dir" -j "$jobs" -E 'tsan' --output-on-failure "$@" || echo "coverage: some tests failed" >&2
mkdir -p "$dir/coverage"
filters=(--root . --filter 'engine/' --filter 'cli/' --object-directory "$dir")
gcovr "${filters[@]}" --exclude-unreachable-branches --txt "$dir/coverage/lines.txt" \
      --html-details "$dir/coverage/index.html"
gcovr "${filters[@]}" --exclude-unreachable-branches --branches --txt "$dir/coverage/branches.txt"
echo "== least-covered files (lines %; full table: $dir/coverage/lines.txt) =="
awk '/^(engine|cli)\// && NF >= 4 { printf "%-40s %5s of %5s lines\n", $1, $4, $2 }' "$dir/coverage/lines.txt" | sort -k2,2n | head -8
echo "== totals (engine/ and cli/) =="
# (the report itself goes to a file in the build dir: gcovr -o replaces the file it is given,
# and run as root it once replaced /dev/null with a regular file)
gcovr "${filters[@]}" --exclude-unreachable-branches --print-summary -o "$dir/coverage/summary.txt"
