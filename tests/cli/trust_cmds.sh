#!/usr/bin/env bash
# trust_cmds.sh SIGSWEEP PKI_SH - golden tests of `sigsweep trust list|add|diagnose`: exit
# codes, which stream gets what, exact text and JSON Lines records, and the files `trust add`
# writes. Inputs: the test PKI of corpus/pki.sh (written into a private temp dir, removed on
# exit); the openssl CLI is the oracle (fingerprints, subject hashes, `openssl verify -CApath`).
# Exit 0 when every case passes, 1 when one fails, 77 (skip) without openssl or python3.
set -uo pipefail
export LC_ALL=C
umask 022

[[ $# -eq 2 && -x $1 && -f $2 ]] || {
    echo "usage: trust_cmds.sh PATH-TO-SIGSWEEP PATH-TO-corpus/pki.sh" >&2
    exit 2
}
bin=$(cd -- "$(dirname -- "$1")" && pwd)/$(basename -- "$1")
pki_sh=$2
command -v openssl >/dev/null || { echo "trust_cmds.sh: no openssl CLI: skipped" >&2; exit 77; }
command -v python3 >/dev/null || { echo "trust_cmds.sh: no python3: skipped" >&2; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sgs-trust-cmds.XXXXXX") || exit 2
trap 'rm -rf -- "$tmp"' EXIT
out=$tmp/stdout
err=$tmp/stderr
fails=0
cases=0
name=

fail() {
    fails=$((fails + 1))
    printf 'FAIL: %s: %s\n' "$name" "$*"
    printf '  stdout: %s\n' "$(head -c 600 -- "$out" | tr '\n' '|')"
    printf '  stderr: %s\n' "$(head -c 400 -- "$err" | tr '\n' '|')"
}

# t NAME WANT_STATUS CMD... : runs CMD (20 s limit), checks the status and sanitizer reports.
t() {
    name=$1
    local want=$2
    shift 2
    cases=$((cases + 1))
    timeout 20 "$@" </dev/null >"$out" 2>"$err"
    local rc=$?
    if ((rc == 124)); then fail "timed out (20 s)"; return; fi
    ((rc == want)) || fail "exit status $rc, want $want"
    if grep -qE 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' -- "$err"; then
        fail "sanitizer report"
    fi
}
usage_error() { # NAME CMD... : exit 2, one diagnostic line on stderr, nothing on stdout
    local n=$1
    shift
    t "$n" 2 "$@"
    stderr_lines 1
    stdout_empty
}
stdout_lines() { local n; n=$(wc -l <"$out"); ((n == $1)) || fail "$n stdout lines, want $1"; }
stderr_lines() { local n; n=$(wc -l <"$err"); ((n == $1)) || fail "$n stderr lines, want $1"; }
stdout_has() { grep -qF -- "$1" "$out" || fail "stdout lacks '$1'"; }
stdout_lacks() { ! grep -qF -- "$1" "$out" || fail "stdout has '$1'"; }
stderr_has() { grep -qF -- "$1" "$err" || fail "stderr lacks '$1'"; }
stdout_empty() { [[ ! -s $out ]] || fail "stdout not empty"; }
stderr_empty() { [[ ! -s $err ]] || fail "stderr not empty"; }
stdout_is() { # exact stdout (a trailing newline is added to WANT)
    printf '%s\n' "$1" | cmp -s - "$out" ||
        fail "stdout differs: want '$(printf '%s' "$1" | tr '\n' '|')'"
}
line_is() { # N WANT: stdout line N is exactly WANT
    local got
    got=$(sed -n "$1p" "$out")
    [[ $got == "$2" ]] || fail "stdout line $1 is '$got', want '$2'"
}
check() { # DESCRIPTION CMD...: CMD must succeed
    local d=$1
    shift
    "$@" || fail "$d"
}

# jcheck CODE [ARGS...]: Python over the stdout JSON Lines; `recs` holds the parsed records
# (every line must be one JSON object and the output must end with a newline), A the ARGS.
jcheck() {
    local code=$1
    shift
    local prelude='
import sys, json
raw = open(sys.argv[1], "rb").read().decode("utf-8")
assert raw == "" or raw.endswith("\n"), "output does not end with a newline"
recs = []
for i, l in enumerate(raw.split("\n")[:-1]):
    o = json.loads(l)
    assert isinstance(o, dict), "line %d is not a JSON object" % (i + 1)
    recs.append(o)
A = sys.argv[2:]
'
    python3 -c "$prelude$code" "$out" "$@" 2>"$tmp/pyerr" ||
        fail "JSON check: $(tail -n 1 "$tmp/pyerr")"
}

# ---- oracles ----
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^[^=]*=//; s/://g' | tr 'A-F' 'a-f'; }
subj() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }
iss() { openssl x509 -in "$1" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//'; }
hash_of() { openssl x509 -in "$1" -noout -hash; }
ski() {
    openssl x509 -in "$1" -noout -ext subjectKeyIdentifier | sed -n 2p | tr -d ' :\n' |
        tr 'A-F' 'a-f'
}
isodate() { # -startdate|-enddate CERT
    date -u -d "$(openssl x509 -in "$2" -noout "$1" | sed 's/^[^=]*=//')" +%Y-%m-%dT%H:%M:%SZ
}
nentries() { find "$1" -mindepth 1 -maxdepth 1 | wc -l; }
# dirstate DIR: every entry of DIR with its type, link target and content hash
dirstate() {
    local e
    for e in "$1"/* "$1"/.[!.]*; do
        [[ -e $e || -L $e ]] || continue
        if [[ -L $e ]]; then
            printf '%s -> %s\n' "${e##*/}" "$(readlink -- "$e")"
        else
            printf '%s %s\n' "${e##*/}" "$(sha256sum <"$e" | cut -c1-64)"
        fi
    done
}

# ---- the PKI ----
pki=$tmp/pki
if ! bash "$pki_sh" "$pki" >"$tmp/pki.log" 2>&1; then
    echo "trust_cmds.sh: $pki_sh failed:" >&2
    tail -n 20 "$tmp/pki.log" >&2
    exit 1
fi
cd -- "$pki" || exit 2
S=$bin
O='O=sigsweep test'
ROOT="CN=Test Root CA,$O"
INT="CN=Test Intermediate CA,$O"
LEAF="CN=Test RSA Leaf,$O"
root_fp=$(fp certs/root.pem)
root_hash=$(hash_of certs/root.pem)
int_fp=$(fp certs/intermediate.pem)
int_hash=$(hash_of certs/intermediate.pem)
leaf_fp=$(fp certs/leaf-rsa.pem)
leaf_hash=$(hash_of certs/leaf-rsa.pem)
other_fp=$(fp certs/other-root.pem)
other_hash=$(hash_of certs/other-root.pem)
[[ $(subj certs/root.pem) == "$ROOT" && $(subj certs/leaf-rsa.pem) == "$LEAF" &&
    ${#root_fp} -eq 64 && ${#root_hash} -eq 8 ]] || {
    echo "trust_cmds.sh: unexpected PKI (oracle sanity check failed)" >&2
    exit 1
}

# oracle.tsv: name fp subject issuer ski not_before not_after, for every certs/*.pem
for c in certs/*.pem; do
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(basename "$c" .pem)" "$(fp "$c")" "$(subj "$c")" \
        "$(iss "$c")" "$(ski "$c")" "$(isodate -startdate "$c")" "$(isodate -enddate "$c")"
done >"$tmp/oracle.tsv"
ncerts=$(wc -l <"$tmp/oracle.tsv")

# =========================================================================================
# trust list

t "list hashed dir: the certificate once, exact text" 0 "$S" trust list trust-hashed
stderr_empty
stdout_lines 7
line_is 1 "$ROOT"
line_is 2 "  issuer:      $ROOT"
line_is 3 "  valid:       2020-01-01T00:00:00Z .. 2040-01-01T00:00:00Z"
line_is 4 "  sha256:      $root_fp"
line_is 5 "  key id:      $(ski certs/root.pem)"
line_is 6 "  kind:        CA, self-signed"
case $(sed -n 7p "$out") in
    "  file:        trust-hashed/root.pem" | "  file:        trust-hashed/$root_hash.0") ;;
    *) fail "line 7 is not the file line of trust-hashed/root.pem or its hash link" ;;
esac

t "list hashed dir jsonl: one record" 0 "$S" trust list --format jsonl trust-hashed
stderr_empty
jcheck '
assert len(recs) == 1, "%d records" % len(recs)
r = recs[0]
assert r["path"] in ("trust-hashed/root.pem", "trust-hashed/" + A[1] + ".0"), r["path"]
assert r["fingerprint"] == A[0], r["fingerprint"]
assert r["ca"] is True and r["self_signed"] is True, (r["ca"], r["self_signed"])
' "$root_fp" "$root_hash"

t "list DER store" 0 "$S" trust list trust-der
stderr_empty
stdout_lines 7
line_is 4 "  sha256:      $root_fp"
line_is 7 "  file:        trust-der/root.der"

t "list certs/: every certificate once (text)" 0 "$S" trust list certs
stderr_empty
stdout_lines $((ncerts * 7))
((ncerts == 17)) || fail "pki.sh made $ncerts certificates, want 17"
while IFS=$'\t' read -r n f sj _; do
    c=$(grep -cxF "  sha256:      $f" "$out")
    ((c == 1)) || fail "certs/$n.pem: its sha256 line appears $c times, want 1"
    grep -qxF -- "$sj" "$out" || fail "certs/$n.pem: no subject line '$sj'"
done <"$tmp/oracle.tsv"

t "list certs/ jsonl: fields equal the openssl oracle" 0 "$S" trust list --format jsonl certs
stderr_empty
jcheck '
want = {}
for l in open(A[0]):
    n, fp, sj, iss, ski, nb, na = l.rstrip("\n").split("\t")
    want["certs/" + n + ".pem"] = dict(fingerprint=fp, subject=sj, issuer=iss, key_id=ski,
                                       not_before=nb, not_after=na)
cas = {"root", "intermediate", "lax-intermediate", "other-root", "broken-root"}  # CA:TRUE (broken-root lacks only keyCertSign)
selfsigned = {"root", "other-root", "broken-root"}
keys = {"path", "subject", "issuer", "not_before", "not_after", "fingerprint", "key_id", "ca",
        "self_signed"}
assert len(recs) == len(want), "%d records, want %d" % (len(recs), len(want))
seen = set()
for r in recs:
    assert set(r) == keys, "keys %s" % sorted(r)
    p = r["path"]
    assert p in want and p not in seen, "unexpected or repeated path %r" % p
    seen.add(p)
    for k, v in want[p].items():
        assert r[k] == v, "%s: %s is %r, want %r" % (p, k, r[k], v)
    n = p[6:-4]
    assert r["ca"] is (n in cas), "%s: ca is %r" % (p, r["ca"])
    assert r["self_signed"] is (n in selfsigned), "%s: self_signed is %r" % (p, r["self_signed"])
' "$tmp/oracle.tsv"

t "list a bundle: both certificates" 0 "$S" trust list --format jsonl trust-bundle.pem
stderr_empty
jcheck '
assert [r["fingerprint"] for r in recs] == A, [r["fingerprint"] for r in recs]
assert all(r["path"] == "trust-bundle.pem" for r in recs)
' "$root_fp" "$other_fp"

dupdir=$tmp/dupdir
mkdir -p "$dupdir"
cp certs/root.pem "$dupdir/a.pem"
cp certs/root.pem "$dupdir/b.pem"
ln -s a.pem "$dupdir/$root_hash.0"
cp certs/intermediate.pem "$dupdir/int.pem"
t "list: copies and links of one certificate count once" 0 "$S" trust list --format jsonl "$dupdir"
stderr_empty
jcheck 'assert sorted(r["fingerprint"] for r in recs) == sorted(A), [r["path"] for r in recs]' \
    "$root_fp" "$int_fp"

t "list a non-certificate file" 2 "$S" trust list files/rsa-sha256.bin
stdout_empty
stderr_lines 1
stderr_has files/rsa-sha256.bin
t "list a private key" 2 "$S" trust list keys/leaf-rsa.key
stdout_empty
stderr_lines 1
stderr_has keys/leaf-rsa.key
t "list a missing path" 2 "$S" trust list "$tmp/no-such-store"
stdout_empty
stderr_lines 1
stderr_has "$tmp/no-such-store"
mixdir=$tmp/mixed-store
mkdir "$mixdir"
cp "$(ls trust/*.pem | head -1)" "$mixdir/ca.pem"
echo "trust store of the build farm" > "$mixdir/README"
cp keys/leaf-rsa.key "$mixdir/stray.key"
t "list a dir with other files: the certificate listed, the others named, exit 1" 1 \
    "$S" trust list --format jsonl "$mixdir"
stderr_lines 1
stderr_has "skipped 2 files that hold no certificate"
jcheck 'assert len(recs) == 1 and recs[0]["path"].endswith("/ca.pem"), recs'
t "list an empty dir" 0 "$S" trust list empty
stdout_empty
stderr_empty
usage_error "list without FILE" "$S" trust list
usage_error "list --format csv" "$S" trust list --format csv trust
usage_error "list --format without value" "$S" trust list --format

# =========================================================================================
# trust add

st=$tmp/store # does not exist yet
t "add root: creates DIR, ADDED" 0 "$S" trust add "$st" certs/root.pem
stderr_empty
stdout_lines 1
check "stdout is not an ADDED line for the root" grep -q "^ADDED $ROOT" "$out"
check "DIR was not created" test -d "$st"
link=$st/$root_hash.0
if [[ -L $link ]]; then
    tgt=$(readlink -- "$link")
    [[ $tgt != */* ]] || fail "$root_hash.0 -> $tgt: not a link within DIR"
    [[ -f $link && ! -L $st/$tgt ]] || fail "$root_hash.0 -> $tgt: not a regular file"
    [[ $(fp "$link") == "$root_fp" ]] || fail "$root_hash.0 does not hold the root"
else
    fail "no symlink $root_hash.0 (openssl x509 -hash) in DIR"
fi
n=$(nentries "$st")
((n == 2)) || fail "$n entries in DIR, want 2 (the copy and its link)"

name="openssl verify -CApath after adding the root"
cases=$((cases + 1))
openssl verify -no-CAfile -CApath "$st" -untrusted certs/intermediate.pem certs/leaf-rsa.pem \
    >"$out" 2>"$err" || fail "openssl verify failed"
stdout_is "certs/leaf-rsa.pem: OK"
name="openssl verify -CApath an empty dir (control)"
cases=$((cases + 1))
! openssl verify -no-CAfile -CApath empty -untrusted certs/intermediate.pem certs/leaf-rsa.pem \
    >"$out" 2>"$err" || fail "openssl verify succeeded without a trust anchor"

before=$(dirstate "$st")
t "add root again: PRESENT, nothing written" 0 "$S" trust add "$st" certs/root.pem
stderr_empty
stdout_lines 1
check "stdout is not a PRESENT line" grep -q "^PRESENT $ROOT" "$out"
[[ $(dirstate "$st") == "$before" ]] || fail "DIR changed"
hand=$tmp/store-by-hand
mkdir "$hand"
cp certs/root.pem "$hand/our-root.pem"
t "add a root copied in by hand: PRESENT, and now hash-linked" 0 "$S" trust add "$hand" certs/root.pem
check "stdout is not a PRESENT line" grep -q "^PRESENT $ROOT" "$out"
[[ -L $hand/$root_hash.0 && $(readlink "$hand/$root_hash.0") == our-root.pem ]] ||
    fail "no $root_hash.0 link to our-root.pem"
t "add it once more: PRESENT, no second link" 0 "$S" trust add "$hand" certs/root.pem
[[ ! -e $hand/$root_hash.1 ]] || fail "a second link was made"
t "add root as DER: PRESENT" 0 "$S" trust add "$st" trust-der/root.der
check "stdout is not a PRESENT line" grep -q "^PRESENT $ROOT" "$out"
[[ $(dirstate "$st") == "$before" ]] || fail "DIR changed"

t "add a leaf: REFUSED" 1 "$S" trust add "$st" certs/leaf-rsa.pem
stderr_empty
stdout_lines 1
check "stdout is not a REFUSED line for the leaf" grep -q "^REFUSED $LEAF" "$out"
[[ $(dirstate "$st") == "$before" ]] || fail "DIR changed"
t "add a CA:TRUE root without keyCertSign: REFUSED" 1 "$S" trust add "$st" certs/broken-root.pem
check "stdout is not a REFUSED line" grep -q "^REFUSED CN=Broken Root CA,$O" "$out"
[[ $(dirstate "$st") == "$before" ]] || fail "DIR changed"
t "add a CA:FALSE intermediate: REFUSED" 1 "$S" trust add "$st" certs/notca-intermediate.pem
check "stdout is not a REFUSED line" grep -q "^REFUSED CN=Test NotCA Intermediate,$O" "$out"
[[ $(dirstate "$st") == "$before" ]] || fail "DIR changed"

t "add --force a leaf: ADDED" 0 "$S" trust add --force "$st" certs/leaf-rsa.pem
stderr_empty
stdout_lines 1
check "stdout is not an ADDED line for the leaf" grep -q "^ADDED $LEAF" "$out"
[[ -L $st/$leaf_hash.0 && $(fp "$st/$leaf_hash.0") == "$leaf_fp" ]] ||
    fail "no link $leaf_hash.0 to the leaf"
n=$(nentries "$st")
((n == 4)) || fail "$n entries in DIR, want 4"

t "list the added store: each certificate once" 0 "$S" trust list --format jsonl "$st"
stderr_empty
jcheck 'assert sorted(r["fingerprint"] for r in recs) == sorted(A), [r["path"] for r in recs]' \
    "$root_fp" "$leaf_fp"

# Two certificates with the same subject (so the same subject hash): .0 and .1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/dup.key" \
    -subj "/O=sigsweep test/CN=Test Root CA" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$tmp/dup-root.pem" >/dev/null 2>&1 || fail "openssl req (dup-root) failed"
dup_fp=$(fp "$tmp/dup-root.pem")
[[ $(hash_of "$tmp/dup-root.pem") == "$root_hash" ]] || fail "dup-root has another subject hash"
st2=$tmp/store2
t "add two CAs with one subject: both ADDED" 0 "$S" trust add "$st2" certs/root.pem "$tmp/dup-root.pem"
stderr_empty
stdout_lines 2
c=$(grep -c "^ADDED $ROOT" "$out")
((c == 2)) || fail "$c ADDED lines, want 2"
[[ -L $st2/$root_hash.0 && $(fp "$st2/$root_hash.0") == "$root_fp" ]] || fail "$root_hash.0 is not the root"
[[ -L $st2/$root_hash.1 && $(fp "$st2/$root_hash.1") == "$dup_fp" ]] || fail "$root_hash.1 is not the second CA"
[[ ! -e $st2/$root_hash.2 ]] || fail "$root_hash.2 exists"
t "list the store: both CAs once" 0 "$S" trust list --format jsonl "$st2"
jcheck 'assert sorted(r["fingerprint"] for r in recs) == sorted(A), [r["path"] for r in recs]' \
    "$root_fp" "$dup_fp"

t "add --format jsonl: the records" 1 "$S" trust add --format jsonl "$tmp/store3" \
    certs/root.pem certs/leaf-rsa.pem trust-der/root.der
stderr_empty
# The copy of the root that `trust add` wrote (a regular file in DIR), from the directory.
stored_name=
for e in "$tmp/store3"/*; do
    [[ -f $e && ! -L $e && $(fp "$e" 2>/dev/null) == "$root_fp" ]] && stored_name=${e##*/}
