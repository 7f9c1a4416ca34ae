#!/usr/bin/env bash
# write_attacks.sh SIGSWEEP - every file sigsweep writes goes through one writer: a device node
# (made here by mknod, never /dev/null itself) or a FIFO at the destination is written into or
# refused, never replaced by a regular file; a symlink is replaced, never written through; an
# existing report keeps its mode; a FIFO without a reader is an error, not a hang; nothing is
# left behind in the destination's directory.
. "$(dirname "$0")/lib.sh"
small_tree tree
mkdir out
dev_ok=0
if mknod out/null c 1 3 2>/dev/null; then dev_ok=1; fi
rcof() { set +e; guard "$@" >cmd.out 2>cmd.err; rc=$?; set -e; }
is_chr() { [ -c "$1" ] && [ ! -L "$1" ]; }
if [ $dev_ok = 1 ]; then
  rcof "$B" verify --key k.pub --output out/null tree
  check "--output DEVICE: written into, still a character device" "[ $rc = 1 ] && is_chr out/null"
  rcof "$B" package create tree --out out/null
  check "package create --out DEVICE: refused (exit 2), device kept" "[ $rc = 2 ] && is_chr out/null"
  "$B" verify -q --key k.pub --cache-dir cdir tree >/dev/null 2>&1 || true
  rcof "$B" cache --cache-dir cdir export out/null
  check "cache export to DEVICE: written into, device kept" "[ $rc = 0 ] && is_chr out/null"
  cp tree/f1 out/prog; mknod out/prog.sig c 1 3
  rcof "$B" sign --key k.pem out/prog
  check "sign over a device at F.sig: refused, device kept" "[ $rc != 0 ] && is_chr out/prog.sig"
  rm -f out/prog out/prog.sig
else
  echo "mknod not permitted: device cases not run"
fi
mkfifo out/fifo
rcof "$B" verify --key k.pub --output out/fifo tree
check "--output FIFO without a reader: exit 2 at once, FIFO kept" "[ $rc = 2 ] && [ -p out/fifo ] && grep -q 'no reader' cmd.err"
( cat out/fifo > fifo.got & ); sleep 0.5
rcof "$B" verify --key k.pub --output out/fifo tree
sleep 0.3
check "--output FIFO with a reader: the report arrives, FIFO kept" "[ $rc = 1 ] && [ -p out/fifo ] && grep -q 'tree/f1: VALID' fifo.got"
rcof "$B" package create tree --out out/fifo
check "package create --out FIFO: refused, FIFO kept" "[ $rc = 2 ] && [ -p out/fifo ]"
echo secret > victim; chmod 600 victim
ln -s ../victim out/link
rcof "$B" verify --key k.pub --output out/link tree
check "--output SYMLINK: replaced by the report, its target untouched" \
  "[ ! -L out/link ] && [ -f out/link ] && [ \"\$(cat victim)\" = secret ]"
ln -s ../victim out/mlink
rcof "$B" package create tree --out out/mlink
check "package create --out SYMLINK: replaced, target untouched" "[ ! -L out/mlink ] && [ \"\$(cat victim)\" = secret ]"
echo old > out/report; chmod 640 out/report
rcof "$B" verify --key k.pub --output out/report tree
check "an existing report keeps its mode (640)" "[ \"\$(stat -c %a out/report)\" = 640 ] && grep -q VALID out/report"
mkdir out/dir
rcof "$B" verify --key k.pub --output out/dir tree
check "--output DIRECTORY: exit 2" "[ $rc = 2 ] && [ -d out/dir ]"
check "no temporary file left in the destination directory" "[ -z \"\$(ls -A out | grep '^\.')\" ]"
# --output inside the audited tree, enforcing: the report (old and new) and its temporary file
# are neither judged nor quarantined; it keeps its mode
rm -rf t2; small_tree t2; echo old > t2/report.txt; chmod 640 t2/report.txt
rcof "$B" verify --key k.pub --quarantine --force --journal j2 --output t2/report.txt t2
check "--output inside the tree: no record for the report, not quarantined, mode kept" \
  "[ $rc = 1 ] && ! grep -q report t2/report.txt && [ -f t2/report.txt ] && [ \"\$(stat -c %a t2/report.txt)\" = 640 ] && ! ls t2 | grep -q 'report.*_invalid' && [ -e t2/f3_invalid ]"
finish
