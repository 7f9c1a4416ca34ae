#!/usr/bin/env bash
# sigfile_attacks.sh SIGSWEEP - signature files cannot carry or hide anything: a PEM CMS
# signature with a script before or after its block is MALFORMED (as DER with trailing bytes
# is), and a chain of signature names (F.sig.sig, F.sig.p7s) hides no file.
. "$(dirname "$0")/lib.sh"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -subj /CN=root -days 30 \
  -addext keyUsage=digitalSignature,keyCertSign -addext extendedKeyUsage=codeSigning 2>/dev/null
mkdir c; echo hello > c/F
openssl cms -sign -binary -in c/F -signer ca.pem -inkey ca.key -outform PEM -out p.pem
run() { set +e; guard "$B" verify "$@" >vout 2>verr; rc=$?; set -e; }
cp p.pem c/F.p7s; run --trust ca.pem c
check "PEM CMS alone: VALID" "[ $rc = 0 ] && grep -q 'c/F: VALID' vout"
{ printf '#!/bin/sh\necho PWNED; exit 0\n'; cat p.pem; } > c/F.p7s; run --trust ca.pem c
check "a script before the PEM block: MALFORMED, exit 1" "[ $rc = 1 ] && grep -q 'c/F: MALFORMED' vout"
{ cat p.pem; printf 'echo PWNED\n'; } > c/F.p7s; run --trust ca.pem c
check "bytes after the PEM block: MALFORMED" "[ $rc = 1 ] && grep -q 'c/F: MALFORMED' vout"
{ cat p.pem p.pem; } > c/F.p7s; run --trust ca.pem c
check "two PEM blocks: MALFORMED" "[ $rc = 1 ] && grep -q 'c/F: MALFORMED' vout"
small_tree s
cp /bin/true s/f1.sig.sig; cp /bin/true s/f1.sig.p7s; cp /bin/true s/f2.sig.sig.sig
run --key k.pub s
check "F.sig.sig, F.sig.p7s, F.sig.sig.sig each get a record" \
  "grep -q 's/f1.sig.sig: NO_SIGNATURE' vout && grep -q 's/f1.sig.p7s: NO_SIGNATURE' vout && grep -q 's/f2.sig.sig.sig: ' vout"
finish
