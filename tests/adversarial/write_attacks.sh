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

# keygen, export-agent-key, trust add and the journal: files that are never overwritten. Each
# against a device node, a FIFO with a reader (this shell: fd 3 holds it open for reading, so
# nothing can block, and `read -t 0` tells whether a byte arrived), a symlink, a directory
# this user may not write (as root, the command runs as nobody: root writes anywhere).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
  -subj /CN=wa-ca -days 30 -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign 2>/dev/null
ca_name=$(openssl x509 -in ca.pem -outform DER | sha256sum | cut -c1-16).pem
"$B" keygen --type ec-p256 --out kg0 >/dev/null
fed() { read -r -t 0 -u 3; } # a byte is waiting in the FIFO
# plant KIND PATH: a device (returns 1 when mknod is not permitted), a FIFO with a reader on fd 3,
# or a symlink to ./victim
plant() {
  rm -f "$2"
  case $1 in
    dev) mknod "$2" c 1 3 2>/dev/null ;;
    fifo) mkfifo "$2" && exec 3<>"$2" ;;
    link) ln -s "$PWD/victim" "$2" ;;
  esac
}
kept() { # KIND PATH: still what was planted, nothing written through or into it
  case $1 in
    dev) is_chr "$2" ;;
    fifo) [ -p "$2" ] && ! fed ;;
    link) [ -L "$2" ] && [ "$(cat victim)" = secret ] ;;
  esac
}
# writer_cmd WRITER DEST: runs the writer with DEST as (one of) the files it writes
writer_cmd() {
  case $1 in
    keygen) rcof "$B" keygen --type ec-p256 --out "$(dirname "$2")" ;;
    export) rcof "$B" export-agent-key --server-cert kg0/server.crt --out "$2" ;;
    trust) rcof "$B" trust add "$(dirname "$2")" ca.pem ;;
    journal) rm -rf jt; small_tree jt
             rcof "$B" verify --key k.pub --quarantine --force --journal "$2" jt ;;
  esac
}
dest_of() { # WRITER DIR: the file that writer writes in DIR
  case $1 in
    keygen) echo "$2/server.crt" ;; export) echo "$2/agent.dat" ;;
    trust) echo "$2/$ca_name" ;; journal) echo "$2/q.journal" ;;
  esac
}
for w in keygen export trust journal; do
  for kind in dev fifo link; do
    rm -rf "w-$w"; mkdir "w-$w"; d=$(dest_of "$w" "w-$w")
    if ! plant "$kind" "$d"; then echo "mknod not permitted: $w $kind not run"; continue; fi
    writer_cmd "$w" "$d"
    want=2; [ "$w" = trust ] && want=1 # trust add: a REFUSED line, exit 1
    check "$w over a $kind: exit $want, $kind kept, nothing written" \
      "[ $rc = $want ] && kept $kind '$d'"
    check "$w over a $kind: no temporary file left" "[ -z \"\$(ls -A w-$w | grep '^\.')\" ]"
    [ "$w" != journal ] || check "journal over a $kind: nothing quarantined" "! ls jt | grep -q _invalid"
    [ "$w" != keygen ] || check "keygen over a $kind: no key written (all or none)" "[ ! -e w-keygen/server.key ]"
    [ "$kind" != fifo ] || exec 3<&-
  done
  # a directory this user may not write
  rm -rf "w-$w"; mkdir -m 755 "w-$w"; d=$(dest_of "$w" "w-$w")
  if [ "$(id -u)" = 0 ]; then
    chmod 755 . kg0 && chmod 644 ca.pem k.pub
    asu=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  else
    chmod 555 "w-$w"; asu=(env)
  fi
  case $w in
    keygen) rcof "${asu[@]}" "$B" keygen --type ec-p256 --out "w-$w" ;;
    export) rcof "${asu[@]}" "$B" export-agent-key --server-cert kg0/server.crt --out "$d" ;;
    trust) rcof "${asu[@]}" "$B" trust add "w-$w" ca.pem ;;
    journal) rm -rf jt; small_tree jt; [ "$(id -u)" != 0 ] || chown -R 65534:65534 jt
             rcof "${asu[@]}" "$B" verify --key k.pub --quarantine --force --journal "$d" jt ;;
  esac
  want=2; [ "$w" = trust ] && want=1
  check "$w into a read-only directory: exit $want, nothing made" \
    "[ $rc = $want ] && [ -z \"\$(ls -A w-$w)\" ]"
  [ "$w" != journal ] || check "journal in a read-only directory: nothing quarantined" "! ls jt | grep -q _invalid"
  chmod 755 "w-$w"; chmod 700 .
done
finish
