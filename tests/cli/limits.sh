#!/usr/bin/env bash
# limits.sh SIGSWEEP - --max-file-size (default 64 GiB): a larger file is not read, SKIPPED,
# never VALID, cached or not; --time-limit stops a run that would not end (exit 2, what was
# judged written, the summary says so). No timing assertion: `timeout` only guards a hang.
# shared with the adversarial tests: B, a private temp dir (cwd), check/finish, k.pem/k.pub (Ed25519)
. "$(cd "$(dirname "$0")/../adversarial" && pwd)/lib.sh"
mkdir d
head -c 1024 /dev/urandom > d/at_limit
head -c 1025 /dev/urandom > d/over_limit
"$B" sign -q --key k.pem d >/dev/null
truncate -s 100G huge && head -c 64 /dev/urandom > huge.sig   # sparse: never read

v() { rc=0; timeout 60 "$B" verify --key k.pub "$@" >out 2>err || rc=$?; }
v --max-file-size 1K d
check "1K: a 1024-byte file is read and VALID" "grep -q '^d/at_limit: VALID' out"
check "1K: a 1025-byte file is SKIPPED, over the limit, not read" "grep -q '^d/over_limit: SKIPPED (1025 bytes, over the size limit of 1024 bytes' out && [ $rc = 1 ]"
v huge
check "default limit (64 GiB): a 100 GiB sparse file is SKIPPED, not read" "[ $rc = 1 ] && grep -q '^huge: SKIPPED (107374182400 bytes, over the size limit of 68719476736' out"
v --max-file-size 0 --format jsonl d
check "0: no limit" "[ $rc = 0 ] && [ \$(grep -c '\"verdict\":\"VALID\"' out) = 2 ]"
v --cache-dir "$t/cache" d
check "a cache learns both as VALID" "[ $rc = 0 ]"
v --cache-dir "$t/cache" --max-file-size 1K d
check "a cached VALID over the limit is SKIPPED all the same" "grep -q '^d/over_limit: SKIPPED' out && [ $rc = 1 ]"
for bad in -1 1X 1KB '' K 99999999999999999999 20000000T; do
  v --max-file-size "$bad" d
  check "--max-file-size '$bad': usage error (exit 2)" "[ $rc = 2 ]"
done
# --time-limit: a list that never ends (stdin from a writer that stays open)
rc=0
timeout 60 "$B" verify --key k.pub --time-limit 1 --format jsonl --files-from - >out 2>err \
  < <(printf '%s\n' "$t/d/at_limit"; exec sleep 120) || rc=$?
pkill -f '^sleep 120$' 2>/dev/null || true
check "--time-limit 1 on an endless list: exit 2" "[ $rc = 2 ]"
check "--time-limit: the summary says the limit was reached" "grep -q 'time limit of 1 s reached' err"
check "--time-limit: what was judged is written" "grep -q 'at_limit' out"
for bad in 0 -3 x ''; do
  v --time-limit "$bad" d
  check "--time-limit '$bad': usage error (exit 2)" "[ $rc = 2 ]"
done
finish
