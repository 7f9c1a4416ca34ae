#!/usr/bin/env bash
# package.sh - an update package with a signed manifest, and broken variants, for
# `sigsweep package verify` (issue 5).
#
#   corpus/package.sh OUT [--files N] [--large N] [--seed S] [--sigsweep PATH] [--lenient]
# Defaults: 3000 files, 4 large (8-32 MiB) files, seed 1; sigsweep from $SIGSWEEP,
# build/cli/sigsweep or PATH. Needs bash, coreutils, the openssl CLI (3.0+) and python3 (stdlib).
#
# Writes (paths relative to OUT; run every check with OUT as the current directory)
#   keys/                 signer.key/.pub (RSA-2048, signs the manifests), other.key/.pub (RSA-2048,
#                         an unrelated signer), ca.key/.crt (root CA), leaf.key/.crt (code-signing
#                         leaf under ca), plain-leaf.key/.crt (leaf under ca without the
#                         codeSigning EKU), other-ca.crt + other-leaf.key/.crt (an unrelated CA
#                         and its code-signing leaf). Keys are random, made anew by every run.
#   pkg/                  the package: N files in nested folders (1-64 KiB, one empty, a few names
#                         with spaces) plus --large files of 8-32 MiB
#   pkg.sha256            its manifest, made by `sigsweep package create pkg --out pkg.sha256` and
#                         checked byte-identical to coreutils `sha256sum` output
#   pkg.sha256.sig        `openssl dgst -sha256 -sign keys/signer.key pkg.sha256`
#   variants/<name>/      small broken (or odd but valid) packages, each with pkg/ and its own
#                         manifest + signature (see VARIANTS below)
#   variants.tsv          variant<TAB>dir<TAB>manifest<TAB>verify options<TAB>exit: run
#                         `sigsweep package verify DIR --manifest MANIFEST OPTIONS...` (options are
#                         space-separated words) from OUT; exit is the expected status (0 or 1)
#   expected.tsv          variant<TAB>relpath-or-MANIFEST<TAB>verdict[<TAB>reason substring]...:
#                         every record the verify run of the variant prints, and no other.
#                         MANIFEST = the one record for the manifest (path = the --manifest
#                         argument). A verdict may be alternatives A|B; NONE = no record for the
#                         path is also fine. Reason substrings must all occur in the reason
#                         (a number in them is not followed by another digit). Paths: bytes
#                         outside printable ASCII and the backslash as \xHH.
#   outside/              files outside every package root that symbolic links point to
#   .sgs-package          stamp: OUT was made here, so it may be wiped and regenerated
#
# --lenient: when `sigsweep package create` differs from coreutils (or sigsweep has no
# `package` command yet), warn, keep the coreutils manifest and go on (exit 0) instead of
# failing (exit 1). File contents depend only on --seed/--files/--large (python's PRNG).
#
# VARIANTS (about 30 files each unless said; all manifests raw-signed by signer.key unless said)
#   main                 pkg/ itself: all VALID, exit 0
#   byte-changed         one byte of one file flipped after signing -> DIGEST_MISMATCH
#   missing              a listed file deleted -> MISSING_FILE
#   extra                an unlisted file added -> EXTRA_FILE
#   renamed              a listed file renamed -> old MISSING_FILE, new EXTRA_FILE
#   manifest-tampered    one hex digit of the manifest changed after signing -> BAD_SIGNATURE
#   other-key            manifest signed by other.key -> BAD_SIGNATURE
#   no-signature         no .sig/.p7s -> NO_SIGNATURE
#   sig-garbage          .sig is text -> MALFORMED
#   traversal, traversal-mid, absolute, empty-name, nul-byte, long-line (> 64 KiB),
#   bad-hex, garbage-line, duplicate   a bad line (validly signed) -> MALFORMED "line N"
#   symlink-outside      listed links to a file outside the root (relative and absolute) ->
#                        SKIPPED; a listed path through a directory link to outside -> not VALID
#                        (SKIPPED|MISSING_FILE|IO_ERROR); an unlisted link -> EXTRA_FILE|SKIPPED
#   special              listed FIFO, directory and in-package symlink -> SKIPPED
#   unreadable           a mode-000 file -> IO_ERROR (VALID when run as root)
#   ignore-off/ignore-on unlisted *.log, logs/*.tmp, Thumbs.db -> EXTRA_FILE / VALID with --ignore
#   manifest-inside      manifest and .sig inside the package root -> VALID, not EXTRA_FILE
#   cms, cms-in-sig      manifest signed by `openssl cms -sign -binary` (leaf), as .p7s / as
#                        .sig -> VALID with --trust keys/ca.crt --purpose codesign
#   p7s-precedence       a valid .p7s next to a garbage .sig -> VALID (the .p7s is used)
#   cms-untrusted        signed by other-leaf -> UNTRUSTED; cms-no-codesign: plain-leaf with
#                        --purpose codesign -> UNTRUSTED
#   pss                  manifest signed RSA-PSS SHA-384 -> VALID with --hash sha384 --pss
#   tag, tag-sha512, sha512, sha384-binary, openssl-r, mixed   manifests by `sha256sum --tag`,
#                        `sha512sum --tag`, `sha512sum`, `sha384sum -b`, `openssl dgst -sha256 -r`
#                        and a mix of them line by line -> VALID
#   tricky-names         names with spaces, backslashes, newlines, tabs, UTF-8, non-UTF-8, `*`,
#                        `(x) = y`, leading dash; manifest by coreutils `sha256sum` -> VALID
set -euo pipefail
export LC_ALL=C
umask 022

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$here")
stamp_name=.sgs-package
die() { printf 'package.sh: %s\n' "$*" >&2; exit 2; }
# shellcheck source=corpus/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
note() { printf 'package.sh: %s\n' "$*" >&2; }
usage() { sed -n '5,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

files=3000
large=4
seed=1
lenient=0
sigsweep=${SIGSWEEP:-}
out=
number() { [[ $2 =~ ^[0-9]+$ ]] || die "$1: not a number: '$2'"; printf '%s' "$2"; }
while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --files) (($# >= 2)) || die "$1 needs a value"; files=$(number "$1" "$2"); shift 2 ;;
        --large) (($# >= 2)) || die "$1 needs a value"; large=$(number "$1" "$2"); shift 2 ;;
        --seed) (($# >= 2)) || die "$1 needs a value"; seed=$(number "$1" "$2"); shift 2 ;;
        --sigsweep) (($# >= 2)) || die "$1 needs a value"; sigsweep=$2; shift 2 ;;
        --lenient) lenient=1; shift ;;
        -*) die "unknown option '$1' (try --help)" ;;
        *) [[ -z $out ]] || die "only one OUT, got '$out' and '$1'"; out=$1; shift ;;
    esac
done
[[ -n $out ]] || { usage >&2; exit 2; }
((files >= 50)) || die "--files must be at least 50"
while [[ $out == */ && $out != / ]]; do out=${out%/}; done
[[ $out != / ]] || die "refusing to use / as OUT"
for t in openssl python3 sha256sum sha384sum sha512sum find sort xargs; do
    command -v "$t" >/dev/null || die "$t not found"
done
if [[ -z $sigsweep ]]; then
    if [[ -x $root/build/cli/sigsweep ]]; then sigsweep=$root/build/cli/sigsweep
    elif command -v sigsweep >/dev/null; then sigsweep=$(command -v sigsweep)
    elif ((lenient)); then sigsweep=
    else die "sigsweep binary not found: pass --sigsweep PATH"; fi
fi
[[ -z $sigsweep ]] || [[ -x $sigsweep ]] || die "not executable: $sigsweep"
[[ -z $sigsweep ]] || sigsweep=$(cd -- "$(dirname -- "$sigsweep")" && pwd)/${sigsweep##*/}

# OUTDIR: create, or wipe one we made before; never touch anything else.
claim_outdir "$out" "$stamp_name" corpus/package.sh
cd -- "$out"
t0=$(date +%s.%N)
mkdir -p keys variants outside work
log=$out/work/openssl.log
: >"$log"

# Run openssl quietly; on failure show its output and stop.
ossl() {
    if ! openssl "$@" >>"$log" 2>&1; then
        printf 'package.sh: openssl %s failed:\n' "$*" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
}

# --- keys and certificates --------------------------------------------------------------------
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out keys/signer.key
ossl pkey -in keys/signer.key -pubout -out keys/signer.pub
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out keys/other.key
ossl pkey -in keys/other.key -pubout -out keys/other.pub
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' \
    >work/codesign.ext
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' \
    >work/plain.ext
# mkca NAME KEYALG... : self-signed root keys/NAME.key + keys/NAME.crt
mkca() {
    local name=$1 cn=$2; shift 2
    ossl genpkey "$@" -out "keys/$name.key"
    ossl req -x509 -new -key "keys/$name.key" -days 7300 -sha256 -out "keys/$name.crt" \
        -subj "/O=sigsweep package test/CN=$cn" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}
# mkleaf NAME CA CN EXTFILE KEYALG...: keys/NAME.key + keys/NAME.crt issued by keys/CA
mkleaf() {
    local name=$1 ca=$2 cn=$3 ext=$4; shift 4
    ossl genpkey "$@" -out "keys/$name.key"
    ossl req -new -key "keys/$name.key" -subj "/O=sigsweep package test/CN=$cn" \
        -out "work/$name.csr"
    ossl x509 -req -in "work/$name.csr" -CA "keys/$ca.crt" -CAkey "keys/$ca.key" \
        -CAcreateserial -CAserial "work/$ca.srl" -days 3650 -sha256 -extfile "$ext" \
        -out "keys/$name.crt"
}
rsa=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048)
p256=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256)
mkca ca "Package Root CA" "${rsa[@]}"
mkleaf leaf ca "Package Code Signing" work/codesign.ext "${rsa[@]}"
mkleaf plain-leaf ca "Package Server (no codeSigning)" work/plain.ext "${p256[@]}"
mkca other-ca "Unrelated Root CA" "${p256[@]}"
mkleaf other-leaf other-ca "Unrelated Code Signing" work/codesign.ext "${p256[@]}"
rm -f keys/other-ca.key
chmod 600 keys/*.key

# --- file contents (python: deterministic from --seed) ----------------------------------------
# Trees: pkg/ (main) and variants/<name>/pkg/ for every variant below; the tricky names of
# tricky-names; the outside files.
VARIANTS=(byte-changed missing extra renamed manifest-tampered other-key no-signature sig-garbage
    traversal traversal-mid absolute empty-name nul-byte long-line bad-hex garbage-line duplicate
    symlink-outside special unreadable ignore manifest-inside cms cms-in-sig p7s-precedence
    cms-untrusted cms-no-codesign pss tag tag-sha512 sha512 sha384-binary openssl-r mixed
    tricky-names)
python3 - "$seed" "$files" "$large" "${VARIANTS[@]}" <<'PY'
import os, random, sys, zlib

seed, nfiles, nlarge = (int(x) for x in sys.argv[1:4])
variants = sys.argv[4:]
KiB, MiB = 1024, 1024 * 1024


def put(path, data):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# main package: nested folders like an installed product
rng = random.Random(seed)
tops = ["bin", "lib", "lib/plugins", "share/doc", "share/locale", "etc/defaults", "drivers",
        "data/signatures", "data/rules", "Program Files/Vendor Agent"]
dirs = list(tops)
while len(dirs) < max(20, nfiles // 40):
    parent = rng.choice(dirs)
    if parent.count("/") >= 4:
        continue
    d = parent + "/" + rng.choice(["x86", "x64", "arm64", "v1", "v2", "en", "de", "fr", "ja",
                                   "modules", "engine", "update", "cache", "res"]) \
        + "%d" % rng.randrange(100)
    if d not in dirs:
        dirs.append(d)
exts = [".dll", ".exe", ".so", ".dat", ".json", ".xml", ".txt", ".sys", ".bin", ".mo", ".cfg"]
names = set()
spaced = 0
while len(names) < nfiles:
    d = rng.choice(dirs)
    stem = "%s%04d" % (rng.choice(["core", "mod", "res", "drv", "upd", "lang", "cfg", "sig"]),
                       rng.randrange(10000))
    if spaced < 6 and rng.random() < 0.01:
        stem = "read me %d (copy)" % spaced
        spaced += 1
    names.add(d + "/" + stem + rng.choice(exts))
names = sorted(names)
for i, n in enumerate(names):
    size = 0 if i == 1 else (rng.randint(1, 64) * KiB - rng.randrange(KiB))
    put("pkg/" + n, rng.randbytes(size))
for i in range(nlarge):
    put("pkg/data/large/update-%02d.pak" % i, rng.randbytes(rng.randint(8, 32) * MiB))

# variants: ~30 small files each, in 3 levels
for v in variants:
    vr = random.Random(seed * 1000003 + zlib.crc32(v.encode()))
    base = "variants/%s/pkg/" % v
    for i in range(30):
        d = ["", "bin/", "lib/", "lib/sub/", "doc/"][i % 5]
        put(base + "%sfile%02d.%s" % (d, i, ["bin", "dll", "txt"][i % 3]),
            vr.randbytes(vr.randint(100, 8 * KiB)))
    if v == "tricky-names":
        tricky = [b"with space.txt", b"  two leading spaces", b"trailing space ",
                  b"back\\slash", b"two\\\\backslashes", b"new\nline", b"\nleading newline",
                  b"both\\and\nnewline", b"ends with backslash\\", b"tab\there",
                  "\u00fctf-8 \u00f1ame \u2713".encode(), b"latin1-\xe9t\xe9-\xff",
                  b"-leading-dash", b"*star", b"star * middle", b"(paren) = x",
                  b"SHA256 (fake) = 00", b"dir with space/inner file",
                  b"dir with space/new\nline too", b"back\\dir/plain"]
        for t in tricky:
            p = os.fsencode(base) + t
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(vr.randbytes(vr.randint(1, 2000)))

put("outside/secret.bin", b"a file outside every package root; never read it\n")
put("outside/dir/secret.bin", b"a file outside every package root; never read it\n")
PY

# --- helpers ----------------------------------------------------------------------------------
# cu_list DIR [EXCLUDE...]: NUL-separated relative paths of the regular files, byte-sorted
cu_list() {
    local dir=$1; shift
    local ex=() e
    for e in "$@"; do ex+=(! -path "./$e"); done
    (cd -- "$dir" && find . -type f "${ex[@]}" -print0 | sort -z | sed -z 's|^\./||')
}
# cu_manifest DIR TOOL [TOOL ARGS] [-- EXCLUDE...]: coreutils checksum lines of DIR's files
cu_manifest() {
    local dir=$1 tool=$2; shift 2
    local args=() ex=()
    while (($#)) && [[ $1 != -- ]]; do args+=("$1"); shift; done
    (($#)) && { shift; ex=("$@"); }
    cu_list "$dir" "${ex[@]}" | (cd -- "$dir" && xargs -0 -r "$tool" "${args[@]}" --)
}
sign() { ossl dgst -sha256 -sign "keys/${2:-signer}.key" -out "$1.sig" "$1"; }
cms_sign() { # MANIFEST SIGNER OUTFILE
    ossl cms -sign -binary -in "$1" -signer "keys/$2.crt" -inkey "keys/$2.key" -outform DER \
        -out "$3"
}
# insert_line FILE N: the bytes on stdin become line N of FILE
insert_line() {
    python3 -c '
import sys
path, n = sys.argv[1], int(sys.argv[2])
new = sys.stdin.buffer.read()
lines = open(path, "rb").read().split(b"\n")[:-1]
lines.insert(n - 1, new)
open(path, "wb").write(b"\n".join(lines) + b"\n")' "$1" "$2"
}
flip_byte() { # FILE OFFSET
    python3 -c '
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 1]))' "$1" "$2"
}
nth_file() { cu_list "$1" | tr '\0' '\n' | sed -n "$2p"; }
hash_of() { sha256sum -- "$1" | cut -d' ' -f1; }
# Per variant: work/V.listed0 (files listed, VALID unless overridden), work/V.over (TSV rows
# path<TAB>verdict[<TAB>substring...]; a MANIFEST row means the run stops there), and a row of
# work/variants.list.
row() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>work/variants.list; }
over() { local v=$1; shift; (IFS=$'\t'; printf '%s\n' "$*") >>"work/$v.over"; }
listed() { cu_list "variants/$1/pkg" >"work/$1.listed0"; }
key=(--key keys/signer.pub)
trust=(--trust keys/ca.crt --purpose codesign)
: >work/variants.list

# sigsweep create vs coreutils: compare DIR's `package create` output with REF.
create_check() { # DIR REF [HASH]
    local dir=$1 ref=$2 hash=${3:-sha256} tmp=work/create.$$.out
    if [[ -z $sigsweep ]]; then
        note "no sigsweep: $ref made by coreutils only"; return 0
    fi
    rm -f "$tmp"
    if ! "$sigsweep" package create "$dir" --out "$tmp" --hash "$hash" 2>work/create.err; then
        ((lenient)) || { cat work/create.err >&2; die "sigsweep package create $dir failed"; }
        note "warning: sigsweep package create $dir failed: $(head -c 300 work/create.err)"
        return 0
    fi
    if ! cmp -s "$tmp" "$ref"; then
        diff <(cat -A "$ref") <(cat -A "$tmp") | head -n 20 >&2 || true
        ((lenient)) || die "sigsweep package create $dir differs from coreutils ($ref; diff above: < coreutils, > sigsweep)"
        note "warning: sigsweep package create $dir differs from coreutils; keeping coreutils' $ref"
    fi
    rm -f "$tmp"
}

# --- main package -----------------------------------------------------------------------------
cu_manifest pkg sha256sum >work/pkg.coreutils.sha256
if [[ -n $sigsweep ]] && "$sigsweep" package create pkg --out pkg.sha256 2>work/create.err; then
    if ! cmp -s pkg.sha256 work/pkg.coreutils.sha256; then
        diff work/pkg.coreutils.sha256 pkg.sha256 | head -n 20 >&2 || true
        ((lenient)) || die "sigsweep package create pkg differs from coreutils (diff above: < coreutils, > sigsweep)"
        note "warning: sigsweep package create pkg differs from coreutils; using coreutils' manifest"
        cp work/pkg.coreutils.sha256 pkg.sha256
    fi
else
    if [[ -n $sigsweep ]]; then
        ((lenient)) || { cat work/create.err >&2; die "sigsweep package create pkg failed"; }
        note "warning: sigsweep package create failed: $(head -c 300 work/create.err)"
    fi
    note "pkg.sha256 made by coreutils sha256sum"
    cp work/pkg.coreutils.sha256 pkg.sha256
fi
sign pkg.sha256
cu_list pkg >work/main.listed0
: >work/main.over
row main pkg pkg.sha256 "${key[*]}"

# --- variants ---------------------------------------------------------------------------------
for v in "${VARIANTS[@]}"; do
    d=variants/$v
    m=$d/pkg.sha256
    : >"work/$v.over"
    case $v in
        tag|tag-sha512|sha512|sha384-binary|openssl-r|mixed|tricky-names|manifest-inside|special|symlink-outside|ignore)
            ;; # manifest made below
        *) cu_manifest "$d/pkg" sha256sum >"$m"; listed "$v" ;;
    esac
    case $v in
        byte-changed)
            f=$(nth_file "$d/pkg" 7); sign "$m"; flip_byte "$d/pkg/$f" 50
            over "$v" "$f" DIGEST_MISMATCH expected got
            row "$v" "$d/pkg" "$m" "${key[*]}" ;;
        missing)
            f=$(nth_file "$d/pkg" 12); sign "$m"; rm -- "$d/pkg/$f"
            over "$v" "$f" MISSING_FILE
            row "$v" "$d/pkg" "$m" "${key[*]}" ;;
        extra)
            sign "$m"; printf 'not in the manifest\n' >"$d/pkg/lib/sub/extra.dll"
            over "$v" lib/sub/extra.dll EXTRA_FILE
            row "$v" "$d/pkg" "$m" "${key[*]}" ;;
        renamed)
            f=$(nth_file "$d/pkg" 3); sign "$m"; mv -- "$d/pkg/$f" "$d/pkg/$f.renamed"
            over "$v" "$f" MISSING_FILE; over "$v" "$f.renamed" EXTRA_FILE
            row "$v" "$d/pkg" "$m" "${key[*]}" ;;
        manifest-tampered)
            sign "$m"
            # line 2's first hex digit: 0<->1, a<->b, ...
            python3 -c '
import sys
p = sys.argv[1]; lines = open(p, "rb").read().split(b"\n")
c = lines[1][0:1]; lines[1] = bytes([c[0] ^ 1]) + lines[1][1:]
open(p, "wb").write(b"\n".join(lines))' "$m"
            over "$v" MANIFEST BAD_SIGNATURE
            row "$v" "$d/pkg" "$m" "${key[*]}" ;;
        other-key)
            sign "$m" other; over "$v" MANIFEST BAD_SIGNATURE
            row "$v" "$d/pkg" "$m" "${key[*]}" ;;
        no-signature)
            over "$v" MANIFEST NO_SIGNATURE
            row "$v" "$d/pkg" "$m" "${key[*]}" ;;
        sig-garbage)
            printf 'not a signature\n' >"$m.sig"; over "$v" MANIFEST MALFORMED
            row "$v" "$d/pkg" "$m" "${key[*]}" ;;
        traversal|traversal-mid|absolute|empty-name|nul-byte|long-line|bad-hex|garbage-line|duplicate)
            h=$(hash_of outside/secret.bin)
            n=4
            [[ $v != duplicate ]] || n=6
            case $v in
                traversal) cp outside/secret.bin "$d/x"; printf '%s  ../x' "$h" ;;
                traversal-mid) mkdir -p "$d/y"; cp outside/secret.bin "$d/y/x"
                               printf '%s  lib/../../y/x' "$h" ;;
                absolute) printf '%s  %s' "$h" "$out/outside/secret.bin" ;;
                empty-name) printf '%s  ' "$h" ;;
                nul-byte) printf '%s  lib/file\0.dll' "$h" ;;
                long-line) printf '%s  ' "$h"; head -c 70000 /dev/zero | tr '\0' a ;;
                bad-hex) printf '%s  bin/file99.bin' "${h:0:63}g" ;;
                garbage-line) printf 'this is not a checksum line' ;;
                duplicate) sed -n 2p "$m" | tr -d '\n' ;;
            esac | insert_line "$m" "$n"
            sign "$m"
            over "$v" MANIFEST MALFORMED "line $n"
            row "$v" "$d/pkg" "$m" "${key[*]}" ;;
        symlink-outside)
            h=$(hash_of outside/secret.bin)
            ln -s ../../../outside/secret.bin "$d/pkg/escape.bin"
            ln -s "$out/outside/secret.bin" "$d/pkg/lib/abs-escape.bin"
            ln -s ../../../outside/dir "$d/pkg/linkdir"
            ln -s ../../../../outside/secret.bin "$d/pkg/doc/stray-link.bin"
            listed "$v"
            { cu_manifest "$d/pkg" sha256sum
              for e in escape.bin lib/abs-escape.bin linkdir/secret.bin; do printf '%s  %s\n' "$h" "$e"; done
            } | sort -k2 >"$m"
            sign "$m"
            over "$v" escape.bin SKIPPED
            over "$v" lib/abs-escape.bin SKIPPED
            over "$v" linkdir/secret.bin 'SKIPPED|MISSING_FILE|IO_ERROR'
            over "$v" linkdir 'EXTRA_FILE|SKIPPED|NONE'
            over "$v" doc/stray-link.bin 'EXTRA_FILE|SKIPPED'
            row "$v" "$d/pkg" "$m" "${key[*]}" ;;
        special)
            mkfifo "$d/pkg/lib/pipe"
            mkdir -p "$d/pkg/adir"; printf 'inside adir\n' >"$d/pkg/adir/inner.txt"
            ln -s file07.dll "$d/pkg/lib/alias.dll"
            ln -s ../file00.bin "$d/pkg/doc/stray-alias.bin"
            mkfifo "$d/pkg/doc/stray-pipe"
            listed "$v"
            { cu_manifest "$d/pkg" sha256sum
              printf '%s  %s\n' "$(sha256sum </dev/null | cut -d' ' -f1)" lib/pipe
              printf '%s  %s\n' "$(printf 'inside adir\n' | sha256sum | cut -d' ' -f1)" adir
              printf '%s  %s\n' "$(hash_of "$d/pkg/lib/file07.dll")" lib/alias.dll
            } | sort -k2 >"$m"
            sign "$m"
            over "$v" lib/pipe SKIPPED
            over "$v" adir SKIPPED
            over "$v" lib/alias.dll SKIPPED
            over "$v" doc/stray-alias.bin 'EXTRA_FILE|SKIPPED'
            over "$v" doc/stray-pipe 'EXTRA_FILE|SKIPPED'
            row "$v" "$d/pkg" "$m" "${key[*]}" ;;
        unreadable)
            sign "$m"; f=$(nth_file "$d/pkg" 5); chmod 000 -- "$d/pkg/$f"
            # root (CAP_DAC_OVERRIDE) still reads a mode-000 file: ask the kernel.
            if head -c1 -- "$d/pkg/$f" >/dev/null 2>&1; then :; else over "$v" "$f" IO_ERROR; fi
            row "$v" "$d/pkg" "$m" "${key[*]}" ;;
        ignore)
            m=$d/pkg.sha256
            cu_manifest "$d/pkg" sha256sum >"$m"; listed "$v"; sign "$m"
            mkdir -p "$d/pkg/logs" "$d/pkg/lib/sub/deep"
            printf 'log\n' >"$d/pkg/logs/run.tmp"; printf 'log\n' >"$d/pkg/logs/old.tmp"
            printf 'thumbs\n' >"$d/pkg/lib/sub/Thumbs.db"; printf 'x\n' >"$d/pkg/x.log"
            printf 'y\n' >"$d/pkg/lib/sub/deep/y.log"
            cp "work/$v.listed0" work/ignore-off.listed0; cp "work/$v.listed0" work/ignore-on.listed0
            : >work/ignore-off.over; : >work/ignore-on.over
            for e in logs/run.tmp logs/old.tmp lib/sub/Thumbs.db x.log lib/sub/deep/y.log; do
                over ignore-off "$e" EXTRA_FILE
            done
            row ignore-off "$d/pkg" "$m" "${key[*]}"
            row ignore-on "$d/pkg" "$m" "${key[*]} --ignore logs/*.tmp --ignore Thumbs.db --ignore *.log"
            rm -f "work/$v.listed0" "work/$v.over" ;;
        manifest-inside)
            m=$d/pkg/SHA256SUMS
            cu_manifest "$d/pkg" sha256sum >work/inside.sha256
            mv work/inside.sha256 "$m"; sign "$m"; listed "$v"
            # listed() saw SHA256SUMS and its .sig: take them out again
            tr '\0' '\n' <"work/$v.listed0" | grep -v -x -e SHA256SUMS -e SHA256SUMS.sig |
                tr '\n' '\0' >"work/$v.listed1"
            mv "work/$v.listed1" "work/$v.listed0"
            row "$v" "$d/pkg" "$m" "${key[*]}" ;;
        cms) cms_sign "$m" leaf "$m.p7s"; row "$v" "$d/pkg" "$m" "${trust[*]}" ;;
        cms-in-sig) cms_sign "$m" leaf "$m.sig"; row "$v" "$d/pkg" "$m" "${trust[*]}" ;;
        p7s-precedence)
            cms_sign "$m" leaf "$m.p7s"; printf 'garbage, must not be read\n' >"$m.sig"
            row "$v" "$d/pkg" "$m" "${trust[*]}" ;;
        cms-untrusted)
            cms_sign "$m" other-leaf "$m.p7s"; over "$v" MANIFEST UNTRUSTED
            row "$v" "$d/pkg" "$m" "${trust[*]}" ;;
        cms-no-codesign)
            cms_sign "$m" plain-leaf "$m.p7s"; over "$v" MANIFEST UNTRUSTED
            row "$v" "$d/pkg" "$m" "${trust[*]}" ;;
        pss)
            ossl dgst -sha384 -sign keys/signer.key -sigopt rsa_padding_mode:pss \
                -sigopt rsa_pss_saltlen:32 -out "$m.sig" "$m"
            row "$v" "$d/pkg" "$m" "${key[*]} --hash sha384 --pss" ;;
        tag|tag-sha512|sha512|sha384-binary|openssl-r|mixed|tricky-names)
            if [[ $v == openssl-r ]]; then
                # names openssl does not escape: spaces and a lone backslash (taken literally)
                printf 'spaced\n' >"$d/pkg/doc/with space.txt"
                printf 'backslash\n' >"$d/pkg/doc/back\\slash"
            fi
            if [[ $v == tag ]]; then printf 'b\n' >"$d/pkg/doc/back\\slash and space"; fi
            listed "$v"
            case $v in
                tag) m=$d/pkg.sha256; cu_manifest "$d/pkg" sha256sum --tag >"$m" ;;
                tag-sha512) m=$d/pkg.sha512; cu_manifest "$d/pkg" sha512sum --tag >"$m" ;;
                sha512) m=$d/pkg.sha512; cu_manifest "$d/pkg" sha512sum >"$m" ;;
                sha384-binary) m=$d/pkg.sha384; cu_manifest "$d/pkg" sha384sum -b >"$m" ;;
                openssl-r)
                    m=$d/pkg.sha256
                    cu_list "$d/pkg" | (cd "$d/pkg" && xargs -0 openssl dgst -sha256 -r) >"$m" ;;
                mixed)
                    m=$d/pkg.sums
                    python3 - "$d/pkg" "$m" <<'PY'
import hashlib, os, sys
root, out = sys.argv[1], sys.argv[2]
names = sorted(os.path.relpath(os.path.join(dp, f), root)
               for dp, _, fs in os.walk(root) for f in fs)
lines = []
for i, n in enumerate(names):
    data = open(os.path.join(root, n), "rb").read()
    k = i % 5
    if k == 0:
        lines.append("%s  %s" % (hashlib.sha256(data).hexdigest(), n))
    elif k == 1:
        lines.append("%s *%s" % (hashlib.sha512(data).hexdigest(), n))
    elif k == 2:
        lines.append("SHA384 (%s) = %s" % (n, hashlib.sha384(data).hexdigest()))
    elif k == 3:
        lines.append("SHA512 (%s) = %s" % (n, hashlib.sha512(data).hexdigest()))
    else:
        lines.append("%s *%s" % (hashlib.sha384(data).hexdigest(), n))
open(out, "w").write("\n".join(lines) + "\n")
PY
                    ;;
                tricky-names) cu_manifest "$d/pkg" sha256sum >"$m" ;;
            esac
            # the manifest must be right by coreutils' own reading
            case $v in
                tag|openssl-r|tricky-names) chk=sha256sum ;;
                tag-sha512|sha512) chk=sha512sum ;;
                sha384-binary) chk=sha384sum ;;
                *) chk= ;;
            esac
            if [[ -n $chk ]]; then
                (cd "$d/pkg" && "$chk" --quiet --strict -c "$out/$m") >/dev/null ||
                    die "$chk -c rejects the $v manifest $m"
            fi
            sign "$m"
            row "$v" "$d/pkg" "$m" "${key[*]}" ;;
    esac
done

# sigsweep's own manifests for the packages made by coreutils' sha256sum with default options
create_check variants/tricky-names/pkg variants/tricky-names/pkg.sha256
create_check variants/sha512/pkg variants/sha512/pkg.sha512 sha512

# --- variants.tsv and expected.tsv ------------------------------------------------------------
python3 - <<'PY'
import os

def esc(b):
    return "".join(chr(c) if 0x20 <= c < 0x7F and c != 0x5C else "\\x%02x" % c for c in b)

rows = [l.rstrip("\n").split("\t") for l in open("work/variants.list")]
with open("expected.tsv", "w") as ex, open("variants.tsv", "w") as vt:
    ex.write("# variant\trelpath-or-MANIFEST\tverdict[|alternative...; NONE = no record]"
             "\t[reason substring...]  (paths: bytes outside printable ASCII and \\ as \\xHH)\n")
    vt.write("# variant\tdir\tmanifest\tverify options\texit\n")
    for v, d, m, opts in rows:
        listed = open("work/%s.listed0" % v, "rb").read().split(b"\0")
        table = {p: ["VALID"] for p in listed if p}
        overs = [l.rstrip(b"\n").split(b"\t") for l in open("work/%s.over" % v, "rb")]
        if any(o[0] == b"MANIFEST" for o in overs):
            table = {}
        for o in overs:
            table[o[0]] = [x.decode() for x in o[1:]]
        ok = all(t[0] == "VALID" for t in table.values())
        for p in sorted(table):
            ex.write("\t".join([v, esc(p)] + table[p]) + "\n")
        vt.write("\t".join([v, d, m, opts, "0" if ok else "1"]) + "\n")
PY

sed -i 's/^state=incomplete$/state=complete/' "$stamp_name"
t1=$(date +%s.%N)
note "$(($(grep -c . expected.tsv) - 1)) expected records, $(($(grep -c . variants.tsv) - 1)) variants, $(du -sh pkg | cut -f1) package, $(printf '%.1f' "$(echo "$t1 - $t0" | bc -l)") s"
