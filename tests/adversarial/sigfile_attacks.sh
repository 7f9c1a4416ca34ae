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
# A signature is consumed only when its F is judged in this run. F skipped as sigsweep's own
# quarantine (by the journal), or F the run's --output report: F.sig and F.p7s get records.
mkdir q; printf 'unsigned\n' > q/x; cp s/f1 q/good; cp s/f1.sig q/good.sig
run --key k.pub --quarantine --force --journal q.j q
check "set-up: q/x quarantined" "[ -e q/x_invalid ]"
cp /bin/true q/x_invalid.sig; cp /bin/true q/x_invalid.p7s
run --key k.pub --quarantine --force --journal q.j q
check "walked: the signatures of a journal-skipped x_invalid get records (exit 1)" \
  "[ $rc = 1 ] && grep -q 'q/x_invalid.sig: NO_SIGNATURE' vout && grep -q 'q/x_invalid.p7s: NO_SIGNATURE' vout && ! grep -q 'q/x_invalid:' vout"
rm -f q/x_invalid.p7s_invalid q/x_invalid.sig_invalid; cp /bin/true q/x_invalid.sig
run --key k.pub --quarantine --force --journal q.j q/x_invalid.sig
check "given: x_invalid.sig names x_invalid, judged through it (a record, exit 1), not renamed again" \
  "[ $rc = 1 ] && grep -q '^q/x_invalid: MALFORMED .*not quarantined again' vout && [ -e q/x_invalid ]"
mkdir o; cp s/f1 o/good; cp s/f1.sig o/good.sig
run --key k.pub --output o/report o
cp /bin/true o/report.sig
run --key k.pub --output o/report o
check "the signature beside the excluded --output report gets a record (exit 1)" \
  "[ $rc = 1 ] && grep -q 'o/report.sig: NO_SIGNATURE' o/report && ! grep -q 'o/report:' o/report"
finish
