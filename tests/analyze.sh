#!/usr/bin/env bash
# tests/analyze.sh - static analysis: clang-tidy (.clang-tidy) and cppcheck
# (tests/analysis/cppcheck.supp) over every C file of engine/ and cli/ listed in
# <build>/compile_commands.json, so new files are analysed without editing this script.
# Exit 1 on any finding (clang-tidy's WarningsAsErrors '*', cppcheck's --error-exitcode).
# Usage: tests/analyze.sh [build-dir]   (default: build; tests/run.sh passes the build it made)
# Speed (tests/run.sh runs it in CI, on 2 cores): each file once (the build lists engine files
# again for the ThreadSanitizer and test targets), one file per clang-tidy process, the largest
# first so no long file starts last; cppcheck with -j. The clang analyzer keeps its default
# depth: a shallower one (mode=shallow, fewer max-nodes) misses the inter-procedural findings.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
jobs=$(nproc 2>/dev/null || echo 2)
if [ ! -f "$build/compile_commands.json" ]; then
  cmake -S . -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
fi
db=$(mktemp -d); out=$db/tidy.out
trap 'rm -rf "$db"' EXIT
# the database of engine/ and cli/ files, each once, largest first; their names on stdout
mapfile -t files < <(python3 - "$build/compile_commands.json" "$PWD" "$db/compile_commands.json" <<'PY'
import json, os, sys
root = sys.argv[2]
seen = {}
for e in json.load(open(sys.argv[1])):
    f = os.path.relpath(os.path.join(e["directory"], e["file"]), root)
    if f.split("/")[0] in ("engine", "cli") and f.endswith(".c") and f not in seen:
        seen[f] = e
order = sorted(seen, key=lambda f: -os.path.getsize(os.path.join(root, f)))
json.dump([seen[f] for f in order], open(sys.argv[3], "w"), indent=1)
print("\n".join(order))
PY
)
echo "analyze: ${#files[@]} files from $build/compile_commands.json"
rc=0
echo "== clang-tidy =="
start=$SECONDS
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -n 1 clang-tidy -p "$db" --quiet >"$out" 2>&1 || rc=1
grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated|^Error while processing|^Suppressed ' "$out" || true
echo "clang-tidy: $((SECONDS - start)) s"
echo "== cppcheck =="
start=$SECONDS
cppcheck --project="$db/compile_commands.json" -j "$jobs" --enable=warning,performance,portability \
  --inline-suppr --suppressions-list=tests/analysis/cppcheck.supp --error-exitcode=1 --quiet \
  -D__GNUC__ -UNDEBUG || rc=1
echo "cppcheck: $((SECONDS - start)) s"
[ $rc -eq 0 ] && echo "analyze: clean" || echo "analyze: findings above" >&2
exit $rc
