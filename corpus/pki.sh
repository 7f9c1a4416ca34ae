#!/usr/bin/env bash
# pki.sh - a small test PKI and CMS-signed files for `sigsweep verify --trust ...` (issue 3).
#
#   corpus/pki.sh OUTDIR
# Needs bash, coreutils and the openssl CLI (3.0+) only. Runs in a few seconds.
#
# Writes (every path below is relative to OUTDIR; the test runs sigsweep with OUTDIR as cwd)
#   ca/NAME/              one `openssl ca` directory per CA (config, key, cert, database)
#   certs/ keys/          every certificate (PEM) and private key
#   files/ + .p7s|.sig    signed files; tampered/ the same files with one byte flipped and the
#                         original signature; bad/ garbage, empty or truncated signatures, none
#   trust/ trust-der/ trust-hashed/ trust-bundle.pem trust-other/ trust-intermediate/
#   trust-broken-root/ trust-notca/ empty/     trust stores (see "Trust stores" below)
#   untrusted/ search/ search-root/ search-mixed/ search-broken/ search-broken-root/
#   crl/intermediate.crl.pem crl/root.crl.pem
#   cases.tsv             case<TAB>args<TAB>input<TAB>verdict<TAB>regex (Python `re.search` on the
#                         reason); one row per (invocation, input): group rows by args and run
#                         `sigsweep verify --format jsonl ARGS INPUTS...` in OUTDIR
#   signers.tsv           input<TAB>SPKI SHA-256 of the signer certificate's key
#   ids.tsv               certificate<TAB>subject (RFC 2253)<TAB>subject key id (lower-case hex)
#   .sgs-pki              stamp: OUTDIR was made here, so it may be wiped and regenerated
#
# The structure (names, subjects, extensions, validity dates, file contents, cases) is fixed;
# keys, key ids and signatures are random (cases.tsv carries the key ids). Every certificate
# is issued with `openssl ca -startdate/-enddate`: CAs and leaves 2020-01-01..2040-01-01, the
# expired leaf 2020-01-01..2021-01-01, the not-yet-valid leaf 2039-01-01..2040-01-01; the CRLs
# run from 2020-01-01 to 2040-01-01.
#
# PKI (O=sigsweep test everywhere)
#   CN=Test Root CA               RSA-3072, self-signed, CA:TRUE critical, keyCertSign+cRLSign
#   +- CN=Test Intermediate CA    RSA-2048, AKI+SKI, AIA caIssuers http://pki.example.test/root.crt
#   |  +- Test RSA Leaf, Test RSA-PSS Leaf (RSASSA-PSS key), Test P-256 Leaf, Test P-384 Leaf:
#   |  |    EKU codeSigning, KU digitalSignature, AKI, AIA .../intermediate.crt
#   |  +- Test ServerAuth Leaf (EKU serverAuth only), Test Expired Leaf, Test Future Leaf,
#   |     Test Revoked Leaf (revoked in crl/intermediate.crl.pem)
#   +- CN=Test Lax Intermediate CA    P-256, basicConstraints NOT critical (fails only --strict)
#   |  +- Test Lax Leaf
#   +- CN=Test NotCA Intermediate     CA:FALSE, used as an issuer anyway
#      +- Test NotCA-Issued Leaf
#   CN=Broken Root CA             self-signed, CA:TRUE but no keyCertSign
#   +- Test Broken-Root Leaf
#   CN=Other Root CA              unrelated self-signed root (the "wrong trust store")
set -euo pipefail
export LC_ALL=C
umask 022

stamp_name=.sgs-pki
die() { printf 'pki.sh: %s\n' "$*" >&2; exit 2; }
# shellcheck source=corpus/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
usage() { sed -n '2,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

case ${1:-} in
    -h|--help) usage; exit 0 ;;
    ''|-*) usage >&2; exit 2 ;;
