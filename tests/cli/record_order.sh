#!/usr/bin/env bash
# record_order.sh SIGSWEEP - the same tree gives the same records in the same order on every run
# and every -j (walk order: each directory's entries by name), for verify (with and without a
# persistent cache, enforcing) and package verify; a slow large file early in the walk does not
# let later records overtake it.
# shared with the adversarial tests: B, a private temp dir (cwd), check/finish, k.pem/k.pub (Ed25519)
. "$(cd "$(dirname "$0")/../adversarial" && pwd)/lib.sh"
# a tree whose files differ in cost: the first is large, the rest small, a few unsigned or bad
mkdir -p tree/a tree/b/c tree/d
head -c $((24 * 1024 * 1024)) /dev/urandom > tree/a/0big
for i in $(seq 1 120); do head -c $((RANDOM % 3000 + 1)) /dev/urandom > "tree/$(printf 'abd' | cut -c$((i % 3 + 1)))/f$i"; done
for i in $(seq 1 40); do head -c $((RANDOM % 900 + 1)) /dev/urandom > "tree/b/c/g$i"; done
"$B" sign -q --hash sha256 --key k.pem tree >/dev/null
for i in 3 17 55; do rm -f "tree/$(printf 'abd' | cut -c$((i % 3 + 1)))/f$i.sig"; done
printf x >> tree/b/c/g7
n=$(find tree -type f ! -name '*.sig' | wc -l)

# verify FORMAT ARGS... -> its records on stdout (exit 1: some files are not VALID); the run
# record and run_end (times) are left out
run() { local rc=0; "$B" verify -q --key k.pub "$@" tree >"$t/out" 2>"$t/err" || rc=$?; [ $rc = 1 ] || { echo "exit $rc: $(cat "$t/err")"; return 1; }; grep -v '^{"type":' "$t/out" || true; }
run -j1 --format jsonl > j1
check "j1: one record per file ($n)" "[ \$(wc -l < j1) = $n ]"
python3 - j1 <<'PY' > walk
import json, sys
for line in open(sys.argv[1], "rb"):
    print(json.loads(line)["path"])
PY
# the walk order: depth first, each directory's entries sorted by name (bytes)
python3 - <<'PY' > expected
import os
def walk(d):
    for n in sorted(os.listdir(d), key=os.fsencode):
        p = os.path.join(d, n)
        if os.path.isdir(p):
            yield from walk(p)
        elif not n.endswith(".sig"):
            yield p
for p in walk("tree"):
    print(p)
PY
check "j1: walk order (each directory by name, depth first)" "cmp -s walk expected"
for j in 2 3 7 16; do
  for round in 1 2; do
    run -j$j --format jsonl > "jn"
    check "-j$j run $round: the same records in the same order as -j1" "cmp -s j1 jn"
  done
done
run -j1 --format text > t1
run -j7 --format text > t7
check "text format: -j7 = -j1" "cmp -s t1 t7"
run -j7 --format jsonl --cache-dir "$t/cache" > c1
run -j7 --format jsonl --cache-dir "$t/cache" > c2
check "with a cache, cold: the same order as -j1" "cmp -s <(python3 -c 'import json,sys; [print(json.loads(l)[\"path\"]) for l in open(\"c1\")]') walk"
check "with a cache, warm: the same order as cold" "cmp -s <(python3 -c 'import json,sys; [print(json.loads(l)[\"path\"]) for l in open(\"c2\")]') walk"
# package verify: manifest order
(cd tree && find . -type f ! -name '*.sig' -printf '%P\n' | sort | xargs -d '\n' sha256sum) > pkg.sha256
"$B" sign -q --key k.pem pkg.sha256 >/dev/null
prc=0
"$B" package verify tree --manifest pkg.sha256 --key k.pub --format jsonl -j1 2>/dev/null | grep -v '^{"type":' > p1 || prc=$?
for j in 3 8; do
  "$B" package verify tree --manifest pkg.sha256 --key k.pub --format jsonl -j$j 2>/dev/null | grep -v '^{"type":' > pn || true
  check "package verify -j$j: the same order as -j1" "cmp -s p1 pn"
done
check "package verify: a record per listed file (exit $prc)" "[ \$(wc -l < p1) -ge $n ]"
finish
