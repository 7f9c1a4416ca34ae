#!/usr/bin/env bash
# cache_e2e.sh SIGSWEEP - the persistent cache: the same verdicts with and without it, reuse
# when nothing changed, re-hash when a file changed, no reuse across key sets, a corrupt cache
# rebuilt, --paranoid, export (no import), two processes on one cache, stats/clear; the cache commands
# on a missing or corrupt cache (an error that creates and moves nothing; clear repairs).
set -euo pipefail
B=$1
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

cd "$t"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out k.pem 2>/dev/null
openssl pkey -in k.pem -pubout -out k.pub
openssl genpkey -algorithm ED25519 -out other.pem
openssl pkey -in other.pem -pubout -out other.pub
mkdir tree
for i in $(seq 1 200); do head -c $((1000 + i)) /dev/urandom > "tree/f$i"; done
"$B" sign -q --key k.pem tree >/dev/null
printf 'x' >> tree/f7           # BAD_SIGNATURE
rm tree/f9.sig                  # NO_SIGNATURE
# older than the racy window (2 s): mtimes set 1 h back, and ctime (which touch cannot set)
# left to age past it
find tree -type f -exec touch -d '1 hour ago' {} +
sleep 2.5

verdicts() { # args... -> "path verdict" lines, sorted
  "$B" verify -q --format jsonl "$@" tree 2>"$t/err" | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if "type" not in r: print(r["path"], r["verdict"])' | sort  # no run record, run_end
}
verdicts --key k.pub > plain.txt || true
check "no cache: 198 VALID" "[ \$(grep -c ' VALID' plain.txt) = 198 ]"

C=$t/cache
verdicts --key k.pub --cache-dir "$C" > cold.txt || true
check "cold cache run = plain run" "cmp -s plain.txt cold.txt"
"$B" verify --key k.pub --cache-dir "$C" tree >/dev/null 2>warm.err || true
check "warm run reuses every verdict (the unsigned file's too)" "grep -q 'persistent cache: 200 files not re-read, 200 verdicts reused' warm.err"
verdicts --key k.pub --cache-dir "$C" > warm.txt || true
check "warm run = plain run" "cmp -s plain.txt warm.txt"

# a changed file (new mtime) is re-hashed and judged again
printf 'y' >> tree/f3; touch -d '1 hour ago' tree/f3.sig
verdicts --key k.pub --cache-dir "$C" > changed.txt || true
check "changed file judged again" "grep -q 'tree/f3 BAD_SIGNATURE' changed.txt"
head -c -1 tree/f3 > tree/f3.tmp && mv tree/f3.tmp tree/f3 && touch -d '1 hour ago' tree/f3
verdicts --key k.pub --cache-dir "$C" > back.txt || true
"$B" verify --key k.pub --cache-dir "$C" tree >/dev/null 2>racy.err || true
check "a file changed within the racy window is read again" "grep -q '199 files not re-read' racy.err"
check "restored file VALID again" "cmp -s plain.txt back.txt"

# a signature swapped for another file's (the file itself unchanged): judged again
cp tree/f4.sig f4.sig.saved && cp tree/f5.sig tree/f4.sig && touch -d '1 hour ago' tree/f4.sig
verdicts --key k.pub --cache-dir "$C" > swapped.txt || true
check "swapped signature judged again" "grep -q 'tree/f4 BAD_SIGNATURE' swapped.txt"
# a signature that appears beside an unsigned file, and a .p7s beside a signed one
cp tree/f10.sig tree/f9.sig
cp tree/f11.sig tree/f12.p7s
verdicts --key k.pub --cache-dir "$C" > appeared.txt || true
check "new signature judged" "grep -q 'tree/f9 BAD_SIGNATURE' appeared.txt"
check "a new .p7s is read (CMS first)" "grep -q 'tree/f12 MALFORMED' appeared.txt"
rm tree/f9.sig tree/f12.p7s; cp f4.sig.saved tree/f4.sig; touch -d '1 hour ago' tree/f4.sig

