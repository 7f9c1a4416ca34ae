#!/usr/bin/env bash
# journal_attacks.sh SIGSWEEP - the quarantine journal is input (issue 12): a file that is not a
# journal is never modified; FIFOs and links are refused without hanging; two runs sharing a
# journal never reuse a sequence number and restore brings every file back; a forged journal
# cannot restore a file into another directory or under another name.
. "$(dirname "$0")/lib.sh"
small_tree tree

# 1. --journal naming a file that is not a journal (no final newline): exit 2, byte-identical
printf 'precious\nlast line without newline' > notajournal
cp notajournal before
set +e; "$B" verify --key k.pub --quarantine --journal notajournal tree >/dev/null 2>err1; rc=$?; set -e
check "not a journal: exit 2" "[ $rc = 2 ]"
check "not a journal: unmodified" "cmp -s before notajournal"
check "not a journal: nothing quarantined" "! ls tree | grep -q _invalid"
# 2. a FIFO, a link, a directory as the journal: exit 2, no hang
mkfifo fifo.j
set +e; guard "$B" verify --key k.pub --quarantine --journal fifo.j tree >/dev/null 2>err2; rc=$?; set -e
check "FIFO journal: exit 2, no hang" "[ $rc = 2 ]"
set +e; guard "$B" restore --journal fifo.j >/dev/null 2>err2b; rc=$?; set -e
check "FIFO journal to restore: exit 2, no hang" "[ $rc = 2 ]"
ln -s notajournal link.j
set +e; "$B" verify --key k.pub --quarantine --journal link.j tree >/dev/null 2>err3; rc=$?; set -e
check "link as journal: exit 2, target unmodified" "[ $rc = 2 ] && cmp -s before notajournal"

# 3. two runs on one journal, many files each: unique sequence numbers, full restore, exit 0
mkdir many
for d in a b; do
  mkdir "many/$d"
  for i in $(seq 1 150); do printf 'unsigned %s %s\n' "$d" "$i" > "many/$d/u$i"; done
done
"$B" verify -q --key k.pub --quarantine --force --journal shared.j many/a >/dev/null 2>&1 &
p1=$!
"$B" verify -q --key k.pub --quarantine --force --journal shared.j many/b >/dev/null 2>&1 &
p2=$!
wait $p1 || true; wait $p2 || true
nq=$(grep -c '^Q ' shared.j)
nuniq=$(grep '^Q ' shared.j | awk '{print $2}' | sort -u | wc -l)

check "two runs: 300 Q records" "[ $nq = 300 ]"
check "two runs: sequence numbers unique" "[ $nuniq = 300 ]"
set +e; "$B" restore --journal shared.j >/dev/null 2>err4; rc=$?; set -e
check "restore after two runs: exit 0" "[ $rc = 0 ]"
check "restore after two runs: nothing left quarantined" "! find many -name '*_invalid*' | grep -q ."
check "restore after two runs: all 300 back" "[ \$(find many -type f | wc -l) = 300 ]"

# 3b. a journal others can write (or another user owns) is not trusted: exit 2, nothing renamed
mkdir -p gw && printf 'unsigned\n' > gw/u1
printf 'sigsweep-journal 1\n' > gw.j && chmod 666 gw.j
set +e; "$B" verify -q --key k.pub --quarantine --force --journal gw.j gw >/dev/null 2>errgw; rc=$?; set -e
check "group/other-writable journal: exit 2, not trusted, nothing renamed" "[ $rc = 2 ] && grep -q 'not trusted' errgw && [ -e gw/u1 ]"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  chmod 600 gw.j && chown nobody gw.j
  set +e; "$B" verify -q --key k.pub --quarantine --force --journal gw.j gw >/dev/null 2>errgw; rc=$?; set -e
  check "a journal another user owns: exit 2, not trusted" "[ $rc = 2 ] && grep -q 'owned by uid' errgw && [ -e gw/u1 ]"