done
[[ -n $stored_name ]] || fail "no regular file holding the root in DIR"
[[ $(readlink -- "$tmp/store3/$root_hash.0") == "$stored_name" ]] ||
    fail "$root_hash.0 does not point to the stored file '$stored_name'"
jcheck '
import os
keys = {"action", "source", "subject", "fingerprint", "stored", "link", "detail"}
assert len(recs) == 3, "%d records" % len(recs)
for r in recs:
    assert set(r) == keys, "keys %s" % sorted(r)
    assert all(isinstance(v, str) for v in r.values()), "a value is no string: %r" % r
a, b, c = recs
got = (a["action"], b["action"], c["action"])
assert got == ("ADDED", "REFUSED", "PRESENT"), "actions %r" % (got,)
got = (a["source"], b["source"], c["source"])
assert got == ("certs/root.pem", "certs/leaf-rsa.pem", "trust-der/root.der"), "sources %r" % (got,)
got = (a["subject"], b["subject"], c["subject"])
assert got == (A[0], A[1], A[0]), "subjects %r" % (got,)
got = (a["fingerprint"], b["fingerprint"], c["fingerprint"])
assert got == (A[2], A[3], A[2]), "fingerprints %r" % (got,)
assert a["link"] == A[4] + ".0", "link %r" % a["link"]
assert os.path.basename(a["stored"]) == A[5] and os.path.isfile(a["stored"]), "stored %r" % a["stored"]
assert os.path.samefile(a["stored"], os.path.join(A[6], A[5])), "stored %r" % a["stored"]
assert (b["stored"], b["link"]) == ("", ""), "REFUSED record stored/link: %r" % b
assert a["detail"] != "" and b["detail"] != "" and c["detail"] != "", "empty detail"
' "$ROOT" "$LEAF" "$root_fp" "$leaf_fp" "$root_hash" "$stored_name" "$tmp/store3"
[[ -n $stored_name ]] || stored_name=$root_fp.pem # keep going; the cases below then say little

