#!/usr/bin/env bash
# key_attacks.sh SIGSWEEP - no degenerate or weak key makes anything VALID: an RSA key with
# e = 1 or an even e, Ed25519 keys of small order (with which one fixed signature verifies
# every file), RSA-1024 raw keys, an RSA-1024 CMS signer chained to --trust; each refused at
# load (exit 2, the file named) or judged non-VALID; --min-security lowers the floor with a
# warning, never for a degenerate key.
. "$(dirname "$0")/lib.sh"
small_tree tree
rm -f tree/*.sig
# rsa_spki E OUT: a DER SubjectPublicKeyInfo with a real 2048-bit modulus and exponent E
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out r.pem 2>/dev/null
rsa_spki() {
  python3 - "$1" "$2" <<'PY'
import subprocess, sys
mod = subprocess.run(["openssl", "rsa", "-in", "r.pem", "-noout", "-modulus"],
                     capture_output=True, check=True).stdout.decode().split("=")[1].strip()
def der(tag, body):
    n = len(body)
    l = bytes([n]) if n < 128 else (lambda b: bytes([0x80 | len(b)]) + b)(n.to_bytes((n.bit_length() + 7) // 8, "big"))
    return bytes([tag]) + l + body
def integer(v):
    b = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big")
    return der(2, b)
rsa = der(0x30, integer(int(mod, 16)) + integer(int(sys.argv[1])))
alg = der(0x30, der(6, bytes.fromhex("2a864886f70d010101")) + b"\x05\x00")
open(sys.argv[2], "wb").write(der(0x30, alg + der(3, b"\x00" + rsa)))
PY
}
verify_rc() { set +e; guard "$B" verify "$@" tree >vout 2>verr; rc=$?; set -e; }
for e in 1 2 4 65536; do
  rsa_spki $e e$e.der
  verify_rc --key e$e.der
  check "RSA e=$e: exit 2, file named, 'public exponent'" \
    "[ $rc = 2 ] && grep -q e$e.der verr && grep -q 'public exponent' verr"
  verify_rc --key e$e.der --min-security 0
  check "RSA e=$e with --min-security 0: still refused" "[ $rc = 2 ]"
done
# e = 1: the padded digest is its own "signature": had the key loaded, this would verify
# Ed25519 small-order keys (identity, order 2, 4, 8) and a non-canonical encoding
for hex in 0100000000000000000000000000000000000000000000000000000000000000 \
           ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f \
           0000000000000000000000000000000000000000000000000000000000000080 \
           26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05 \
           edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f; do
  printf '302a300506032b6570032100%s' "$hex" | xxd -r -p > ed.der
  # the forgery such a key would accept: R = identity, S = 0, for every file
  for f in tree/f*; do printf '01%0126d' 0 | xxd -r -p > "$f.sig"; done
  verify_rc --key ed.der --min-security 0
  check "Ed25519 key ${hex:0:8}...: refused at load (exit 2)" \
    "[ $rc = 2 ] && grep -q 'degenerate Ed25519' verr && ! grep -q VALID vout"
done
rm -f tree/*.sig
# RSA-1024 raw key: refused by default, accepted with a warning when the floor is lowered
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out r1024.pem 2>/dev/null
openssl pkey -in r1024.pem -pubout -out r1024.pub
for f in tree/f*; do openssl dgst -sha256 -sign r1024.pem -out "$f.sig" "$f"; done
verify_rc --key r1024.pub
check "RSA-1024 raw key: exit 2 naming the key and the floor" \
  "[ $rc = 2 ] && grep -q r1024.pub verr && grep -q '112-bit floor' verr"
verify_rc --key r1024.pub --min-security 80
check "RSA-1024 with --min-security 80: judged (exit 0), with a warning" \
  "[ $rc = 0 ] && grep -q 'warning: keys of 80-bit security' verr && grep -q ': VALID' vout"
rm -f tree/*.sig
# an RSA-1024 CMS signer under a 2048-bit CA given with --trust: never VALID by default
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj /CN=ca \
  -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -new -key r1024.pem -subj /CN=weak-signer -out w.csr 2>/dev/null
openssl x509 -req -in w.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 10 -out w.crt \
  -extfile <(printf 'keyUsage=digitalSignature\nextendedKeyUsage=codeSigning\n') 2>/dev/null
for f in tree/f1 tree/f2; do
  openssl cms -sign -binary -in "$f" -signer w.crt -inkey r1024.pem -outform DER -out "$f.p7s"
done
verify_rc --trust ca.crt
check "RSA-1024 CMS signer chained to --trust: not VALID, the key named" \
  "! grep -q 'tree/f1: VALID' vout && grep 'tree/f1:' vout | grep -q 'RSA-1024'"
verify_rc --trust ca.crt --min-security 80
check "... VALID when the floor is lowered to 80 (with a warning)" \
  "grep -q 'tree/f1: VALID' vout && grep -q warning verr"
finish
