#!/usr/bin/env bash
# generate.sh - deterministic, realistic corpus of signed "program files" for `sigsweep verify`.
#
#   corpus/generate.sh OUTDIR [--seed N] [--files N] [--large N] [-j N]
#                      [--sigsweep PATH] [--datagen PATH]
# Defaults: seed 1, 2000 program files, 3 large (32-64 MiB) files, -j 2; sigsweep from
# $SIGSWEEP, build/cli/sigsweep or PATH; sgs_datagen from $SGS_DATAGEN, build/corpus (when newer
# than datagen.c) or compiled with ${CC:-cc}. Needs bash, coreutils, openssl.
#
# Writes
#   OUTDIR/tree/          program folders (vendor/product/bin, lib, drivers, ...), every good file F
#                         with F.sig, plus bad/ (known-bad and edge cases) and misc/ (odd names)
#   OUTDIR/keys/          public keys of the trusted signers only (PEM SPKI, DER SPKI, X.509 cert):
#                         `sigsweep verify --key OUTDIR/keys OUTDIR/tree`
#   OUTDIR/expected.tsv   path<TAB>verdict for every input verify reports (see its header)
#   OUTDIR/manifest.tsv   the sgs_datagen plan: relpath size signer tool case verdict escaped-path
#   OUTDIR/signers.tsv    signer<TAB>SPKI SHA-256 fingerprint<TAB>trusted(0/1)<TAB>private key
#   OUTDIR/.sgs-corpus    stamp: OUTDIR was made here, so it may be wiped and regenerated; its
#                         tree= line is the argument the expected paths are relative to
#
# Contents depend only on --seed/--files/--large (ECDSA signatures are randomised by nature;
# RSA PKCS#1 v1.5 and Ed25519 ones are deterministic). All signatures are SHA-256, RSA PKCS#1
# v1.5 (no PSS). About 12% of the good files of every key type are signed by the openssl CLI,
# the rest by `sigsweep sign` (one run per key with --files-from).
set -euo pipefail
export LC_ALL=C
umask 022

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$here")
keysrc=$here/keys
stamp_name=.sgs-corpus

seed=1
files=2000
large=3
jobs=2
sigsweep=${SIGSWEEP:-}
datagen=${SGS_DATAGEN:-}
out=

die() { printf 'generate.sh: %s\n' "$*" >&2; exit 2; }
# shellcheck source=corpus/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
note() { printf 'generate.sh: %s\n' "$*" >&2; }
usage() {
    sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}
number() { [[ $2 =~ ^[0-9]+$ ]] || die "$1: not a number: '$2'"; printf '%s' "$2"; }

