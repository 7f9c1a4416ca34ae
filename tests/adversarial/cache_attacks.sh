#!/usr/bin/env bash
# cache_attacks.sh SIGSWEEP - the persistent cache trusts only itself (issue 12) and survives a
# full disk (issue 18): a world/group-writable or foreign cache is not used and not touched; a
# hand-written export cannot make a file VALID (there is no import); a full file system neither kills the run nor
# the cache for later runs.
. "$(dirname "$0")/lib.sh"
small_tree tree
sleep 2.5 # ctime (touch cannot set it) ages past the racy window: entries get written

# 1. world-writable cache directory: the run goes on without it, one warning, nothing moved
mkdir -m 0700 c1
"$B" verify -q --key k.pub --cache-dir c1 tree >/dev/null 2>&1 || true
chmod 0777 c1
set +e; "$B" verify --key k.pub --cache-dir c1 tree >out1 2>err1; rc=$?; set -e
check "world-writable cache: run completes (exit 1: one bad file)" "[ $rc = 1 ]"
check "world-writable cache: warned" "grep -q 'not used' err1"
check "world-writable cache: nothing moved aside" "! ls c1 | grep -q broken"
check "world-writable cache: f3 not VALID" "grep 'f3' out1 | grep -qv ' VALID'"
chmod 0700 c1
# 2. group-writable data file: refused, not moved
chmod 0660 c1/data.mdb
"$B" verify --key k.pub --cache-dir c1 tree >/dev/null 2>err2 || true
check "group-writable data.mdb: warned, kept" "grep -q 'not used' err2 && [ -f c1/data.mdb ]"
chmod 0600 c1/data.mdb
# 3. a cache owned by another user: refused, never moved aside nor replaced
if [ "$(id -u)" = 0 ]; then
  chown 4242 c1 c1/data.mdb
  "$B" verify --key k.pub --cache-dir c1 tree >/dev/null 2>err3 || true
  check "foreign cache: warned" "grep -q 'another user' err3"
  check "foreign cache: untouched" "[ \$(stat -c %u c1/data.mdb) = 4242 ] && ! ls c1 | grep -q broken"
  chown 0 c1 c1/data.mdb
fi
# 4. a hand-written export line making a random signature VALID: there is no import to take it
# (an unsigned file may not decide a verdict): a usage error, no cache made
key=$(printf '%064d' 7)
printf 'sigsweep-cache-export 1\nV %s VALID %s ed25519\n' "$key" "$(printf '%064d' 1)" > forged.txt
set +e; "$B" cache --cache-dir c4 import forged.txt >/dev/null 2>err4; rc=$?; set -e
check "no cache import: exit 2, no cache made" "[ $rc = 2 ] && [ ! -e c4 ]"

# 5. full file system (private mount namespace, own tmpfs of 1 MiB)
if unshare --mount true 2>/dev/null; then
  mkdir full
  mkdir big
  for i in $(seq 1 400); do head -c 200 /dev/urandom > "big/f$i"; done
  "$B" sign -q --key k.pem big >/dev/null
  find big -type f -exec touch -d '1 hour ago' {} +
  sleep 2.5
  # one namespace per variant: 0, 12, 28, 40 KiB left free before the first run
  for free in 0 3 7 10; do
    cat > full.sh <<'EOS'
set -u
mount -t tmpfs -o size=1m tmpfs full || exit 99
mkdir full/c
dd if=/dev/zero of=full/filler bs=4k count=300 2>/dev/null
rm full/filler
dd if=/dev/zero of=full/filler bs=4k count=$((256 - $2)) 2>/dev/null
for n in 1 2; do "$1" verify -q --key k.pub --cache-dir full/c big >/dev/null 2>>full.err; echo "rc$n=$?"; done
rm -f full/filler
for n in 3 4; do "$1" verify -q --key k.pub --cache-dir full/c big >/dev/null 2>>full.err; echo "rc$n=$?"; done
EOS
    set +e; unshare --mount bash full.sh "$B" "$free" > rcs 2>&1; set -e
    if grep -qx 'rc1=99' rcs || ! grep -q 'rc1=' rcs; then echo "skip: cannot mount a tmpfs"; break; fi
    check "full disk ($free pages free): runs end normally (exit 0), no SIGBUS" \
      "[ \$(grep -cx 'rc[1-4]=0' rcs) = 4 ]"
    check "full disk ($free pages free): cache never moved aside" "! grep -qi 'moved aside' full.err"
    rm -f full.err
  done
else
  echo "skip: full-disk test needs unshare --mount (not permitted here)"
fi
finish
