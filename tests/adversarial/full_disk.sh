#!/usr/bin/env bash
# full_disk.sh SIGSWEEP - a full file system for the report and the journal (issue 18), in a
# private mount namespace with its own 256 KiB tmpfs (never the machine's disks): the run ends
# with exit 2 and says why, an existing report keeps its previous contents, and no file is
# renamed without its journal record. (The cache's full-disk cases: cache_attacks.sh.)
. "$(dirname "$0")/lib.sh"

if ! unshare --mount true 2>/dev/null; then
  echo "skip: the full-disk test needs unshare --mount (not permitted here)"; exit 0
fi
small_tree tree
cp -a tree tree2
mkdir full
cat > full.sh <<'EOS'
set -u
B=$1
mount -t tmpfs -o size=256k tmpfs full || exit 99
# a report written before, then the disk filled to the last block
printf 'the report of yesterday\n' > full/report
mkdir full/jdir
"$B" verify --key k.pub --quarantine --journal full/jdir/J tree >/dev/null 2>&1 # the journal made
dd if=/dev/zero of=full/filler bs=4k 2>/dev/null
sync
"$B" verify --key k.pub --output full/report tree >out1 2>err1; echo "rc1=$?"
"$B" verify --key k.pub --output full/new-report tree >out2 2>err2; echo "rc2=$?"
"$B" verify --key k.pub --quarantine --journal full/jdir/J2 tree2 >out3 2>err3; echo "rc3=$?"
ls tree2 > ls3
"$B" verify --key k.pub --quarantine --journal full/jdir/J tree2 >out4 2>err4; echo "rc4=$?"
ls tree2 > ls4
cp full/jdir/J J.after
cp full/report report.after
ls full > ls-full
EOS
set +e; unshare --mount bash full.sh "$B" > rcs 2>&1; set -e
if grep -qx 'rc1=99' rcs || ! grep -q 'rc1=' rcs; then
  echo "skip: cannot mount a tmpfs here"; cat rcs; exit 0
fi
check "report on a full disk: exit 2, said" "grep -qx 'rc1=2' rcs && grep -qi 'no space' err1"
check "report on a full disk: the existing report keeps its contents" \
  "[ \"\$(cat report.after)\" = 'the report of yesterday' ]"
check "new report on a full disk: exit 2, no partial report, no temporary file left" \
  "grep -qx 'rc2=2' rcs && ! grep -q 'new-report' ls-full && [ \$(grep -c . ls-full) = 3 ]"
check "a new journal on a full disk: exit 2, the journal named" \
  "grep -qx 'rc3=2' rcs && grep -q 'full/jdir/J2' err3"
check "a new journal on a full disk: nothing renamed" "! grep -q _invalid ls3"
# an existing journal: whatever still fits is journalled; nothing is renamed without its record
renamed_ok() {
  local f
  for f in $(grep _invalid ls4); do
    python3 - "$f" J.after <<'PY' || return 1
import sys
name = sys.argv[1]
q = {l.split()[1]: bytes.fromhex(l.split()[7]).decode() for l in open(sys.argv[2]) if l.startswith("Q ")}
done = {l.split()[1] for l in open(sys.argv[2]) if l.startswith("D ")}
sys.exit(0 if any(v.endswith("/" + name) and k in done for k, v in q.items()) else 1)
PY
  done
}
check "an existing journal on a full disk: every rename has its journal record (rc \$(grep rc4 rcs))" \
  "grep -qx 'rc4=[12]' rcs && renamed_ok"
finish