st4=$tmp/store4
mkdir -p "$st4"
printf 'not the root\n' >"$st4/$stored_name"
sum_before=$(sha256sum <"$st4/$stored_name")
t "add over a file of other content: REFUSED, not overwritten" 1 "$S" trust add "$st4" certs/root.pem
stderr_empty
stdout_lines 1
check "stdout is not a REFUSED line" grep -q "^REFUSED $ROOT" "$out"
[[ $(sha256sum <"$st4/$stored_name") == "$sum_before" ]] || fail "$stored_name was overwritten"
n=$(nentries "$st4")
((n == 1)) || fail "$n entries in DIR, want 1 (nothing added)"

st5=$tmp/store5
mkdir -p "$st5"
printf 'victim\n' >"$tmp/victim"
ln -s "$tmp/victim" "$st5/$stored_name"
ln -s "$tmp/created-through-link" "$st5/x.pem"
t "add over a symlink to another file: REFUSED, target unchanged" 1 "$S" trust add "$st5" certs/root.pem
check "stdout is not a REFUSED line" grep -q "^REFUSED $ROOT" "$out"
[[ $(cat "$tmp/victim") == victim ]] || fail "the symlink's target was written"
[[ -L $st5/$stored_name ]] || fail "the symlink was replaced"
rm -f "$st5/$stored_name"
ln -s "$tmp/created-through-link" "$st5/$stored_name"
t "add over a dangling symlink: REFUSED, nothing created" 1 "$S" trust add "$st5" certs/root.pem
check "stdout is not a REFUSED line" grep -q "^REFUSED $ROOT" "$out"
[[ ! -e $tmp/created-through-link ]] || fail "a file was created through the dangling symlink"

