#!/usr/bin/env bash
# cache_attacks.sh SIGSWEEP - the persistent cache trusts only itself (issue 12) and survives a
# full disk (issue 18): a world/group-writable or foreign cache is not used and not touched; a
# hand-written export cannot make a file VALID; a full file system neither kills the run nor
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
# 4. a hand-written export line making a random signature VALID: refused, nothing imported
key=$(printf '%064d' 7)
printf 'sigsweep-cache-export 1\nV %s VALID %s ed25519\n' "$key" "$(printf '%064d' 1)" > forged.txt
set +e; "$B" cache --cache-dir c4 import forged.txt >/dev/null 2>err4; rc=$?; set -e
check "forged VALID import exits 2" "[ $rc = 2 ] && grep -q 'VALID' err4"
check "forged VALID import: nothing imported" "\"$B\" cache --cache-dir c4 stats 2>/dev/null | grep -q '^verdicts: 0 '"
# 4b. a hand-written BAD_SIGNATURE line for the content of a file that verifies (its key, the
# file's digest and the signature are all public): importing it would fail a good file (and
# quarantine it under enforcement). Refused whole, nothing imported; f1 stays VALID.
python3 - k.pub tree/f1 tree/f1.sig > forged_bad.txt <<'EOP'
import hashlib, struct, subprocess, sys
spki = subprocess.run(["openssl", "pkey", "-pubin", "-in", sys.argv[1], "-outform", "DER"],
                      check=True, capture_output=True).stdout
keyset_id = hashlib.sha256(hashlib.sha256(spki).digest()).digest()
tag = struct.pack("<i", 672 * 2)  # NID_sha256, no PSS
digest = hashlib.sha256(open(sys.argv[2], "rb").read()).digest()
sighash = hashlib.sha256(open(sys.argv[3], "rb").read()).digest()
key = hashlib.sha256(b"sigsweep-raw-3" + keyset_id + tag + digest + sighash).hexdigest()
print("sigsweep-cache-export 1\nV %s BAD_SIGNATURE - -" % key)
EOP
set +e; "$B" cache --cache-dir c5 import forged_bad.txt >/dev/null 2>err4b; rc=$?; set -e
check "forged BAD_SIGNATURE import exits 2, naming the file" "[ $rc = 2 ] && grep -q forged_bad.txt err4b"
"$B" verify --key k.pub --cache-dir c5 tree/f1 >out4b 2>/dev/null || true
check "forged BAD_SIGNATURE import: the good file stays VALID" "grep -q 'f1: VALID' out4b"
mkfifo fifo.txt
set +e; guard "$B" cache --cache-dir c4 import fifo.txt >/dev/null 2>err5; rc=$?; set -e
check "import of a FIFO: exit 2, no hang, file named" "[ $rc = 2 ] && grep -q fifo.txt err5"

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