# another key set: no verdict is reused
"$B" verify --key k.pub --key other.pub --cache-dir "$C" tree >/dev/null 2>keys.err || true
check "changed key set reuses no verdict" "grep -q ' 0 verdicts reused' keys.err || ! grep -q 'verdicts reused' keys.err"

# --paranoid re-hashes everything and still agrees
"$B" verify --key k.pub --cache-dir "$C" --paranoid tree >/dev/null 2>par.err || true
check "--paranoid reads every file" "! grep -q 'files not re-read' par.err"
verdicts --key k.pub --cache-dir "$C" --paranoid > par.txt || true
check "--paranoid verdicts = plain" "cmp -s plain.txt par.txt"

# export (issue 12): an unsigned export carries no VALID verdict; there is no import (exit 2)
"$B" cache --cache-dir "$C" export ex.txt > ex.out
check "export has a header and the BAD_SIGNATURE record" "head -1 ex.txt | grep -qx 'sigsweep-cache-export 1' && grep -q ' BAD_SIGNATURE ' ex.txt"
check "export carries no VALID verdict" "! grep -q ' VALID ' ex.txt"
set +e; "$B" cache --cache-dir "$t/cache2" import ex.txt > im.out 2>im.err; rc=$?; set -e
check "cache import is a usage error (exit 2), nothing made" "[ $rc = 2 ] && [ ! -e \"$t/cache2\" ]"

# corrupt cache: detected, reported once, rebuilt; same verdicts
head -c 100000 /dev/urandom > "$C/data.mdb"
verdicts --key k.pub --cache-dir "$C" > corrupt.txt || true
check "corrupt cache reported" "grep -q 'unusable' err"
check "corrupt cache: verdicts = plain" "cmp -s plain.txt corrupt.txt"
check "corrupt cache moved aside" "ls $C | grep -q 'data.mdb.broken-'"
verdicts --key k.pub --cache-dir "$C" > rebuilt.txt || true
check "rebuilt cache: no notice, verdicts = plain" "! grep -q unusable err && cmp -s plain.txt rebuilt.txt"
# a foreign file where the cache should be
mkdir -p "$t/foreign" && printf 'hello' > "$t/foreign/data.mdb"
verdicts --key k.pub --cache-dir "$t/foreign" > foreign.txt || true
check "foreign cache file: verdicts = plain" "cmp -s plain.txt foreign.txt"

# two processes on one cache at once
rm -rf "$t/shared"
( verdicts --key k.pub --cache-dir "$t/shared" > p1.txt || true ) &
( verdicts --key k.pub --cache-dir "$t/shared" > p2.txt || true ) &
wait
check "two processes, one cache: both = plain" "cmp -s plain.txt p1.txt && cmp -s plain.txt p2.txt"
verdicts --key k.pub --cache-dir "$t/shared" > p3.txt || true
check "after them: = plain" "cmp -s plain.txt p3.txt"

# CMS signatures (F.p7s): judged against trust material, remembered with its fingerprint
"$B" keygen --type ec-p256 --out srv >/dev/null 2>&1
"$B" keygen --type ec-p256 --out other-srv >/dev/null 2>&1
mkdir cms
for i in $(seq 1 20); do head -c $((3000 + i)) /dev/urandom > "cms/c$i"; done
"$B" sign -q --key srv/server.key --cert srv/server.crt cms >/dev/null
printf 'z' >> cms/c5             # BAD_SIGNATURE
mv cms/c7.p7s cms/c7.sig         # CMS in F.sig: judged (and remembered) the same way
find cms -type f -exec touch -d '1 hour ago' {} +
sleep 2.5
cmsv() { # args... -> "path verdict" lines, sorted
  "$B" verify -q --format jsonl --trust srv/server.crt "$@" cms 2>"$t/err" | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if "type" not in r: print(r["path"], r["verdict"], r["signer"], r["digest"])' | sort
}
cmsv > cms-plain.txt || true
check "CMS: 19 VALID" "[ \$(grep -c ' VALID ' cms-plain.txt) = 19 ]"
cmsv --cache-dir "$C" > cms-cold.txt || true
"$B" verify --trust srv/server.crt --cache-dir "$C" cms >/dev/null 2>cms-warm.err || true
check "CMS: warm run reuses every judgement" "grep -q 'persistent cache: 20 files not re-read' cms-warm.err"
cmsv --cache-dir "$C" > cms-warm.txt || true
check "CMS: cold = warm = no cache" "cmp -s cms-plain.txt cms-cold.txt && cmp -s cms-plain.txt cms-warm.txt"
"$B" verify --trust srv/server.crt --trust other-srv/server.crt --cache-dir "$C" cms \
  >/dev/null 2>cms-other.err || true
