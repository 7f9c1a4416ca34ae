#!/usr/bin/env bash
# tests/analyze.sh - static analysis: clang-tidy (.clang-tidy) and cppcheck
# (tests/analysis/cppcheck.supp) over every C file of engine/ and cli/ listed in
# <build>/compile_commands.json, so new files are analysed without editing this script.
# Exit 1 on any finding. Usage: tests/analyze.sh [build-dir]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
jobs=$(nproc 2>/dev/null || echo 2)
if [ ! -f "$build/compile_commands.json" ]; then
  cmake -S . -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
fi
mapfile -t files < <(python3 - "$build/compile_commands.json" "$PWD" <<'PY'
import json, os, sys
root = sys.argv[2]
seen = set()
for e in json.load(open(sys.argv[1])):
    f = os.path.relpath(os.path.join(e["directory"], e["file"]), root)
    if f.split("/")[0] in ("engine", "cli") and f.endswith(".c") and f not in seen:
        seen.add(f); print(f)
PY
)
echo "analyze: ${#files[@]} files from $build/compile_commands.json"
rc=0
echo "== clang-tidy =="
out=$(mktemp); trap 'rm -f "$out"' EXIT
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -n 4 clang-tidy -p "$build" --quiet >"$out" 2>&1 || rc=1
grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated|^Error while processing|^Suppressed ' "$out" || true
echo "== cppcheck =="
cppcheck --project="$build/compile_commands.json" --file-filter='*engine/*' --file-filter='*cli/*' \
  -j "$jobs" --enable=warning,performance,portability --inline-suppr \
  --suppressions-list=tests/analysis/cppcheck.supp --error-exitcode=1 --quiet \
  -D__GNUC__ -UNDEBUG || rc=1
[ $rc -eq 0 ] && echo "analyze: clean" || echo "analyze: findings above" >&2
exit $rc