st6=$tmp/store6
mkdir -p "$st6"
printf 'not a link\n' >"$st6/$root_hash.0"
sum_before=$(sha256sum <"$st6/$root_hash.0")
t "add when <hash>.0 is taken by another file" 0 "$S" trust add "$st6" certs/root.pem
[[ $(sha256sum <"$st6/$root_hash.0") == "$sum_before" ]] || fail "$root_hash.0 was overwritten"
check "stdout is not an ADDED line" grep -q "^ADDED $ROOT" "$out"
[[ -L $st6/$root_hash.1 && $(fp "$st6/$root_hash.1") == "$root_fp" ]] ||
    fail "the root is not linked as $root_hash.1"

st7=$tmp/store7
t "add a bundle: all its CAs" 0 "$S" trust add "$st7" trust-bundle.pem
stderr_empty
stdout_lines 2
check "no ADDED line for the root" grep -q "^ADDED $ROOT" "$out"
check "no ADDED line for the other root" grep -q "^ADDED CN=Other Root CA,$O" "$out"
[[ $(fp "$st7/$root_hash.0") == "$root_fp" ]] || fail "$root_hash.0 is not the root"
[[ $(fp "$st7/$other_hash.0") == "$other_fp" ]] || fail "$other_hash.0 is not the other root"
n=$(nentries "$st7")
((n == 4)) || fail "$n entries in DIR, want 4"