fi
# 3c. the same for restore, which opens the journal itself: a real journal, made untrusted
mkdir -p rq && printf 'unsigned\n' > rq/u1
"$B" verify -q --key k.pub --quarantine --force --journal rq.j rq >/dev/null 2>&1 || true
for variant in 666 620 644 640 nobody; do
  if [ "$variant" = nobody ]; then
    { [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; } || continue
    chmod 600 rq.j && chown nobody rq.j
  else
    chmod "$variant" rq.j
  fi
  for dry in "" --dry-run; do
    set +e; "$B" restore $dry --journal rq.j >/dev/null 2>errrq; rc=$?; set -e
    check "restore $dry with an untrusted journal ($variant): exit 2, one line naming it, nothing renamed" \
      "[ $rc = 2 ] && [ \$(wc -l < errrq) = 1 ] && grep -q 'rq.j: .*not trusted' errrq && [ -e rq/u1_invalid ] && [ ! -e rq/u1 ]"
  done
  chown "$(id -u)" rq.j 2>/dev/null || true
done
chmod 600 rq.j
set +e; "$B" restore --journal rq.j >/dev/null 2>&1; rc=$?; set -e
check "restore with the journal trusted again: exit 0, restored" "[ $rc = 0 ] && [ -e rq/u1 ]"

# 4. forged journals: restore into another directory (as /etc) or another name is refused
mkdir -p victim target
printf 'payload\n' > victim/x_invalid
hexp() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
forge() { # forge ORIG QUARANTINED
  local st; st=$(stat -c '%d %i %s' "$2")
  local mt; mt=$(python3 -c 'import os,sys; print(os.lstat(sys.argv[1]).st_mtime_ns)' "$2")
  printf 'sigsweep-journal 1\nQ 1 %s %s %s %s\nD 1\n' "$st" "$mt" "$(hexp "$1")" "$(hexp "$2")" > forged.j
  chmod 600 forged.j # trusted as a journal: refused for what it says, not for its mode
}
for orig in "$t/target/x" "$t/victim/passwd" "$t/victim/../target/x"; do
  forge "$orig" "$t/victim/x_invalid"
  set +e; "$B" restore --journal forged.j >/dev/null 2>err5; rc=$?; set -e
  check "forged restore to $orig: refused (exit != 0), nothing moved" \
    "[ $rc != 0 ] && [ -f victim/x_invalid ] && [ ! -e target/x ] && [ ! -e victim/passwd ]"
done
ln -s victim via
forge "$t/via/x" "$t/via/x_invalid"
set +e; "$B" restore --journal forged.j >/dev/null 2>&1; rc=$?; set -e
check "forged restore through a linked directory: refused" "[ $rc != 0 ] && [ -f victim/x_invalid ]"
forge "$t/victim/x" "$t/victim/x_invalid"
set +e; "$B" restore --journal forged.j >/dev/null 2>&1; rc=$?; set -e
check "the one legitimate rename: restored, exit 0" "[ $rc = 0 ] && [ -f victim/x ]"

# 5. sigsweep's own quarantine is skipped by an enforcing run only as it was left: the very
#    inode, unchanged since its rename (ctime), under its journalled name (issue 18: a file
#    rewritten with its size and mtime put back, or hard-linked as another _invalid name, was
#    skipped with no record and exit 0)
mkdir -p oq
printf 'unsigned one\n' > oq/u; printf 'unsigned two\n' > oq/v; printf 'unsigned three\n' > oq/w
printf 'signed\n' > oq/good && "$B" sign -q --key k.pem oq/good >/dev/null
"$B" verify -q --key k.pub --quarantine --force --journal oq.j oq >/dev/null 2>&1 || true
set +e; "$B" verify --format jsonl --key k.pub --quarantine --force --journal oq.j oq >oq1 2>&1; rc=$?; set -e
check "own quarantine as left: not judged again (exit 0, no _invalid record)" \
  "[ $rc = 0 ] && ! grep -q '_invalid' oq1 && [ -e oq/u_invalid ] && [ -e oq/w_invalid ]"
cp -p oq/u_invalid oq-ref
printf 'UNSIGNED ONE\n' > oq/u_invalid && touch -r oq-ref oq/u_invalid # same size, same mtime
ln oq/v_invalid oq/x_invalid
set +e; "$B" verify --format jsonl --key k.pub --quarantine --force --journal oq.j oq >oq2 2>&1; rc=$?; set -e
check "own quarantine rewritten (size and mtime put back): judged, with a record, exit 1" \
  "[ $rc = 1 ] && grep -q '\"path\":\"oq/u_invalid\"' oq2"
check "own quarantine hard-linked as another _invalid name: both judged" \
  "grep -q '\"path\":\"oq/x_invalid\"' oq2 && grep -q '\"path\":\"oq/v_invalid\"' oq2"
check "own quarantine untouched: still not judged" "! grep -q '\"path\":\"oq/w_invalid\"' oq2"

# 6. a journal locked by another process of the same user (never released): the run is not
#    stuck; it ends at --time-limit with exit 2, says why, and renames nothing
mkdir -p lk && printf 'unsigned\n' > lk/u
"$B" verify -q --key k.pub --quarantine --journal lk.j tree/f1 >/dev/null 2>&1
( flock -x 9 && touch lk.held && exec sleep 300 ) 9<lk.j >/dev/null 2>&1 &
holder=$! # the sleep itself (exec): killing it lets go of the lock
for _ in $(seq 1 600); do [ -e lk.held ] && break; sleep 0.05; done
set +e; guard "$B" verify --key k.pub --quarantine --force --time-limit 2 --journal lk.j lk >lk.out 2>lk.err; rc=$?; set -e
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null || true
check "journal lock held elsewhere: exit 2 at the time limit, said, nothing renamed" \
  "[ $rc = 2 ] && grep -q 'waiting for the journal lock' lk.out && [ -e lk/u ] && [ ! -e lk/u_invalid ]"

# 7. two quarantining runs on one journal over the SAME tree: each file quarantined once, the
#    loser says it was already quarantined (not "No such file"), every Q has its D or U, and
#    restore brings all back with exit 0
mkdir same
for i in $(seq 1 300); do printf 'unsigned %s\n' "$i" > "same/u$i"; done
"$B" verify --key k.pub --quarantine --force --journal same.j same >same1 2>&1 &
p1=$!
"$B" verify --key k.pub --quarantine --force --journal same.j same >same2 2>&1 &
p2=$!
wait $p1 || true; wait $p2 || true
nq=$(grep -c '^Q ' same.j); nd=$(grep -c '^[DU] ' same.j)
check "same tree twice: no 'No such file', every Q closed (Q $nq, D/U $nd)" \
  "! grep -q 'No such file' same1 same2 && [ $nq = $nd ]"
check "same tree twice: 300 quarantined once each" \
  "[ \$(find same -name 'u*_invalid' | wc -l) = 300 ] && ! find same -name '*_invalid.*' | grep -q ."
set +e; "$B" restore --journal same.j >same.r 2>&1; rc=$?; set -e
check "same tree twice: restore exit 0, all 300 back" \
  "[ $rc = 0 ] && [ \$(find same -type f -name 'u*' ! -name '*_invalid*' | wc -l) = 300 ]"
# 8. a journal's place: a directory others can write (not sticky), or another user owns, on
#    the way to the journal is refused (someone could swap an older journal in): exit 2
mkdir -p open-dir && chmod 777 open-dir
set +e; "$B" verify -q --key k.pub --quarantine --journal open-dir/J lk >/dev/null 2>errod; rc=$?; set -e
check "journal in a directory others can write: exit 2, said, nothing renamed" \
  "[ $rc = 2 ] && grep -q 'writable by others' errod && [ -e lk/u ] && [ ! -e open-dir/J ]"
mkdir -p sticky-dir && chmod 1777 sticky-dir
set +e; "$B" verify -q --key k.pub --quarantine --force --journal sticky-dir/J lk >/dev/null 2>&1; rc=$?; set -e
check "journal in a sticky directory (as /tmp): used" "[ $rc = 1 ] && [ -e lk/u_invalid ]"
"$B" restore --journal sticky-dir/J >/dev/null 2>&1 || true
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  mkdir -p nobody-dir/sub && chown nobody nobody-dir
  set +e; "$B" verify -q --key k.pub --quarantine --journal nobody-dir/sub/J lk >/dev/null 2>errnd; rc=$?; set -e
  check "journal below a directory another user owns: exit 2, said" \
    "[ $rc = 2 ] && grep -q 'owned by uid' errnd && [ -e lk/u ]"
  # 9. a quarantined file another user owns (who could rewrite it through a shared mapping,
  #    leaving mtime and ctime alone): judged again with a record, never renamed again
  mkdir -p other && printf 'unsigned\n' > other/n && printf 'signed\n' > other/good
  "$B" sign -q --key k.pem other/good >/dev/null && chown nobody other/n
  "$B" verify -q --key k.pub --quarantine --force --journal other.j other >/dev/null 2>&1 || true
  set +e; "$B" verify --key k.pub --quarantine --force --journal other.j other >oth 2>&1; rc=$?; set -e
  check "another user's quarantined file: judged (record, exit 1), not renamed again" \
    "[ $rc = 1 ] && grep -q '^other/n_invalid: .*not quarantined again' oth && [ -e other/n_invalid ] && ! ls other | grep -q 'n_invalid_invalid'"
fi

# 10. a quarantined file named on the command line: judged (a record), not renamed again
set +e; "$B" verify --key k.pub --quarantine --force --journal oq.j oq/w_invalid >named 2>&1; rc=$?; set -e
check "own quarantine named directly: a record, exit 1, not renamed again" \
  "[ $rc = 1 ] && grep -q '^oq/w_invalid: .*not quarantined again' named && [ -e oq/w_invalid ]"

# 11. a file-size limit (ulimit -f) on an enforcing run: no death by SIGXFSZ; every file gets
#     its record, what did not fit is NOT QUARANTINED (exit 2), the journal stays whole and
#     restore brings back what was renamed
mkdir -p fsz
for i in $(seq 1 20); do printf 'unsigned %s\n' "$i" > "fsz/u$i"; done
set +e
( ulimit -f 1; exec "$B" verify --key k.pub --quarantine --force --journal fsz.j fsz ) 2>&1 | cat >fszo
rc=${PIPESTATUS[0]}; set -e
check "ulimit -f: exit 2 (not killed), 20 records, the journal ends with a whole line" \
  "[ $rc = 2 ] && [ \$(grep -c '^fsz/u' fszo) = 20 ] && grep -q 'File too large' fszo && [ \"\$(tail -c 1 fsz.j | od -An -c | tr -d ' ')\" = '\n' ]"
set +e; "$B" restore --journal fsz.j >/dev/null 2>&1; rc=$?; set -e
check "ulimit -f: restore exit 0, all 20 back" \
  "[ $rc = 0 ] && [ \$(find fsz -name 'u*' ! -name '*_invalid*' | wc -l) = 20 ]"
finish
