#!/usr/bin/env bash
# corpus/demo.sh - the main job on the bundled corpus, from a clean checkout: install what is
# missing (as root), build, generate the deterministic corpus into build/corpus-data, run
# `sigsweep verify --quiet` over it (the files that are not VALID, the summary), write the whole
# JSONL report and its `report summary`, then check every verdict against the
# generator's expected.tsv. Exit 0 when the report is exactly what the corpus expects.
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/deps
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs" >/dev/null
cmake --build build --target corpus >/dev/null
data=build/corpus-data
echo "== sigsweep verify --quiet --key $data/keys $data/tree (the files not VALID) =="
set +e
build/cli/sigsweep verify --quiet --key "$data/keys" --format jsonl --output "$data/report.jsonl" \
  "$data/tree" 2>/dev/null
build/cli/sigsweep verify --quiet --key "$data/keys" "$data/tree"
rc=$?
set -e
echo "== exit status $rc (1: the corpus holds known-bad files on purpose); the whole report: $data/report.jsonl =="
build/cli/sigsweep report summary "$data/report.jsonl" || true
[ "$rc" -le 1 ] || exit "$rc"
echo "== checking every verdict against $data/expected.tsv =="
python3 tests/cli/e2e_corpus.py --sigsweep build/cli/sigsweep --corpus "$data"