while (($#)); do
    case $1 in
        --seed) (($# >= 2)) || die "$1 needs a value"; seed=$(number "$1" "$2"); shift 2 ;;
        --files) (($# >= 2)) || die "$1 needs a value"; files=$(number "$1" "$2"); shift 2 ;;
        --large) (($# >= 2)) || die "$1 needs a value"; large=$(number "$1" "$2"); shift 2 ;;
        -j|--jobs) (($# >= 2)) || die "$1 needs a value"; jobs=$(number "$1" "$2"); shift 2 ;;
        --sigsweep) (($# >= 2)) || die "$1 needs a value"; sigsweep=$2; shift 2 ;;
        --datagen) (($# >= 2)) || die "$1 needs a value"; datagen=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        -*) die "unknown option '$1' (try --help)" ;;
        *) [[ -z $out ]] || die "only one OUTDIR, got '$out' and '$1'"; out=$1; shift ;;
    esac
done
[[ -n $out ]] || { usage >&2; exit 2; }
((jobs >= 1)) || die "-j must be at least 1"

# Paths in expected.tsv are OUTDIR/tree/... exactly as given, minus trailing slashes.
while [[ $out == */ && $out != / ]]; do out=${out%/}; done
[[ $out != / ]] || die "refusing to use / as OUTDIR"
[[ $out != -* ]] || out=./$out

# Tools.
command -v openssl >/dev/null || die "openssl not found"
if [[ -z $sigsweep ]]; then
    if [[ -x $root/build/cli/sigsweep ]]; then sigsweep=$root/build/cli/sigsweep
    elif command -v sigsweep >/dev/null; then sigsweep=$(command -v sigsweep)
    else die "sigsweep binary not found: pass --sigsweep PATH"; fi
fi
[[ -x $sigsweep ]] || die "not executable: $sigsweep"

# OUTDIR: create, or wipe one we made before; never touch anything else.
claim_outdir "$out" "$stamp_name" corpus/generate.sh

tree=$out/tree
work=$out/work
mkdir -p -- "$tree" "$work" "$out/keys"
t0=$(date +%s.%N)

if [[ -z $datagen ]]; then
    if [[ -x $root/build/corpus/sgs_datagen && $root/build/corpus/sgs_datagen -nt $here/datagen.c ]]
    then
        datagen=$root/build/corpus/sgs_datagen
    else
        note "building sgs_datagen with ${CC:-cc}"
        "${CC:-cc}" -std=c11 -O2 -o "$work/sgs_datagen" "$here/datagen.c"
        datagen=$work/sgs_datagen
    fi
fi
[[ -x $datagen ]] || die "not executable: $datagen"

plan=(--seed "$seed" --files "$files" --large "$large")

# 1. Directories, then the file contents and the manifest.
"$datagen" "${plan[@]}" --dirs "$tree" | xargs -r -d '\n' mkdir -p --
"$datagen" "${plan[@]}" --write "$tree" >"$out/manifest.tsv"

# 2. Sort the files to sign by key and tool.
while IFS=$'\t' read -r rel _size signer tool _case _verdict _esc; do
    case $tool in
        sigsweep) printf '%s\n' "$tree/$rel" >>"$work/sigsweep-$signer.list" ;;
        openssl) printf '%s\0' "$tree/$rel" >>"$work/openssl-$signer.list0" ;;
    esac
done <"$out/manifest.tsv"

# 3. Sign: one `sigsweep sign` per key, then the openssl CLI file by file (jobs in parallel).
for list in "$work"/sigsweep-*.list; do
    [[ -e $list ]] || continue
    signer=${list##*/sigsweep-}
    signer=${signer%.list}
    if ! "$sigsweep" sign --key "$keysrc/$signer.pem" -j "$jobs" --files-from "$list" \
        >"$work/sign-$signer.log"; then
        grep -v ': VALID' "$work/sign-$signer.log" | head -n 20 >&2
        die "sigsweep sign --key $signer.pem --files-from $list failed"
    fi
done
for list in "$work"/openssl-*.list0; do
    [[ -e $list ]] || continue
    signer=${list##*/openssl-}
    signer=${signer%.list0}
    if [[ $signer == ed25519 ]]; then
        # shellcheck disable=SC2016
        cmd='for f; do
            openssl pkeyutl -sign -rawin -inkey "$SGS_KEY" -in "$f" -out "$f.sig" || exit 255
        done'
    else
        # shellcheck disable=SC2016
        cmd='for f; do
            openssl dgst -sha256 -sign "$SGS_KEY" -out "$f.sig" "$f" || exit 255
        done'
    fi
    SGS_KEY=$keysrc/$signer.pem xargs -0 -r -n 32 -P "$jobs" bash -c "$cmd" _ <"$list" ||
        die "openssl signing with $signer.pem failed"
done

# 4. Turn signed files into the known-bad and edge cases.
unreadable_verdict=
while IFS=$'\t' read -r rel size _signer _tool kase _verdict _esc; do
    f=$tree/$rel
    case $kase in
        good|as-is) ;;
        flip-start|flip-mid|flip-end) "$datagen" --flip "$f" "${kase#flip-}" ;;
        truncate) truncate -s $((size / 2)) -- "$f" ;;
        append) printf 'X' >>"$f" ;;
        copysig=*) cp -- "$tree/${kase#copysig=}.sig" "$f.sig" ;;
        sig-text) printf 'not a signature\n' >"$f.sig" ;;
        sig-random256) "$datagen" --seed "$seed" --bytes 256 >"$f.sig" ;;
        sig-empty) : >"$f.sig" ;;
        sig-dir) rm -f -- "$f.sig"; mkdir -- "$f.sig" ;;
        sig-flip) "$datagen" --flip "$f.sig" mid ;;
        fifo) mkfifo -- "$f" ;;
        symlink=*)
            target=${kase#symlink=}
            ln -s -- "$target" "$f"
            # A real signature beside the link: following the link would wrongly give VALID.
            dir=$(dirname -- "$f")
            # The copy is a file no regular F consumes: judged as one (NO_SIGNATURE).
            if [[ -f $dir/$target.sig ]]; then
                cp -- "$dir/$target.sig" "$f.sig"
                printf '%s.sig\tNO_SIGNATURE\n' "$f" >>"$work/extra-expected.tsv"
            fi
            ;;
        unreadable)
            chmod 000 -- "$f"
            # root (CAP_DAC_OVERRIDE) still reads a mode-000 file: then it verifies as VALID,
            # otherwise IO_ERROR. Ask the kernel with a real read instead of guessing from uid.
            if head -c1 -- "$f" >/dev/null 2>&1; then
                unreadable_verdict=VALID
            else
                unreadable_verdict=IO_ERROR
            fi
            ;;
        *) die "manifest: unknown case '$kase' for $rel" ;;
    esac
