#!/usr/bin/env bash
# usage.sh SIGSWEEP - golden tests of the sigsweep command line: exit codes, which stream gets
# what, and the basic verify/sign round trips (STYLE 45). Inputs are made with `sigsweep sign`
# and the openssl CLI in a private temp dir, removed on exit. Exit 0 when every case passes.
set -uo pipefail
export LC_ALL=C

[[ $# -eq 1 && -x $1 ]] || { echo "usage: usage.sh PATH-TO-SIGSWEEP" >&2; exit 2; }
bin=$(cd -- "$(dirname -- "$1")" && pwd)/$(basename -- "$1") # absolute: some cases cd
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sgs-usage.XXXXXX") || exit 2
trap 'rm -rf -- "$tmp"' EXIT
out=$tmp/stdout
err=$tmp/stderr
fails=0
cases=0
name=

fail() {
    fails=$((fails + 1))
    printf 'FAIL: %s: %s\n' "$name" "$*"
    printf '  stdout: %s\n' "$(head -c 400 -- "$out" | tr '\n' '|')"
    printf '  stderr: %s\n' "$(head -c 400 -- "$err" | tr '\n' '|')"
}

# t NAME WANT_STATUS CMD... : runs CMD (stdin from $stdin, 10 s limit), checks the status.
stdin=/dev/null
t() {
    name=$1
    local want=$2
    shift 2
    cases=$((cases + 1))
    timeout 10 "$@" <"$stdin" >"$out" 2>"$err"
    local rc=$?
    stdin=/dev/null
    if ((rc == 124)); then fail "timed out (10 s)"; return; fi
    ((rc == want)) || fail "exit status $rc, want $want"
    if grep -qE 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' -- "$err"; then
        fail "sanitizer report"
    fi
}
usage_error() { # NAME CMD... : exit 2, a diagnostic on stderr, nothing on stdout
    local n=$1
    shift
    t "$n" 2 "$@"
    [[ -s $err ]] || fail "no diagnostic on stderr"
    [[ ! -s $out ]] || fail "stdout not empty"
}
stdout_lines() { local n; n=$(wc -l <"$out"); ((n == $1)) || fail "$n stdout lines, want $1"; }
stderr_lines() { local n; n=$(wc -l <"$err"); ((n == $1)) || fail "$n stderr lines, want $1"; }
stdout_has() { grep -qF -- "$1" "$out" || fail "stdout lacks '$1'"; }
stdout_empty() { [[ ! -s $out ]] || fail "stdout not empty"; }

# ---- inputs ----
d=$tmp/d
mkdir -p "$d"
mk() { head -c "$2" /dev/urandom >"$d/$1"; }
if ! { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/rsa.key" 2>/dev/null &&
    openssl genpkey -algorithm ED25519 -out "$d/ed.key" &&
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/ec.key" &&
    openssl pkey -in "$d/rsa.key" -pubout -out "$d/rsa.pub" &&
    openssl pkey -in "$d/ed.key" -pubout -out "$d/ed.pub" &&
    openssl pkey -in "$d/ec.key" -pubout -outform DER -out "$d/ec.pub.der"; }; then
    echo "usage.sh: openssl key generation failed" >&2
    exit 2
fi
mkdir -p "$d/pub"
cp "$d/rsa.pub" "$d/ed.pub" "$d/ec.pub.der" "$d/pub/"
mk good.bin 100000
mk good2.bin 5000
mk ed.bin 7000
mk ec.bin 3000
mk nosig.bin 10
mk bad.bin 4096
printf 'this is not a key\n' >"$d/garbage.pem"
mkfifo "$d/fifo"

# ---- usage errors: exit 2, one diagnostic on stderr, nothing on stdout ----
usage_error "no arguments" "$bin"
usage_error "unknown command" "$bin" frobnicate
usage_error "verify --bogus" "$bin" verify --bogus
stderr_lines 1
usage_error "verify without --key, with a path" "$bin" verify "$d/good.bin"
usage_error "verify without --key or path" "$bin" verify
usage_error "verify --key without a path" "$bin" verify --key "$d/rsa.pub"
usage_error "verify --key /nonexistent" "$bin" verify --key /nonexistent "$d/good.bin"
usage_error "verify --key garbage" "$bin" verify --key "$d/garbage.pem" "$d/good.bin"
usage_error "verify --key PRIVATE" "$bin" verify --key "$d/rsa.key" "$d/good.bin"
usage_error "verify --format xml" "$bin" verify --key "$d/rsa.pub" --format xml "$d/good.bin"
usage_error "verify --hash md5" "$bin" verify --key "$d/rsa.pub" --hash md5 "$d/good.bin"
usage_error "verify -j 0" "$bin" verify --key "$d/rsa.pub" -j 0 "$d/good.bin"
usage_error "verify -j abc" "$bin" verify --key "$d/rsa.pub" -j abc "$d/good.bin"
usage_error "verify --key with no value" "$bin" verify "$d/good.bin" --key
usage_error "sign without --key" "$bin" sign "$d/good.bin"
usage_error "sign --key PUBLIC" "$bin" sign --key "$d/rsa.pub" "$d/good.bin"

# ---- --version, --help ----
t "--version" 0 "$bin" --version
[[ $(head -c 9 -- "$out") == "sigsweep " ]] || fail "stdout does not start with 'sigsweep '"
t "--help" 0 "$bin" --help
stdout_has "usage"
t "verify --help" 0 "$bin" verify --help
stdout_has "usage"

# ---- per-command help; a mistyped command gets a suggestion ----
stderr_has() { grep -qF -- "$1" "$err" || fail "stderr lacks '$1'"; }
stdout_lacks() { ! grep -qF -- "$1" "$out" || fail "stdout has '$1'"; }
t "--help: the whole overview" 0 "$bin" --help
stdout_has "sigsweep agents --server-cert"
stdout_has "exit status"
t "help: the whole overview" 0 "$bin" help
stdout_has "sigsweep trust add"
t "verify --help: verify's usage and options only" 0 "$bin" verify --help
stdout_has "usage: sigsweep verify"
stdout_has "--quarantine"
stdout_lacks "sigsweep agents"
stdout_lacks "--server-cert"
t "help verify: the same" 0 "$bin" help verify
stdout_has "usage: sigsweep verify"
stdout_lacks "sigsweep agents"
t "sign -h: sign's options" 0 "$bin" sign -h
stdout_has "--certfile"
stdout_lacks "--quarantine"
t "help trust list" 0 "$bin" help trust list
stdout_has "usage: sigsweep trust list"
stdout_lacks "trust add"
t "trust add --help" 0 "$bin" trust add --help
stdout_has "--force"
t "trust --help: the group's usage" 0 "$bin" trust --help
stdout_has "sigsweep trust diagnose"
t "package --help: the group's usage" 0 "$bin" package --help
stdout_has "sigsweep package create"
t "package create --help" 0 "$bin" package create --help
stdout_has "--out"
stdout_lacks "--manifest"
usage_error "help frobnicate" "$bin" help frobnicate
usage_error "mistyped command" "$bin" verfy --key "$d/rsa.pub" "$d/good.bin"
stderr_lines 1
stderr_has "did you mean 'verify'"
usage_error "mistyped subcommand" "$bin" trust lst "$d/rsa.pub"
stderr_has "did you mean 'list'"
usage_error "no suggestion for a word far from every command" "$bin" frobnicate
stderr_lines 1
! grep -qF "did you mean" -- "$err" || fail "a suggestion for frobnicate"

# ---- an option of another command: the message names the command it is for ----
usage_error "verify --cert" "$bin" verify --key "$d/rsa.pub" --cert "$d/rsa.pub" "$d/good.bin"
stderr_has "--cert and --certfile are for sign"
usage_error "sign --trust" "$bin" sign --key "$d/rsa.key" --trust "$d/pub" "$d/good.bin"
stderr_has "trust options are for verify"
usage_error "sign --quarantine" "$bin" sign --key "$d/rsa.key" --quarantine "$d/good.bin"
stderr_has "are for verify"
usage_error "verify --server-cert" "$bin" verify --key "$d/rsa.pub" --server-cert x "$d/good.bin"
stderr_has "are for agents"
usage_error "agents --key, after --server-cert" "$bin" agents --server-cert x --key k "$d"
stderr_has "not for agents"
usage_error "agents --key, no --server-cert" "$bin" agents --key k "$d"
stderr_has "--server-cert is required"
usage_error "sign --purpose bad: the value first" "$bin" sign --key "$d/rsa.key" --purpose x \
    "$d/good.bin"
stderr_has "unknown --purpose 'x'"
usage_error "keygen --der" "$bin" keygen --der --out "$tmp/kg"
stderr_has "keygen takes --type and --out"

# ---- sign: exit 0, F.sig next to F, same bytes as openssl for RSA and Ed25519 ----
t "sign rsa" 0 "$bin" sign --key "$d/rsa.key" "$d/good.bin" "$d/good2.bin" "$d/bad.bin"
for f in good good2 bad; do [[ -s $d/$f.bin.sig ]] || fail "no $f.bin.sig"; done
openssl dgst -sha256 -sign "$d/rsa.key" -out "$tmp/o.sig" "$d/good.bin"
cmp -s "$tmp/o.sig" "$d/good.bin.sig" || fail "RSA signature differs from openssl dgst -sign"
t "sign ed25519 -j 2" 0 "$bin" sign --key "$d/ed.key" -j 2 "$d/ed.bin"
openssl pkeyutl -sign -rawin -inkey "$d/ed.key" -in "$d/ed.bin" -out "$tmp/o.sig"
cmp -s "$tmp/o.sig" "$d/ed.bin.sig" || fail "Ed25519 signature differs from openssl pkeyutl"
printf '%s\n' "$d/ec.bin" >"$tmp/list"
t "sign ecdsa --files-from" 0 "$bin" sign --key "$d/ec.key" --files-from "$tmp/list"
openssl dgst -sha256 -verify "$d/ec.pub.der" -keyform DER -signature "$d/ec.bin.sig" \
    "$d/ec.bin" >/dev/null 2>&1 || fail "openssl rejects the ECDSA signature"
printf 'x' >>"$d/bad.bin" # signed, then changed

# ---- verify ----
t "verify one good file" 0 "$bin" verify --key "$d/rsa.pub" "$d/good.bin"
stdout_lines 1
[[ $(head -n1 -- "$out") == "$d/good.bin: VALID"* ]] || fail "want '$d/good.bin: VALID ...'"
t "verify --quiet, all VALID: silent (as sha256sum -c --quiet)" 0 "$bin" verify --quiet \
    --key "$d/rsa.pub" "$d/good.bin"
stdout_empty
[[ ! -s $err ]] || fail "--quiet wrote to stderr"
t "verify --quiet, one not VALID: only its line, and the summary" 1 "$bin" verify --quiet \
    --key "$d/rsa.pub" "$d/good.bin" "$d/bad.bin" "$d/good2.bin"
stdout_lines 1
stdout_has "$d/bad.bin: BAD_SIGNATURE"
stderr_has "3 files checked: 2 VALID 1 BAD_SIGNATURE"
t "verify --quiet --format jsonl: the report stays whole" 1 "$bin" verify --quiet \
    --key "$d/rsa.pub" --format jsonl "$d/good.bin" "$d/bad.bin"
stdout_lines 4
stdout_has '"verdict":"VALID"'
t "verify --status: nothing at all, the exit status" 1 "$bin" verify --status \
    --key "$d/rsa.pub" "$d/good.bin" "$d/bad.bin"
stdout_empty
[[ ! -s $err ]] || fail "--status wrote to stderr"
t "verify --status, all VALID" 0 "$bin" verify --status --key "$d/rsa.pub" "$d/good.bin"
stdout_empty
t "verify --status --output: the report is written whole" 1 "$bin" verify --status \
    --key "$d/rsa.pub" --format jsonl --output "$tmp/status.jsonl" "$d/good.bin" "$d/bad.bin"
stdout_empty
[[ $(wc -l <"$tmp/status.jsonl") == 3 ]] || fail "--status --output: want the run record and 2"
t "verify key dir, three key types" 0 "$bin" verify --key "$d/pub" "$d/good.bin" "$d/ed.bin" \
    "$d/ec.bin"
stdout_lines 3
t "verify repeated --key" 0 "$bin" verify --key "$d/rsa.pub" --key "$d/ed.pub" "$d/ed.bin"
t "verify changed file" 1 "$bin" verify --key "$d/rsa.pub" "$d/bad.bin"
stdout_has "$d/bad.bin: BAD_SIGNATURE"
t "verify wrong key" 1 "$bin" verify --key "$d/ed.pub" "$d/good.bin"
stdout_has "$d/good.bin: "
t "verify no signature" 1 "$bin" verify --key "$d/rsa.pub" "$d/nosig.bin"
stdout_has "$d/nosig.bin: NO_SIGNATURE"
nl=$d/$'new\nline.bin'
printf 'z' >"$nl"
t "text: one line per file, even for a newline in the name (and reason)" 1 "$bin" verify \
    --key "$d/rsa.pub" "$nl"
stdout_lines 1
t "verify missing path" 1 "$bin" verify --key "$d/rsa.pub" "$d/does-not-exist"
stdout_has "$d/does-not-exist: "
t "verify good + bad" 1 "$bin" verify --key "$d/rsa.pub" "$d/good.bin" "$d/bad.bin"
stdout_lines 2
t "verify a FIFO does not hang" 1 "$bin" verify --key "$d/rsa.pub" "$d/fifo"
stdout_has "$d/fifo: SKIPPED"

t "verify --output FILE" 0 "$bin" verify --key "$d/rsa.pub" --output "$tmp/report.txt" \
    "$d/good.bin"
stdout_empty
grep -qF "$d/good.bin: VALID" "$tmp/report.txt" 2>/dev/null || fail "report file lacks the line"

printf '%s\n%s\n' "$d/good.bin" "$d/good2.bin" >"$tmp/paths"
stdin=$tmp/paths
t "verify --files-from -" 0 "$bin" verify --key "$d/rsa.pub" --files-from -
stdout_lines 2
stdout_has "$d/good.bin: VALID"
stdout_has "$d/good2.bin: VALID"

t "verify --format jsonl" 0 "$bin" verify --key "$d/rsa.pub" --format jsonl "$d/good.bin"
python3 - "$out" "$d/good.bin" <<'EOF' || fail "jsonl record is not as expected"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == 3, lines  # the run record, the record, run_end
run, r, end = (json.loads(l) for l in lines)
assert run["type"] == "run" and run["command"] == "verify" and end["type"] == "run_end", lines
assert end["counts"] == {"VALID": 1} and end["files"] == 1, end
for k in ("path", "verdict", "reason", "alg", "signer", "digest", "size"):
    assert k in r, k
assert r["path"] == sys.argv[2] and r["verdict"] == "VALID" and r["size"] == 100000, r
EOF
t "verify --format csv" 0 "$bin" verify --key "$d/rsa.pub" --format csv "$d/good.bin"
stdout_has "VALID"

# Many directories, few descriptors allowed: walked directories are kept open for their queued
# files only while descriptors are plentiful; none is lost to EMFILE.
many=$d/many-dirs
for i in $(seq 1 600); do mkdir -p "$many/d$i"; printf 'x' > "$many/d$i/f"; done
t "verify 600 directories with 64 descriptors: every file judged" 1 \
    bash -c 'ulimit -n 64 && exec "$@"' _ "$bin" verify --key "$d/rsa.pub" --format csv "$many"
[[ $(grep -c ',NO_SIGNATURE,' "$out") == 600 ]] || fail "want 600 NO_SIGNATURE records"

# ---- keygen --out A/B/C: missing parents made as mkdir -p; a new key directory is 0700 ----
t "keygen --out with missing parents" 0 "$bin" keygen --type ec-p256 --out "$tmp/kg/a/b/"
[[ -f $tmp/kg/a/b/server.key && -f $tmp/kg/a/b/OfcNTCer.dat ]] || fail "no key files in kg/a/b"
[[ $(stat -c %a "$tmp/kg/a/b" 2>/dev/null) == 700 ]] || fail "kg/a/b is not mode 700"
stdout_has "$tmp/kg/a/b/server.key"
! grep -qF '//' -- "$out" || fail "a double slash in the paths printed"
touch "$tmp/kg/plain"
usage_error "keygen --out beneath a file: the component in the way is named" "$bin" keygen \
    --type ec-p256 --out "$tmp/kg/plain/x/y"
stderr_has "$tmp/kg/plain: exists and is not a directory"
[[ ! -e $tmp/kg/plain/x ]] || fail "something made beneath a file"

# ---- sign keeps an existing signature file unless --force: raw, CMS, package sign ----
mk keep.bin 3000
mk keep-new.bin 2000
cp "$d/keep.bin" "$tmp/keep.orig"
printf 'precious' >"$d/keep.bin.sig"
t "sign over an existing F.sig: kept, exit 2" 2 "$bin" sign --key "$d/rsa.key" "$d/keep.bin" \
    "$d/keep-new.bin"
stdout_has "$d/keep.bin: SKIPPED ($d/keep.bin.sig exists: kept, not replaced; --force replaces it)"
stdout_has "$d/keep-new.bin: VALID"
stderr_has "1 signature file(s) exist and were kept"
[[ $(cat "$d/keep.bin.sig") == precious ]] || fail "keep.bin.sig was changed"
[[ -s $d/keep-new.bin.sig ]] || fail "keep-new.bin (no signature yet) was not signed"
t "sign again: every signature kept" 2 "$bin" sign --key "$d/rsa.key" "$d/keep-new.bin"
stdout_has "$d/keep-new.bin: SKIPPED"
t "sign --force replaces it" 0 "$bin" sign --force --key "$d/rsa.key" "$d/keep.bin"
openssl dgst -sha256 -verify "$d/rsa.pub" -signature "$d/keep.bin.sig" "$d/keep.bin" \
    >/dev/null 2>&1 || fail "keep.bin.sig written by --force does not verify"
cmp -s "$d/keep.bin" "$tmp/keep.orig" || fail "sign changed the signed file itself"
usage_error "verify --force: for sign" "$bin" verify --force --key "$d/rsa.pub" "$d/keep.bin"
stderr_has "--force is for sign"
if openssl req -x509 -new -key "$d/rsa.key" -subj "/CN=usage signer" -days 2 \
    -out "$d/signer.crt" >/dev/null 2>&1; then
    printf 'precious' >"$d/keep.bin.p7s"
    t "sign --cert over an existing F.p7s: kept, exit 2" 2 "$bin" sign --key "$d/rsa.key" \
        --cert "$d/signer.crt" "$d/keep.bin"
    stdout_has "$d/keep.bin.p7s exists: kept"
    [[ $(cat "$d/keep.bin.p7s") == precious ]] || fail "keep.bin.p7s was changed"
    t "sign --cert --force replaces F.p7s" 0 "$bin" sign --force --key "$d/rsa.key" \
        --cert "$d/signer.crt" "$d/keep.bin"
    openssl cms -cmsout -inform DER -in "$d/keep.bin.p7s" -noout 2>/dev/null ||
        fail "keep.bin.p7s written by --force is not CMS"
    # a key this OpenSSL cannot make CMS with (3.0: Ed25519): refused before any file, exit 2
    if openssl req -x509 -newkey ed25519 -nodes -keyout "$d/ed.key" -subj "/CN=ed" -days 2 \
        -out "$d/ed.crt" >/dev/null 2>&1 &&
        ! openssl cms -sign -binary -md sha512 -in "$d/keep.bin" -signer "$d/ed.crt" \
            -inkey "$d/ed.key" -outform DER -out "$d/ed.probe" >/dev/null 2>&1; then
        printf 'unsigned' >"$d/ed.bin"
        t "sign --cert with a key CMS cannot use: exit 2" 2 "$bin" sign --key "$d/ed.key" \
            --cert "$d/ed.crt" "$d/ed.bin"
        stderr_has "cannot make a CMS signature with this key"
        [[ ! -e $d/ed.bin.p7s ]] || fail "ed.bin.p7s written"
    fi
else
    fail "openssl req could not make a signing certificate"
fi
printf 'abc  x\n' >"$d/keep.sha256"
printf 'precious' >"$d/keep.sha256.sig"
t "package sign over an existing MANIFEST.sig: kept, exit 2" 2 "$bin" package sign \
    --key "$d/rsa.key" "$d/keep.sha256"
[[ $(cat "$d/keep.sha256.sig") == precious ]] || fail "keep.sha256.sig was changed"
t "package sign --force" 0 "$bin" package sign --force --key "$d/rsa.key" "$d/keep.sha256"

# ---- paths as given: relative stays relative, never "dir//file" ----
in_dir=(bash -c 'cd -- "$1" && shift && exec "$@"' _) # "${in_dir[@]}" DIR CMD...: CMD in DIR
pt=$tmp/pt
mkdir -p "$pt/dir/sub"
head -c 500 /dev/urandom >"$pt/dir/a"
head -c 600 /dev/urandom >"$pt/dir/sub/b"
head -c 700 /dev/urandom >"$pt/dir/sub/c"
"$bin" sign -q --key "$d/rsa.key" "$pt/dir/a" "$pt/dir/sub/b" >/dev/null 2>&1
want_lines() { # PREFIX: the three records, each path as PREFIX/..., no double slash
    stdout_lines 3
    stdout_has "$1/a: VALID"
    stdout_has "$1/sub/b: VALID"
    stdout_has "$1/sub/c: NO_SIGNATURE (no signature file $1/sub/c.sig or $1/sub/c.p7s)"
    ! grep -qF '//' -- "$out" || fail "a double slash in a path"
}
t "verify dir/" 1 "${in_dir[@]}" "$pt" "$bin" verify --key "$d/rsa.pub" dir/
want_lines dir
t "verify ./dir" 1 "${in_dir[@]}" "$pt" "$bin" verify --key "$d/rsa.pub" ./dir
want_lines ./dir
t "verify dir//" 1 "${in_dir[@]}" "$pt" "$bin" verify --key "$d/rsa.pub" dir//
want_lines dir
t "verify dir//sub/" 1 "${in_dir[@]}" "$pt" "$bin" verify --key "$d/rsa.pub" dir//sub/
stdout_lines 2
stdout_has "dir/sub/b: VALID"
stdout_has "dir/sub/c: NO_SIGNATURE (no signature file dir/sub/c.sig or dir/sub/c.p7s)"
! grep -qF '//' -- "$out" || fail "a double slash in a path"
t "verify dir//sub//b: a file given" 0 "${in_dir[@]}" "$pt" "$bin" verify --key "$d/rsa.pub" dir//sub//b
stdout_has "dir/sub/b: VALID"

# ---- a signature given by name: its file is judged, and that is said once ----
t "verify F.sig: F judged" 0 "$bin" verify --key "$d/rsa.pub" "$pt/dir/a.sig"
stdout_lines 1
stdout_has "$pt/dir/a: VALID"
stderr_has "sigsweep verify: $pt/dir/a.sig is the signature of $pt/dir/a; judging $pt/dir/a"
[[ $(grep -c "is the signature of" -- "$err") == 1 ]] || fail "not said exactly once"
! grep -qF "no input files found" -- "$err" || fail "no input files found"
t "verify F.sig F: F judged once, nothing said" 0 "$bin" verify --key "$d/rsa.pub" \
    "$pt/dir/a.sig" "$pt/dir/a"
stdout_lines 1
! grep -qF "is the signature of" -- "$err" || fail "said, though F was given too"
printf '%s\n' "$pt/dir/sub/b.sig" "$pt/dir/a.sig" "$pt/dir/a" >"$tmp/siglist"
t "--files-from with F.sig lines" 0 "$bin" verify --key "$d/rsa.pub" --files-from "$tmp/siglist"
stdout_lines 2
stdout_has "$pt/dir/sub/b: VALID"
stderr_has "$pt/dir/sub/b.sig is the signature of $pt/dir/sub/b; judging $pt/dir/sub/b"
[[ $(grep -c "is the signature of" -- "$err") == 1 ]] || fail "a.sig (a listed too) was said"
printf 'orphan' >"$pt/orphan.sig"
t "an orphan signature is judged itself" 1 "$bin" verify --key "$d/rsa.pub" "$pt/orphan.sig"
stdout_has "$pt/orphan.sig: NO_SIGNATURE"
! grep -qF "is the signature of" -- "$err" || fail "an orphan said to be a signature"

# ---- CSV has every JSON Lines field, in the same order, with the same values ----
csv_like_jsonl() { # CSV JSONL: header a superset of each record's keys, in order; same values
    python3 - "$1" "$2" <<'PYEOF'
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
header, body = rows[0], rows[1:]
recs = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
recs = [r for r in recs if "type" not in r]  # the run record and run_end
assert len(body) == len(recs) > 0, (len(body), len(recs))
for r in recs:
    assert [k for k in header if k in r] == list(r), ("order or missing column", header, list(r))
for row in body:
    c = dict(zip(header, row))
    j = next(r for r in recs if r["path"] == c["path"])
    for k in header:
        v = j.get(k)
        if k == "signatures":
            assert (c[k] == "" and v is None) or json.loads(c[k]) == v, (k, c[k], v)
            continue
        want = "\n".join(v) if k == "chain" else "" if v is None else str(v)
        assert c[k] == want, (k, c[k], want)
PYEOF
}
if [[ -s $d/keep.bin.p7s ]]; then
    t "csv: a CMS record (chain) and a raw one" 0 "$bin" verify --key "$d/rsa.pub" \
        --trust "$d/signer.crt" --format csv "$d/keep.bin" "$pt/dir/a"
    cp -- "$out" "$tmp/both.csv"
    head -n1 -- "$out" | grep -qF "path,path_hex,verdict,reason,alg,signer,digest,chain," ||
        fail "csv header lacks the chain column in JSON Lines' place"
    t "jsonl: the same records" 0 "$bin" verify --key "$d/rsa.pub" --trust "$d/signer.crt" \
        --format jsonl "$d/keep.bin" "$pt/dir/a"
    grep -qF '"chain":["CN=usage signer"]' -- "$out" || fail "no chain in the CMS record"
    csv_like_jsonl "$tmp/both.csv" "$out" || fail "csv and jsonl disagree (see above)"
fi
mkdir -p "$tmp/fleet/agent1"
cp -- "$tmp/kg/a/b/OfcNTCer.dat" "$tmp/fleet/agent1/"
t "agents csv" 0 "$bin" agents --server-cert "$tmp/kg/a/b/server.crt" --format csv "$tmp/fleet"
cp -- "$out" "$tmp/agents.csv"
t "agents jsonl: the fingerprint once, as key_fp" 0 "$bin" agents --server-cert \
    "$tmp/kg/a/b/server.crt" --format jsonl "$tmp/fleet/"
stdout_has "\"path\":\"$tmp/fleet/agent1/OfcNTCer.dat\""
python3 -c 'import json, sys; r = json.loads(open(sys.argv[1]).readlines()[1])
assert len(r["key_fp"]) == 64 and "signer" not in r, r' "$out" ||
    fail "agents jsonl: want key_fp, and no signer repeating it"
csv_like_jsonl "$tmp/agents.csv" "$out" || fail "agents csv and jsonl disagree (see above)"

# ---- options before the command are explained, not taken for a command ----
usage_error "options before the command" "$bin" --key k.pem verify dir
stderr_lines 1
stderr_has "sigsweep: options go after the command: sigsweep verify --key k.pem dir"
usage_error "options before a group's command" "$bin" --format jsonl trust list 'a b'
stderr_has "options go after the command: sigsweep trust list --format jsonl 'a b'"
usage_error "options before a mistyped command" "$bin" -j 2 verfy x
stderr_has "'verfy' is no command; did you mean: sigsweep verify -j 2 x"
usage_error "an option and no command" "$bin" --bogus
stderr_has "'--bogus' is an option, and options go after the command"
! grep -qF "unknown command '--bogus'" -- "$err" || fail "an option called an unknown command"
for c in verify sign agents keygen export-agent-key package cache restore trust \
    "trust add" "package verify"; do
    # shellcheck disable=SC2086 # "trust add": two words
    t "$c --help: exit 0, usage on stdout" 0 "$bin" $c --help
    stdout_has "usage: sigsweep ${c%% *}"
    [[ ! -s $err ]] || fail "stderr not empty"
done

# ---- --key DIR is read as a trust store: links followed, what is no key named and skipped ----
if [[ -s $d/signer.crt ]]; then
    t "trust add a certificate of the signing key" 0 "$bin" trust add --force "$tmp/ts" \
        "$d/signer.crt"
    t "verify --key TRUST_DIR: its hash link followed, nothing skipped" 0 "$bin" verify \
        --key "$tmp/ts" "$d/good.bin"
    stdout_has "$d/good.bin: VALID"
    ! grep -qF "skipping" -- "$err" || fail "something of a trust add directory skipped"
fi
mkdir -p "$tmp/kd"
cp -- "$d/rsa.pub" "$tmp/kd/"
ln -s rsa.pub "$tmp/kd/1a2b3c4d.0"
printf 'keys for the release\n' >"$tmp/kd/readme.txt"
t "verify --key DIR/ with a readme: skipped, named once" 0 "$bin" verify --key "$tmp/kd/" \
    "$d/good.bin"
stdout_has "$d/good.bin: VALID"
stderr_has "sigsweep verify: skipping $tmp/kd/readme.txt: not a public key"
[[ $(grep -c "skipping" -- "$err") == 1 ]] || fail "want one skipping line"
mkdir -p "$tmp/kd-none"
printf 'no key here\n' >"$tmp/kd-none/readme.txt"
usage_error "verify --key DIR without a key" "$bin" verify --key "$tmp/kd-none" "$d/good.bin"
stderr_has "sigsweep verify: $tmp/kd-none: no public key in the directory"
stderr_has "sigsweep verify: skipping $tmp/kd-none/readme.txt: not a public key"

# ---- agents --command: a signature the server key does not verify is the command's fault ----
printf 'set policy.scan=full\n' >"$tmp/cmd.txt"
openssl dgst -sha256 -sign "$tmp/kg/a/b/server.key" -out "$tmp/cmd.sig" "$tmp/cmd.txt"
openssl dgst -sha256 -sign "$d/ec.key" -out "$tmp/cmd-other.sig" "$tmp/cmd.txt"
t "agents --command signed by the server" 0 "$bin" agents --server-cert \
    "$tmp/kg/a/b/server.crt" --command "$tmp/cmd.txt" --command-sig "$tmp/cmd.sig" "$tmp/fleet"
stdout_has "accepts the server's command"
usage_error "agents --command signed by another key" "$bin" agents --server-cert \
    "$tmp/kg/a/b/server.crt" --command "$tmp/cmd.txt" --command-sig "$tmp/cmd-other.sig" \
    "$tmp/fleet"
stderr_has "the command signature $tmp/cmd-other.sig does not verify with the server key"
stderr_has "no agent judged"
! grep -qF "agents do not have" -- "$err" || fail "agents judged for a bad command"

printf 'usage.sh: %d cases, %d failures\n' "$cases" "$fails"
((fails == 0))