cat certs/intermediate.pem certs/leaf-p256.pem >"$tmp/mixed-bundle.pem"
t "add a bundle with a leaf: the CA ADDED, the leaf REFUSED" 1 "$S" trust add "$st7" "$tmp/mixed-bundle.pem"
stdout_lines 2
check "no ADDED line for the intermediate" grep -q "^ADDED $INT" "$out"
check "no REFUSED line for the leaf" grep -q "^REFUSED CN=Test P-256 Leaf,$O" "$out"
[[ $(fp "$st7/$int_hash.0") == "$int_fp" ]] || fail "$int_hash.0 is not the intermediate"

usage_error "add DIR without CERT" "$S" trust add "$tmp/store8"
[[ ! -e $tmp/store8 ]] || fail "DIR was created on a usage error"
usage_error "add without DIR" "$S" trust add
usage_error "add --bogus" "$S" trust add --bogus "$tmp/store8" certs/root.pem
[[ ! -e $tmp/store8 ]] || fail "DIR was created on a usage error"
usage_error "add a missing CERT" "$S" trust add "$tmp/store8" "$tmp/no-such.pem"
usage_error "add a non-certificate" "$S" trust add "$tmp/store9" files/rsa-sha256.bin
usage_error "add a private key" "$S" trust add "$tmp/store9" keys/leaf-rsa.key
usage_error "add into a regular file" "$S" trust add files/rsa-sha256.bin certs/root.pem
usage_error "add a CA and then a non-certificate: nothing added" "$S" trust add "$tmp/store10" \
    certs/root.pem files/rsa-sha256.bin