done <"$out/manifest.tsv"

# 5. Public keys of the trusted signers, in three encodings; fingerprints of all signers.
openssl pkey -in "$keysrc/rsa2048.pem" -pubout -out "$out/keys/rsa2048.pub.pem"
openssl pkey -in "$keysrc/rsa3072.pem" -pubout -outform DER -out "$out/keys/rsa3072.pub.der"
cp -- "$keysrc/p256.crt" "$out/keys/p256.crt"
openssl pkey -in "$keysrc/ed25519.pem" -pubout -out "$out/keys/ed25519.pub.pem"
{
    printf '# signer\tspki_sha256\ttrusted\tprivate_key\n'
    for k in rsa2048 rsa3072 p256 ed25519 other-rsa2048 other-p256; do
        fp=$(openssl pkey -in "$keysrc/$k.pem" -pubout -outform DER | sha256sum)
        trusted=1
        [[ $k != other-* ]] || trusted=0
        printf '%s\t%s\t%s\t%s\n' "$k" "${fp%% *}" "$trusted" "$keysrc/$k.pem"
    done
} >"$out/signers.tsv"

# 6. Expected verdicts.
{
    printf '# sigsweep corpus: seed=%s files=%s large=%s; columns: path<TAB>verdict\n' \
        "$seed" "$files" "$large"
    # shellcheck disable=SC2016
    printf '# path: as `sigsweep verify %s` prints it; every byte that is not printable ASCII\n' \
        "$tree"
    printf '# (0x20-0x7e), and every backslash, is written as \\xHH (lower-case hex)\n'
    { awk -F'\t' -v u="$unreadable_verdict" \
        '{ v = $6; if (v == "?") v = u; if (v == "") exit 1; print $7 "\t" v }' \
        "$out/manifest.tsv"; cat -- "$work/extra-expected.tsv" 2>/dev/null || true; } | sort
} >"$out/expected.tsv"

rm -rf -- "$work"
t1=$(date +%s.%N)
n=$(grep -vc '^#' "$out/expected.tsv")
bytes=$(awk -F'\t' '{ s += $2 } END { printf "%.0f", s }' "$out/manifest.tsv")
{
    printf 'made by corpus/generate.sh; may be deleted and regenerated\nstate=complete\n'
    printf 'seed=%s\nfiles=%s\nlarge=%s\ntree=%s\n' "$seed" "$files" "$large" "$tree"
} >"$out/$stamp_name"
note "$(printf '%s: %s inputs, %s MiB, %.1f s (seed %s)' "$out" "$n" $((bytes >> 20)) \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$seed")"
