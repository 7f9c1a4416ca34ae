#!/usr/bin/env bash
# hints.sh SIGSWEEP - a signature made with the other RSA padding or another hash reads as such,
# not as tampering (the verdict stays BAD_SIGNATURE); a run in which nothing verified names the
# likely cause once on stderr; a changed file is named as changed.
# shared with the adversarial tests: B, a private temp dir (cwd), check/finish, k.pem/k.pub (Ed25519)
. "$(cd "$(dirname "$0")/../adversarial" && pwd)/lib.sh"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out k.pem 2>/dev/null
openssl pkey -in k.pem -pubout -out k.pub
for f in pss pkcs1 sha512 sha1 changed good; do echo "file $f" > "$f"; done
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sign k.pem -out pss.sig pss
openssl dgst -sha256 -sign k.pem -out pkcs1.sig pkcs1
openssl dgst -sha512 -sign k.pem -out sha512.sig sha512
openssl dgst -sha1 -sign k.pem -out sha1.sig sha1
openssl dgst -sha256 -sign k.pem -out changed.sig changed
echo tampered >> changed
openssl dgst -sha256 -sign k.pem -out good.sig good

v() { rc=0; "$B" verify --key k.pub "$@" >out 2>err || rc=$?; }
line() { grep "^$1: " out || true; }
v pss pkcs1 sha512 sha1 changed good
check "exit 1" "[ $rc = 1 ]"
check "PSS signature, PKCS#1 run: BAD_SIGNATURE, 'pass --pss'" "line pss | grep -q 'BAD_SIGNATURE.*verifies as RSA-PSS.*pass --pss'"
check "SHA-512 signature, SHA-256 run: 'pass --hash sha512'" "line sha512 | grep -q 'BAD_SIGNATURE.*SHA512 digest: pass --hash sha512'"
check "SHA-1 signature: named, not offered as an option" "line sha1 | grep -q 'BAD_SIGNATURE.*SHA1 digest, a hash sigsweep does not accept'"
check "changed file: named as changed after signing" "line changed | grep -q 'BAD_SIGNATURE.*the file changed after it was signed'"
check "the good ones VALID" "line good | grep -q '^good: VALID' && line pkcs1 | grep -q '^pkcs1: VALID'"
check "some verified: no 'nothing verified' line" "! grep -q 'no signature in this run verified' err"
v --pss pkcs1 sha512 good
check "--pss run, PKCS#1 signature: 'leave out --pss'" "line pkcs1 | grep -q 'BAD_SIGNATURE.*verifies as RSA PKCS#1 v1.5.*leave out --pss'"
check "--pss run, SHA-512 PKCS#1: both named" "line sha512 | grep -q 'pass --hash sha512 and leave out --pss'"
check "nothing verified: the likely cause once on stderr" "[ \$(grep -c 'no signature in this run verified' err) = 1 ] && grep -q -- '--hash or --pss' err"
v --pss -q pkcs1 sha512 good
check "-q: no such line" "! grep -q 'no signature in this run verified' err"
v --hash sha512 sha512
check "the hint's command verifies" "[ $rc = 0 ] && grep -q '^sha512: VALID' out"
v --pss pss
check "the hint's other command verifies" "[ $rc = 0 ] && grep -q '^pss: VALID' out"
# ECDSA and RSA-PSS name no hash: the file is hashed again with the others to find it
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
openssl pkey -in ec.pem -pubout -out ec.pub
echo ec > ec384 && openssl dgst -sha384 -sign ec.pem -out ec384.sig ec384
echo pss512 > pss512 && openssl dgst -sha512 -sigopt rsa_padding_mode:pss -sign k.pem -out pss512.sig pss512
v --key ec.pub ec384 pss512 good
check "ECDSA over SHA-384, SHA-256 run: BAD_SIGNATURE, 'pass --hash sha384'" "line ec384 | grep -q 'BAD_SIGNATURE.*sha384 digest.*pass --hash sha384'"
check "RSA-PSS over SHA-512, PKCS#1 SHA-256 run: 'pass --hash sha512 --pss'" "line pss512 | grep -q 'BAD_SIGNATURE.*pass --hash sha512 --pss'"
rc=0; "$B" verify --key ec.pub --hash sha384 ec384 >out 2>err || rc=$?
check "ECDSA: the hint's command verifies" "[ $rc = 0 ]"

# F.p7s and F.sig both there: the reason names which one decided and that the other was not judged
cp good both && cp good.sig both.sig && echo junk > both.p7s
v both
check "both F.p7s and F.sig: the precedence is in the reason" "line both | grep -q 'both.sig is there too and was not judged: when both exist, both.p7s decides'"
v .
check "both, found by the walk: the same" "grep -q '^./both: .*both.sig is there too and was not judged' out"
finish