[[ ! -e $tmp/store10 ]] || fail "DIR was created although a source was bad"

# =========================================================================================
# trust diagnose

dt=$tmp/diag-trust
cp -r trust "$dt" # root.pem only
MISSING="chain incomplete: no certificate for issuer \"$INT\" (authority key id $(ski certs/intermediate.pem)) of \"$LEAF\"; caIssuers http://pki.example.test/intermediate.crt; would be VALID after importing \"$INT\" from search/intermediate.pem"

t "diagnose, intermediate not embedded: UNTRUSTED and the fix" 1 \
    "$S" trust diagnose -q --trust "$dt" --search search files/noint-rsa.bin
stderr_has "1 UNTRUSTED" # -q: the summary stays when a file is not VALID (sha256sum -c)
stdout_lines 2
stdout_has "UNTRUSTED"
stdout_has "would be VALID after importing \"$INT\" from search/intermediate.pem"
line_is 1 "files/noint-rsa.bin: UNTRUSTED (signature by \"$LEAF\" verifies, but: $MISSING)"
line_is 2 "  chain: $LEAF"

t "diagnose jsonl: chain is an array of DNs from the leaf" 1 \
    "$S" trust diagnose -q --trust "$dt" --search search --format jsonl files/noint-rsa.bin
stderr_has "1 UNTRUSTED"
jcheck '
assert len(recs) == 1, "%d records" % len(recs)
r = recs[0]
assert r["path"] == "files/noint-rsa.bin" and r["verdict"] == "UNTRUSTED", r
assert r["chain"] == [A[0]], r["chain"]
assert r["reason"] == A[1], r["reason"]
assert r["size"] == 8192 and r["digest"] == A[2], (r["size"], r["digest"])
' "$LEAF" "signature by \"$LEAF\" verifies, but: $MISSING" \
    "$(sha256sum files/noint-rsa.bin | cut -c1-64)"

