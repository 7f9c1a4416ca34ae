# lib.sh - shared by the adversarial tests: a key, a small signed tree, checks.
set -euo pipefail
B=$1
t=$(mktemp -d)
trap 'chmod -R u+rwX "$t" 2>/dev/null; rm -rf "$t"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
checks=0
check() { checks=$((checks + 1)); if eval "$2"; then ok "$1"; else bad "$1"; fi; }
# guard only against a hang (a FIFO opened blocking); never a timing assertion
guard() { timeout 60 "$@"; }
cd "$t"
openssl genpkey -algorithm ED25519 -out k.pem 2>/dev/null
openssl pkey -in k.pem -pubout -out k.pub
# small_tree DIR: 10 signed files, one flipped (BAD_SIGNATURE), times aged past the racy window
small_tree() {
  mkdir -p "$1"
  for i in $(seq 1 10); do head -c $((100 + i)) /dev/urandom > "$1/f$i"; done
  "$B" sign -q --key k.pem "$1" >/dev/null
  printf 'x' >> "$1/f3"
  find "$1" -type f -exec touch -d '1 hour ago' {} +
}
finish() { # a test that checked nothing fails
  [ "$checks" -gt 0 ] || { echo "FAIL: no check ran"; exit 1; }
  echo "$checks checks, failed: $fail"; exit $fail; }