check "CMS: other trust material reuses nothing" "! grep -q 'files not re-read' cms-other.err"
cp cms/c2.p7s cms/c3.p7s
cmsv --cache-dir "$C" > cms-swapped.txt || true
check "CMS: a signature swapped for another file's is judged again" "grep -q '^cms/c3 BAD_SIGNATURE' cms-swapped.txt"

# stats / clear
"$B" cache --cache-dir "$C" stats > stats.txt
check "stats counts verdicts" "grep -Eq '^verdicts: [1-9]' stats.txt"
"$B" cache --cache-dir "$C" clear
"$B" cache --cache-dir "$C" stats > stats2.txt
check "clear empties it" "grep -q '^verdicts: 0' stats2.txt && grep -q '^files:    0' stats2.txt"
set +e; "$B" cache bogus >/dev/null 2>&1; rc=$?; set -e
check "unknown cache subcommand exits 2" "[ $rc = 2 ]"

# the cache commands other than import never create a cache, and only clear repairs one: a
# missing or unusable cache is an error (exit 2, the reason on stderr), and nothing changes
for sub in stats export clear; do
  for dir in "$t/no/such/cache" /nonexistent/x; do
    if [ "$dir" = /nonexistent/x ] && [ -e /nonexistent/x ]; then continue; fi
    args=$sub; [ $sub = export ] && args="export $t/none.txt"
    set +e; "$B" cache --cache-dir "$dir" $args >/dev/null 2>nodir.err; rc=$?; set -e
    check "cache $sub, no directory $dir: exit 2, says it does not exist, creates nothing" \
      "[ $rc = 2 ] && grep -q 'does not exist' nodir.err && [ ! -e '$dir' ] && [ ! -e '$t/no' ] && [ ! -e '$t/none.txt' ]"
  done
done
mkdir "$t/empty"
set +e; "$B" cache --cache-dir "$t/empty" stats >/dev/null 2>empty.err; rc=$?; set -e
check "cache stats, a directory without a cache: exit 2, nothing made" \
  "[ $rc = 2 ] && grep -q 'no cache at' empty.err && [ -z \"\$(ls -A '$t/empty')\" ]"
mkdir "$t/bad" && head -c 100000 /dev/urandom > "$t/bad/data.mdb"
set +e; "$B" cache --cache-dir "$t/bad" stats >/dev/null 2>bad.err; rc=$?; set -e
check "cache stats, a corrupt cache: exit 2, unusable, not moved aside" \
  "[ $rc = 2 ] && grep -q 'unusable' bad.err && ! ls '$t/bad' | grep -q broken"
set +e; "$B" cache --cache-dir "$t/bad" export bad.txt >/dev/null 2>bad.err; rc=$?; set -e
check "cache export, a corrupt cache: exit 2, unusable, no file" \
  "[ $rc = 2 ] && grep -q 'unusable' bad.err && [ ! -e bad.txt ] && ! ls '$t/bad' | grep -q broken"
set +e; "$B" cache --cache-dir "$t/bad" clear >/dev/null 2>bad.err; rc=$?; set -e
check "cache clear repairs a corrupt cache (exit 0, says so)" \
  "[ $rc = 0 ] && grep -q 'moved aside' bad.err && \"$B\" cache --cache-dir '$t/bad' stats | grep -q '^verdicts: 0'"
if grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$t"/*.err "$t/err" 2>/dev/null; then bad "sanitizer report"; fi
exit $fail