t "diagnose without the summary line on stderr unless -q" 1 \
    "$S" trust diagnose --trust "$dt" --search search files/noint-rsa.bin
stdout_lines 2
stderr_has "1 UNTRUSTED"

t "diagnose, no candidate in --search: no fix named" 1 \
    "$S" trust diagnose -q --trust "$dt" --search search-root files/noint-rsa.bin
stdout_has "UNTRUSTED"
stdout_has "no certificate for issuer \"$INT\""
stdout_lacks "would be VALID"

t "diagnose a certificate file: judged as that certificate" 1 \
    "$S" trust diagnose -q --trust "$dt" --search search certs/leaf-rsa.pem
stderr_has "1 UNTRUSTED"
stdout_lines 2
line_is 1 "certs/leaf-rsa.pem: UNTRUSTED ($MISSING)"
line_is 2 "  chain: $LEAF"
t "diagnose a certificate file, jsonl" 1 \
    "$S" trust diagnose -q --trust "$dt" --search search --format jsonl certs/leaf-rsa.pem
jcheck '
assert len(recs) == 1, "%d records" % len(recs)
r = recs[0]
assert r["path"] == "certs/leaf-rsa.pem" and r["verdict"] == "UNTRUSTED", r
assert r["reason"] == A[1], r["reason"]
assert r["chain"] == [A[0]], r["chain"]
' "$LEAF" "$MISSING"