esac
(($# == 1)) || { usage >&2; exit 2; }
out=$1
while [[ $out == */ && $out != / ]]; do out=${out%/}; done
[[ $out != / ]] || die "refusing to use / as OUTDIR"
command -v openssl >/dev/null || die "openssl not found"

# OUTDIR: create, or wipe one we made before; never touch anything else.
claim_outdir "$out" "$stamp_name" corpus/pki.sh
cd -- "$out"
log=$out/openssl.log
: >"$log"

# Run openssl quietly; on failure show its output and stop.
ossl() {
    if ! openssl "$@" >>"$log" 2>&1; then
        printf 'pki.sh: openssl %s failed:\n' "$*" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
}

START=20200101000000Z
END=20400101000000Z
O="sigsweep test"
mkdir -p ca certs keys files tampered bad trust trust-der trust-hashed trust-other \
    trust-intermediate trust-broken-root trust-notca empty untrusted search search-root \
    search-mixed search-broken search-broken-root crl

# ---------------------------------------------------------------------------------------------
# Extensions (one section per certificate profile).
cat >ext.cnf <<'EOF'
[ v3_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ v3_int ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = caIssuers;URI:http://pki.example.test/root.crt

[ v3_lax_int ]
basicConstraints = CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = caIssuers;URI:http://pki.example.test/root.crt

[ v3_notca_int ]
basicConstraints = critical, CA:FALSE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = caIssuers;URI:http://pki.example.test/root.crt

[ v3_broken_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, cRLSign
subjectKeyIdentifier = hash

[ v3_code ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = caIssuers;URI:http://pki.example.test/intermediate.crt

[ v3_server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = caIssuers;URI:http://pki.example.test/intermediate.crt

[ v3_code_lax ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = caIssuers;URI:http://pki.example.test/lax-intermediate.crt

[ v3_code_notca ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = caIssuers;URI:http://pki.example.test/notca-intermediate.crt

[ v3_code_broken ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = caIssuers;URI:http://pki.example.test/broken-root.crt

[ crl_ext ]
authorityKeyIdentifier = keyid:always
EOF

# genkey NAME rsa2048|rsa3072|rsa-pss|p256|p384  ->  keys/NAME.key
genkey() {
    local opts
    case $2 in
        rsa2048) opts=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048) ;;
        rsa3072) opts=(-algorithm RSA -pkeyopt rsa_keygen_bits:3072) ;;
        rsa-pss) opts=(-algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048) ;;
        p256) opts=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256
                    -pkeyopt ec_param_enc:named_curve) ;;
        p384) opts=(-algorithm EC -pkeyopt ec_paramgen_curve:P-384
                    -pkeyopt ec_param_enc:named_curve) ;;
        *) die "genkey: unknown key type $2" ;;
    esac
    ossl genpkey "${opts[@]}" -out "keys/$1.key"
}

# csr NAME CN -> NAME.csr (in ca/ work area)
csr() { ossl req -new -key "keys/$1.key" -subj "/O=$O/CN=$2" -out "ca/$1.csr"; }

# selfsigned CA_NAME KEYTYPE CN EXT SERIAL: a self-signed CA, certs/CA_NAME.pem
selfsigned() {
    new_ca "$1" "$5"
    genkey "$1" "$2"
    csr "$1" "$3"
    ossl ca -batch -config "ca/$1/ca.cnf" -selfsign -keyfile "keys/$1.key" -in "ca/$1.csr" \
        -out "certs/$1.pem" -notext -preserveDN -md sha256 -extfile ext.cnf -extensions "$4" \
        -startdate "$START" -enddate "$END"
    cp "certs/$1.pem" "ca/$1/ca.pem"
    cp "keys/$1.key" "ca/$1/ca.key"
}

# issue ISSUER NAME KEYTYPE CN EXT [START END]: certs/NAME.pem signed by ca/ISSUER
issue() {
    genkey "$2" "$3"
    csr "$2" "$4"
    ossl ca -batch -config "ca/$1/ca.cnf" -in "ca/$2.csr" -out "certs/$2.pem" -notext \
        -preserveDN -md sha256 -extfile ext.cnf -extensions "$5" \
        -startdate "${6:-$START}" -enddate "${7:-$END}"
}

# subordinate CA: issue, then make its own ca directory
subca() {
    issue "$1" "$2" "$3" "$4" "$5"
    new_ca "$2" "$6"
    cp "certs/$2.pem" "ca/$2/ca.pem"
    cp "keys/$2.key" "ca/$2/ca.key"
}

selfsigned root rsa3072 "Test Root CA" v3_root 1000
subca root intermediate rsa2048 "Test Intermediate CA" v3_int 2000
subca root lax-intermediate p256 "Test Lax Intermediate CA" v3_lax_int 3000
subca root notca-intermediate rsa2048 "Test NotCA Intermediate" v3_notca_int 4000
selfsigned broken-root rsa2048 "Broken Root CA" v3_broken_root 5000
selfsigned other-root p256 "Other Root CA" v3_root 6000

issue intermediate leaf-rsa rsa2048 "Test RSA Leaf" v3_code
issue intermediate leaf-pss rsa-pss "Test RSA-PSS Leaf" v3_code
issue intermediate leaf-p256 p256 "Test P-256 Leaf" v3_code
issue intermediate leaf-p384 p384 "Test P-384 Leaf" v3_code
issue intermediate leaf-server p256 "Test ServerAuth Leaf" v3_server
issue intermediate leaf-expired p256 "Test Expired Leaf" v3_code 20200101000000Z 20210101000000Z
issue intermediate leaf-future p256 "Test Future Leaf" v3_code 20390101000000Z 20400101000000Z
issue intermediate leaf-revoked rsa2048 "Test Revoked Leaf" v3_code
issue lax-intermediate leaf-lax p256 "Test Lax Leaf" v3_code_lax
issue notca-intermediate leaf-notca p256 "Test NotCA-Issued Leaf" v3_code_notca
issue broken-root leaf-broken p256 "Test Broken-Root Leaf" v3_code_broken

# Revocation and CRLs with fixed lastUpdate/nextUpdate.
ossl ca -batch -config ca/intermediate/ca.cnf -revoke certs/leaf-revoked.pem \
    -crl_reason keyCompromise
ossl ca -batch -config ca/intermediate/ca.cnf -gencrl -md sha256 \
    -crl_lastupdate "$START" -crl_nextupdate "$END" -out crl/intermediate.crl.pem
ossl ca -batch -config ca/root/ca.cnf -gencrl -md sha256 \
    -crl_lastupdate "$START" -crl_nextupdate "$END" -out crl/root.crl.pem
rm -f ca/*.csr

# Sanity: the chains are what they claim to be (openssl as the oracle).
ossl verify -no-CAfile -no-CApath -CAfile certs/root.pem -untrusted certs/intermediate.pem \
    -purpose any certs/leaf-rsa.pem certs/leaf-pss.pem certs/leaf-p256.pem certs/leaf-p384.pem
ossl verify -no-CAfile -no-CApath -CAfile certs/root.pem -untrusted certs/intermediate.pem \
    -crl_check -CRLfile crl/intermediate.crl.pem certs/leaf-rsa.pem
if openssl verify -no-CAfile -no-CApath -CAfile certs/root.pem \
        -untrusted certs/intermediate.pem -crl_check -CRLfile crl/intermediate.crl.pem \
        certs/leaf-revoked.pem >>"$log" 2>&1; then
    die "the revoked leaf verifies despite the CRL"
fi

# ---------------------------------------------------------------------------------------------
# Trust stores, search folders, untrusted certificates.
cp certs/root.pem trust/root.pem
openssl x509 -in certs/root.pem -outform DER -out trust-der/root.der
cat certs/root.pem certs/other-root.pem >trust-bundle.pem
cp certs/root.pem trust-hashed/root.pem
openssl rehash trust-hashed >>"$log" 2>&1 || c_rehash trust-hashed >>"$log" 2>&1 ||
    die "neither openssl rehash nor c_rehash worked"
hashed=(trust-hashed/[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f].0)
[[ -e ${hashed[0]} ]] || die "rehash made no hash link in trust-hashed"
cp certs/other-root.pem trust-other/other-root.pem
cp certs/intermediate.pem trust-intermediate/intermediate.pem
cp certs/broken-root.pem trust-broken-root/broken-root.pem
cp certs/notca-intermediate.pem trust-notca/notca-intermediate.pem
cp certs/intermediate.pem untrusted/intermediate.pem
cp certs/intermediate.pem search/intermediate.pem
cp certs/root.pem search-root/root.pem
cp certs/intermediate.pem search-mixed/intermediate.pem
cp certs/other-root.pem search-mixed/other-root.pem
cp certs/broken-root.pem search-mixed/broken-root.pem
openssl x509 -in certs/lax-intermediate.pem -outform DER -out search-mixed/lax-intermediate.der
cp certs/notca-intermediate.pem search-broken/notca-intermediate.pem
cp certs/broken-root.pem search-broken-root/broken-root.pem

# ---------------------------------------------------------------------------------------------
# Data and signatures.

# mkdata PATH SIZE: deterministic bytes (AES-128-CTR keystream keyed by the path).
mkdata() {
    local k
    k=$(printf '%s' "$1" | openssl dgst -md5 -r | cut -c1-32)
    head -c "$2" /dev/zero |
        openssl enc -aes-128-ctr -nosalt -K "$k" -iv 00000000000000000000000000000000 >"$1"
}

spki() {
    openssl x509 -in "certs/$1.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
        sha256sum | cut -c1-64
}

: >signers.tsv
# cms NAME SIZE LEAF SIGSUFFIX [openssl cms options...]: files/NAME.bin signed by LEAF
cms() {
    local name=$1 size=$2 leaf=$3 suffix=$4
    shift 4
    mkdata "files/$name.bin" "$size"
    ossl cms -sign -binary -in "files/$name.bin" -signer "certs/$leaf.pem" \
        -inkey "keys/$leaf.key" -out "files/$name.bin$suffix" "$@"
    printf 'files/%s.bin\t%s\n' "$name" "$(spki "$leaf")" >>signers.tsv
}
# smime NAME SIZE LEAF [options...]: same with `openssl smime -sign` (PKCS#7), -> .p7s
smime() {
    local name=$1 size=$2 leaf=$3
    shift 3
    mkdata "files/$name.bin" "$size"
    ossl smime -sign -binary -in "files/$name.bin" -signer "certs/$leaf.pem" \
        -inkey "keys/$leaf.key" -out "files/$name.bin.p7s" "$@"
    printf 'files/%s.bin\t%s\n' "$name" "$(spki "$leaf")" >>signers.tsv
}

INT=(-certfile certs/intermediate.pem)
cms rsa-sha256 1024 leaf-rsa .p7s -outform DER -md sha256 "${INT[@]}"
cms rsa-sha384-noattr 4096 leaf-rsa .p7s -outform DER -md sha384 -noattr "${INT[@]}"
cms rsa-sha512-pem 10000 leaf-rsa .p7s -outform PEM -md sha512 "${INT[@]}"
cms rsa-pss-padding 3000 leaf-rsa .p7s -outform DER -md sha256 \
    -keyopt rsa_padding_mode:pss "${INT[@]}"
smime smime-der 65536 leaf-rsa -outform DER -md sha256 "${INT[@]}"
smime smime-pem 2048 leaf-p256 -outform PEM -md sha384 "${INT[@]}"
# With an RSASSA-PSS-restricted key, OpenSSL 3.0's `cms -sign` writes rsaEncryption as the
# signature algorithm unless the padding is spelled out, and then cannot verify its own output
# (rsa_cms_verify: illegal or unsupported padding mode); so spell it out.
PSS=(-keyopt rsa_padding_mode:pss)
cms pss-key 20000 leaf-pss .p7s -outform DER -md sha256 "${PSS[@]}" "${INT[@]}"
cms pss-key-noattr 5000 leaf-pss .p7s -outform DER -md sha384 -noattr "${PSS[@]}" "${INT[@]}"
cms p256 204800 leaf-p256 .p7s -outform DER -md sha256 "${INT[@]}"
cms p256-noattr 1500 leaf-p256 .p7s -outform DER -md sha512 -noattr "${INT[@]}"
cms p384 50000 leaf-p384 .p7s -outform DER -md sha384 "${INT[@]}"
cms p384-pem 777 leaf-p384 .p7s -outform PEM -md sha512 "${INT[@]}"
cms cms-as-sig 7000 leaf-p256 .sig -outform DER -md sha256 "${INT[@]}"
cms cms-as-sig-pem 7001 leaf-rsa .sig -outform PEM -md sha256 "${INT[@]}"
cms p7s-precedence 3333 leaf-rsa .p7s -outform DER -md sha256 "${INT[@]}"
mkdata files/p7s-precedence.bin.sig 256       # garbage .sig: the .p7s is the signature
cms noint-rsa 8192 leaf-rsa .p7s -outform DER -md sha256
cms noint-p256 9000 leaf-p256 .p7s -outform DER -md sha256 -noattr
cms server 2500 leaf-server .p7s -outform DER -md sha256 "${INT[@]}"
cms expired 2600 leaf-expired .p7s -outform DER -md sha256 "${INT[@]}"
cms future 2700 leaf-future .p7s -outform DER -md sha256 "${INT[@]}"
cms revoked 2800 leaf-revoked .p7s -outform DER -md sha256 "${INT[@]}"
cms lax 2900 leaf-lax .p7s -outform DER -md sha256 -certfile certs/lax-intermediate.pem
cms notca 3100 leaf-notca .p7s -outform DER -md sha256
cms notca-embedded 3200 leaf-notca .p7s -outform DER -md sha256 \
    -certfile certs/notca-intermediate.pem
cms broken-root 3300 leaf-broken .p7s -outform DER -md sha256

# Oracle: openssl itself accepts every signature it made (chain checks are sigsweep's job).
for f in files/*.bin; do
    sig=$f.p7s
    [[ -f $sig ]] || sig=$f.sig
    form=DER
    head -c 11 "$sig" | grep -q -- '-----BEGIN' && form=PEM
    ossl cms -verify -binary -noverify -inform "$form" -in "$sig" -content "$f" -out /dev/null
done

# tampered/: each signed file with one byte flipped (size kept) and its original signature.
flip() {
    local f=$1 off b
    off=$(($(stat -c %s "$f") / 2))
    b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' \n')
    # shellcheck disable=SC2059
    printf "\\$(printf '%03o' $((b ^ 0x5a)))" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}
for f in files/*.bin; do
    t=tampered/${f#files/}
    cp "$f" "$t"
    for s in .p7s .sig; do [[ ! -f $f$s ]] || cp "$f$s" "$t$s"; done
    flip "$t"
    ! cmp -s "$f" "$t" || die "flip did not change $t"
done

# bad/: signatures that are no CMS at all.
mkdata bad/garbage.bin 1000
mkdata bad/garbage.bin.p7s 600
mkdata bad/garbage-pem.bin 1000
{
    printf -- '-----BEGIN CMS-----\n'
    mkdata bad/.noise 300
    base64 -w 64 bad/.noise
    printf -- '-----END CMS-----\n'
} >bad/garbage-pem.bin.p7s
rm -f bad/.noise
mkdata bad/empty.bin 1000
: >bad/empty.bin.p7s
cp files/rsa-sha256.bin bad/truncated.bin
head -c $(($(stat -c %s files/rsa-sha256.bin.p7s) / 2)) files/rsa-sha256.bin.p7s \
    >bad/truncated.bin.p7s
mkdata bad/nosig.bin 1000

# ---------------------------------------------------------------------------------------------
# Names and key ids the reasons must carry.
ski() {
    openssl x509 -in "certs/$1.pem" -noout -ext subjectKeyIdentifier | sed -n 2p |
        tr -d ' :\n' | tr 'A-F' 'a-f'
}
: >ids.tsv
for c in certs/*.pem; do
    n=$(basename "$c" .pem)
    printf '%s\t%s\t%s\n' "$n" \
        "$(openssl x509 -in "$c" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')" \
        "$(ski "$n")" >>ids.tsv
done

# re TEXT: TEXT as a literal in a Python regular expression.
re() { printf '%s' "$1" | sed 's/[][\\.*^$+?(){}|]/\\&/g'; }
dn() { re "CN=$1,O=$O"; }

ROOT=$(dn "Test Root CA")
INTDN=$(dn "Test Intermediate CA")
NOTCA=$(dn "Test NotCA Intermediate")
BROKEN=$(dn "Broken Root CA")
LAXINT=$(dn "Test Lax Intermediate CA")
URL=http://pki\\.example\\.test
# missing ISSUER_DN ISSUER_CERT URL_FILE: the UNTRUSTED reason for a missing issuer
missing() {
    printf '(?=.*no certificate for issuer "%s")(?=.*authority key id %s)(?=.*caIssuers %s/%s)' \
        "$1" "$(ski "$2")" "$URL" "$(re "$3")"
}
MISSING_ROOT=$(missing "$ROOT" root root.crt)
MISSING_INT=$(missing "$INTDN" intermediate intermediate.crt)
MISSING_NOTCA=$(missing "$NOTCA" notca-intermediate notca-intermediate.crt)
MISSING_BROKEN=$(missing "$BROKEN" broken-root broken-root.crt)
# importing DN DIR FILE: the --search hint
importing() {
    printf '(?=.*would be VALID after importing "%s" from "?\\S*%s/+%s)' \
        "$1" "$(re "$2")" "$(re "$3")"
}
# no_close DN DIR FILE WHY: a defective --search candidate
no_close() {
    printf '(?=.*"%s" from "?\\S*%s/+%s"? does not close the chain: .*(%s))' \
        "$1" "$(re "$2")" "$(re "$3")" "$4"
}
NOT_A_CA='not a CA|invalid CA|CA:FALSE|basic ?constraints'
NO_CERTSIGN='keyCertSign|certificate signing'

# ---------------------------------------------------------------------------------------------
# cases.tsv
declare -A leaf_of=(
    [rsa-sha256]="Test RSA Leaf" [rsa-sha384-noattr]="Test RSA Leaf"
    [rsa-sha512-pem]="Test RSA Leaf" [rsa-pss-padding]="Test RSA Leaf"
    [smime-der]="Test RSA Leaf" [smime-pem]="Test P-256 Leaf"
    [pss-key]="Test RSA-PSS Leaf" [pss-key-noattr]="Test RSA-PSS Leaf"
    [p256]="Test P-256 Leaf" [p256-noattr]="Test P-256 Leaf" [p384]="Test P-384 Leaf"
    [p384-pem]="Test P-384 Leaf" [cms-as-sig]="Test P-256 Leaf"
    [cms-as-sig-pem]="Test RSA Leaf" [p7s-precedence]="Test RSA Leaf"
    [noint-rsa]="Test RSA Leaf" [noint-p256]="Test P-256 Leaf"
    [server]="Test ServerAuth Leaf" [expired]="Test Expired Leaf" [future]="Test Future Leaf"
    [revoked]="Test Revoked Leaf" [lax]="Test Lax Leaf"
)
# Signed with the intermediate inside, by a code-signing leaf valid 2020-2040.
GOOD=(rsa-sha256 rsa-sha384-noattr rsa-sha512-pem rsa-pss-padding smime-der smime-pem pss-key
      pss-key-noattr p256 p256-noattr p384 p384-pem cms-as-sig cms-as-sig-pem p7s-precedence)

printf '# case\targs\tinput\tverdict\treason regex (re.search)\n' >cases.tsv
grp=''
gargs=''
group() { grp=$1; gargs=$2; }
declare -A seen=()
# row CASE INPUT VERDICT REGEX under the current group; a repeated (args, input) is dropped
# when it expects the same verdict.
row() {
    local k="$gargs|$2"
    if [[ -n ${seen[$k]:-} ]]; then
        [[ ${seen[$k]} == "$3" ]] || die "cases: $gargs $2: ${seen[$k]} and $3"
        return 0
    fi
    seen[$k]=$3
    printf '%s\t%s\t%s\t%s\t%s\n' "$grp:$1" "$gargs" "$2" "$3" "$4" >>cases.tsv
}

# wrong_trust ARGS: ARGS with every --trust X dropped and, unless --trust-system stays,
# --trust trust-other put first.
wrong_trust() {
    local -a words r=()
    local i sys=0
    read -r -a words <<<"$1"
    for ((i = 0; i < ${#words[@]}; i++)); do
        if [[ ${words[i]} == --trust ]]; then ((++i)); continue; fi
        [[ ${words[i]} != --trust-system ]] || sys=1
        r+=("${words[i]}")
    done
    ((sys)) || r=(--trust trust-other "${r[@]}")
    printf '%s' "${r[*]}"
}
# accept NAME [WRONG_REGEX]: files/NAME.bin is VALID under the current args; its twins are
# tampered/NAME.bin (BAD_SIGNATURE, same args) and files/NAME.bin under the wrong trust store
# (UNTRUSTED, missing root unless WRONG_REGEX says otherwise).
accept() {
    local n=$1 why=${2:-$MISSING_ROOT} g=$grp a=$gargs w
    row "$n" "files/$n.bin" VALID "signed by \"$(dn "${leaf_of[$n]}")\""
    row "$n.tampered" "tampered/$n.bin" BAD_SIGNATURE ""
    w=$(wrong_trust "$gargs")
    group "$g.wrong-trust" "$w"
    row "$n" "files/$n.bin" UNTRUSTED "$why"
    group "$g" "$a"
}
expired_re() { printf '(?=.*"%s")(?=.*expired)(?=.*%s)' "$1" "$2"; }
future_re() { printf '(?=.*"%s")(?=.*not valid before)(?=.*%s)' "$1" "$2"; }

group base "--trust trust"
for n in "${GOOD[@]}" server revoked lax; do accept "$n"; done
row expired files/expired.bin EXPIRED "$(expired_re "$(dn "Test Expired Leaf")" 2021-01-01)"
row future files/future.bin NOT_YET_VALID "$(future_re "$(dn "Test Future Leaf")" 2039-01-01)"
row noint-rsa files/noint-rsa.bin UNTRUSTED "$MISSING_INT"
row noint-p256 files/noint-p256.bin UNTRUSTED "$MISSING_INT"
row notca files/notca.bin UNTRUSTED "$MISSING_NOTCA"
row notca-embedded files/notca-embedded.bin UNTRUSTED "(?=.*\"$NOTCA\")(?=.*($NOT_A_CA))"
row broken-root files/broken-root.bin UNTRUSTED "$MISSING_BROKEN"
row garbage bad/garbage.bin MALFORMED ""
row garbage-pem bad/garbage-pem.bin MALFORMED ""
row empty bad/empty.bin MALFORMED ""
row truncated bad/truncated.bin MALFORMED ""
row nosig bad/nosig.bin NO_SIGNATURE ""

group bundle "--trust trust-bundle.pem"
accept rsa-sha256; accept p256-noattr
group der-dir "--trust trust-der"
accept rsa-sha256; accept p384
group der-file "--trust trust-der/root.der"
accept rsa-sha384-noattr; accept pss-key
group hashed "--trust trust-hashed"
accept rsa-sha256; accept pss-key-noattr; accept smime-pem
group pem-file "--trust trust/root.pem"
accept p256; accept cms-as-sig
group two-stores "--trust trust-other --trust trust"
accept rsa-sha256; accept cms-as-sig-pem

group untrusted-dir "--trust trust --untrusted untrusted"
accept noint-rsa; accept noint-p256; accept rsa-sha256
group untrusted-file "--trust trust --untrusted untrusted/intermediate.pem"
accept noint-rsa

group search "--trust trust --search search"
accept rsa-sha256
row noint-rsa files/noint-rsa.bin UNTRUSTED \
    "$MISSING_INT$(importing "$INTDN" search intermediate.pem)"
row noint-p256 files/noint-p256.bin UNTRUSTED \
    "$MISSING_INT$(importing "$INTDN" search intermediate.pem)"
row notca files/notca.bin UNTRUSTED "$MISSING_NOTCA"
group search-mixed "--trust trust --search search-mixed"
row noint-rsa files/noint-rsa.bin UNTRUSTED \
    "$MISSING_INT$(importing "$INTDN" search-mixed intermediate.pem)"
group search-root "--trust trust-other --search search-root"
for n in rsa-sha256 p384; do
    row "$n" "files/$n.bin" UNTRUSTED "$MISSING_ROOT$(importing "$ROOT" search-root root.pem)"
done
group search-root-untrusted "--trust trust-other --untrusted untrusted --search search-root"
row noint-rsa files/noint-rsa.bin UNTRUSTED \
    "$MISSING_ROOT$(importing "$ROOT" search-root root.pem)"
group search-two "--trust trust --search search-broken --search search"
row noint-rsa files/noint-rsa.bin UNTRUSTED \
    "$MISSING_INT$(importing "$INTDN" search intermediate.pem)"
row notca files/notca.bin UNTRUSTED \
    "$MISSING_NOTCA$(no_close "$NOTCA" search-broken notca-intermediate.pem "$NOT_A_CA")"
group search-broken "--trust trust --search search-broken"
row notca files/notca.bin UNTRUSTED \
    "$MISSING_NOTCA$(no_close "$NOTCA" search-broken notca-intermediate.pem "$NOT_A_CA")"
group search-broken-root "--trust trust --search search-broken-root"
row broken-root files/broken-root.bin UNTRUSTED \
    "$MISSING_BROKEN$(no_close "$BROKEN" search-broken-root broken-root.pem "$NO_CERTSIGN")"

group trust-broken-root "--trust trust-broken-root"
row broken-root files/broken-root.bin UNTRUSTED "trust store holds \"$BROKEN\".*($NO_CERTSIGN)"
group trust-notca "--trust trust-notca"
row notca files/notca.bin UNTRUSTED "trust store holds \"$NOTCA\".*(not a CA|not self-signed)"
group trust-intermediate "--trust trust-intermediate"
row rsa-sha256 files/rsa-sha256.bin UNTRUSTED \
    "no certificate for issuer \"$ROOT\"|trust store holds \"$INTDN\".*not self-signed"
group empty-store "--trust empty"
row rsa-sha256 files/rsa-sha256.bin UNTRUSTED "no certificate for issuer \"$ROOT\""
group system "--trust-system"
row rsa-sha256 files/rsa-sha256.bin UNTRUSTED "no certificate for issuer \"$ROOT\""
group system-and-trust "--trust-system --trust trust"
accept rsa-sha256; accept p384-pem

group codesign "--trust trust --purpose codesign"
for n in rsa-sha256 pss-key p256 p384 smime-der; do accept "$n"; done
row server files/server.bin UNTRUSTED "codeSigning"
group codesign-untrusted "--trust trust --untrusted untrusted --purpose codesign"
accept noint-p256

group crl "--trust trust --crl crl/intermediate.crl.pem"
for n in rsa-sha256 p384 pss-key server; do accept "$n"; done
row revoked files/revoked.bin REVOKED "(?=.*(?i:revoked))(?=.*\"$(dn "Test Revoked Leaf")\")"
group crl-two "--trust trust --crl crl/root.crl.pem --crl crl/intermediate.crl.pem"
accept p256
row revoked files/revoked.bin REVOKED "(?=.*(?i:revoked))(?=.*\"$(dn "Test Revoked Leaf")\")"

group strict "--trust trust --strict"
for n in rsa-sha256 rsa-pss-padding pss-key p256 p384-pem; do accept "$n"; done
row lax files/lax.bin UNTRUSTED "(?=.*\"$LAXINT\")(?=.*(?i:critical))"
group strict-untrusted "--trust trust --untrusted untrusted --strict"
accept noint-rsa

AT2020=@1592179200          # 2020-06-15T00:00:00Z
group at-2020 "--trust trust --at $AT2020"
for n in "${GOOD[@]}" expired revoked lax server; do accept "$n"; done
row future files/future.bin NOT_YET_VALID "$(future_re "$(dn "Test Future Leaf")" 2039-01-01)"
group at-2020-iso "--trust trust --at 2020-06-15T00:00:00Z"
accept expired
group at-2020-untrusted "--trust trust --untrusted untrusted --at $AT2020"
accept noint-rsa
group at-2039-boundary "--trust trust --at 2039-01-01T00:00:00Z"
accept future
group at-2038-boundary "--trust trust --at 2038-12-31T23:59:59Z"
row future files/future.bin NOT_YET_VALID "$(future_re "$(dn "Test Future Leaf")" 2039-01-01)"
group at-2045 "--trust trust --at 2045-06-01T00:00:00Z"
for n in "${GOOD[@]}" expired future revoked server lax; do
    row "$n" "files/$n.bin" EXPIRED \
        '(?=.*"CN=[^"]+,O=sigsweep test")(?=.*expired)(?=.*(2040|2021)-01-01)'
done
group at-2045-epoch "--trust trust --at @2379801600"   # 2045-06-01T00:00:00Z
row rsa-sha256 files/rsa-sha256.bin EXPIRED \
    '(?=.*"CN=[^"]+,O=sigsweep test")(?=.*expired)(?=.*2040-01-01)'

printf 'made by corpus/pki.sh; may be deleted and regenerated\nstate=complete\n' \
    >"$out/$stamp_name"
printf 'pki.sh: %s: %d cases\n' "$out" "$(grep -vc '^#' cases.tsv)" >&2