t "add the intermediate named as the fix" 0 "$S" trust add "$dt" search/intermediate.pem
check "no ADDED line for the intermediate" grep -q "^ADDED $INT" "$out"

t "diagnose after the import, -q: no line for a VALID file" 0 \
    "$S" trust diagnose -q --trust "$dt" --search search files/noint-rsa.bin
stderr_empty
[[ ! -s $out ]] || fail "stdout not empty"
t "diagnose after the import: VALID, the whole chain" 0 \
    "$S" trust diagnose --trust "$dt" --search search files/noint-rsa.bin
stderr_has "1 VALID"
stdout_is "files/noint-rsa.bin: VALID (signed by \"$LEAF\", chain to \"$ROOT\")
  chain: $LEAF
      <- $INT
      <- $ROOT"
t "diagnose the certificate after the import: VALID" 0 \
    "$S" trust diagnose --trust "$dt" --search search certs/leaf-rsa.pem
stdout_is "certs/leaf-rsa.pem: VALID (chain to \"$ROOT\")
  chain: $LEAF
      <- $INT
      <- $ROOT"
t "diagnose after the import, jsonl" 0 \
    "$S" trust diagnose -q --trust "$dt" --format jsonl files/noint-rsa.bin certs/leaf-rsa.pem
jcheck '
assert sorted(r["path"] for r in recs) == ["certs/leaf-rsa.pem", "files/noint-rsa.bin"], recs
for r in recs:
    assert r["verdict"] == "VALID", r
    assert r["chain"] == A, r["chain"]
' "$LEAF" "$INT" "$ROOT"

t "diagnose a mix: exit 1 when one is not VALID" 1 \
    "$S" trust diagnose --trust "$dt" files/noint-rsa.bin bad/nosig.bin
check "files/noint-rsa.bin is not VALID" grep -q "^files/noint-rsa.bin: VALID" "$out"
check "bad/nosig.bin is not NO_SIGNATURE" grep -q "^bad/nosig.bin: NO_SIGNATURE" "$out"

usage_error "diagnose without --trust" "$S" trust diagnose --search search files/noint-rsa.bin
usage_error "diagnose without FILE" "$S" trust diagnose --trust "$dt"

# =========================================================================================
# trust without a subcommand

usage_error "trust without subcommand" "$S" trust
t "add to DIR/ (a trailing slash): the stored path has no double slash" 0 \
    "$S" trust add --format jsonl "$tmp/slash-store/" certs/root.pem
stdout_has "\"stored\":\"$tmp/slash-store/${root_fp:0:16}.pem\""
stdout_lacks "//"

usage_error "trust bogus" "$S" trust bogus
usage_error "trust bogus with args" "$S" trust bogus trust

printf 'trust_cmds.sh: %d cases, %d failures\n' "$cases" "$fails"
((fails == 0))
