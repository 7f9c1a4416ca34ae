#!/usr/bin/env bash
# pe.sh - Authenticode-signed Windows PE files for `sigsweep verify` (MZ/PE inputs).
#
#   corpus/pe.sh OUTDIR
# Needs bash, coreutils, python3, the openssl CLI (3.0+), osslsigncode (2.5+; 2.7+ for the two
# RFC 3161 cases) and mingw-w64 (x86_64; i686 optional, for the PE32 case); sbsigntool
# (sbsign) is optional, for the UEFI cases. A few seconds. No network: the legacy timestamps
# come from pe/legacy_tsa.py, a loopback HTTP server started here and killed on exit.
#
# Writes (paths relative to OUTDIR; the test runs sigsweep with OUTDIR as cwd)
#   root.pem intermediate.pem     the trust anchor and its intermediate (for --untrusted)
#   tsa-root.pem                  the separate root of the time-stamping authority (--tsa-trust)
#   unrelated-root.pem            an unrelated root (the rogue signer's)
#   chain-*.pem                   the -certs files given to osslsigncode (leaf first)
#   ca/ certs/ keys/              `openssl ca` directories, every certificate and key
#   build/                        hello.exe (PE32+), hello32.exe (PE32), lib.dll (PE32+ DLL) as
#                                 linked, and intermediate signed copies
#   files/                        the cases (below)
#   cases.tsv                     case<TAB>args<TAB>input<TAB>verdict<TAB>regex, like pki.sh's:
#                                 one row per (invocation, input); group rows by args and run
#                                 `sigsweep verify --format jsonl ARGS INPUTS...` in OUTDIR
#   signers.tsv                   input<TAB>SPKI SHA-256 of the primary signer's certificate key
#   oracle.tsv                    input<TAB>osslsigncode_rc<TAB>osslsigncode_summary from
#                                 `osslsigncode verify -CAfile root.pem [-TSA-CAfile tsa-root.pem]
#                                 [-ignore-crl] -in FILE`; header comments give the version, the
#                                 command, the equivalent sigsweep arguments and skipped cases
#   legacy-tsa.log                the legacy timestamp server's log
#   .sgs-pe                       stamp: OUTDIR was made here, so it may be wiped and regenerated
#
# Every run wipes OUTDIR (if it carries the stamp) and makes everything again: keys and
# signatures are random, the rest is fixed. Certificates are issued with `openssl ca
# -startdate/-enddate` (2015-01-01..2045-01-01; the expired leaf 2020-01-01..2021-01-01);
# signatures carry a pinned signingTime (-time) and, for the RFC 3161 cases, a pinned
# timestamp (-TSA-time) from osslsigncode's built-in offline TSA; the legacy timestamps'
# signingTime is pinned by the URL given to `osslsigncode sign -t` (pe/legacy_tsa.py builds the
# countersignature itself, so no faketime is needed). sbsign's signatures carry the current
# time as signingTime (ignored: the leaf is valid 2015..2045). The programs are linked with
# -O2 -s -Wl,--no-insert-timestamp, so the unsigned images are byte-for-byte reproducible for
# a given mingw-w64 version.
#
# PKI (RSA-2048, O=sigsweep test)
#   CN=Sigsweep PE Test Root                     self-signed          -> root.pem
#   +- CN=Sigsweep PE Test Intermediate          pathlen 0            -> intermediate.pem
#      +- Sigsweep PE Code Signing Leaf          KU digitalSignature, EKU codeSigning
#      +- Sigsweep PE Second Code Signing Leaf   same profile
#      +- Sigsweep PE Expired Leaf               same profile, 2020-01-01..2021-01-01
#      +- Sigsweep PE TLS Leaf                   EKU serverAuth only
#   CN=Sigsweep PE Test TSA Root                 self-signed          -> tsa-root.pem
#   +- Sigsweep PE Test TSA                      EKU critical timeStamping
#   CN=Sigsweep PE Unrelated Root                self-signed          -> unrelated-root.pem
#   +- Sigsweep PE Rogue Leaf                    code signing, directly under it
# The TSA has its own root so that a timestamp is trusted only with --tsa-trust tsa-root.pem
# (--trust root.pem alone cannot validate it).
#
# Cases (files/; every signature ships leaf + intermediate unless said otherwise; default
# args are `--trust root.pem`)
#   valid_sha256.exe valid_sha1.exe valid_sha512.exe   hello.exe, -h sha256/sha1/sha512   VALID
#   valid_dll.dll valid_pe32.exe                        lib.dll, hello32.exe (PE32)       VALID
#   valid_ts.exe      RFC 3161 timestamp, 2024-01-01                     VALID (either way)
#   weak_md5.exe      -h md5                                             UNSUPPORTED
#   expired_nots.exe  expired leaf, signingTime 2020-06-01, no timestamp EXPIRED
#   expired_ts.exe    expired leaf, timestamp 2020-06-01                 EXPIRED; VALID with
#                     --tsa-trust tsa-root.pem (chain checked at the timestamp time)
#   missing_intermediate.exe  -certs leaf only    UNTRUSTED naming the intermediate; VALID with
#                     --untrusted intermediate.pem
#   rogue_root.exe    rogue leaf                  UNTRUSTED; VALID with --trust unrelated-root.pem
#   noeku.exe         TLS-only leaf               UNTRUSTED (code signing EKU)
#   nested_good.exe   sha256 by leaf + nested (-nest) sha1 by the second leaf       VALID
#   nested_rogue.exe  valid primary + rogue nested     VALID; UNTRUSTED with --require-all
#   rogue_nested_valid.exe  rogue primary + valid nested   UNTRUSTED; VALID with --uefi
#   junk_entry_*.exe  valid_sha256.exe + an entry that signs nothing (type 1; revision 1.0;
#                     type 2 holding a DER SEQUENCE of junk)     MALFORMED; VALID with --lenient
#   two_wincert.exe   valid_sha256.exe + a second WIN_CERTIFICATE entry (the PKCS#7 of the same
#                     image signed by the second leaf), directory size fixed   VALID (primary)
#   unauth_blob.exe   -addUnauthenticatedBlob                            VALID
#   overlay_signed.exe  1000 bytes appended to hello.exe before signing  VALID
#   overlap_headers.exe SizeOfHeaders raised past the first section's raw data before signing
#                     (the UPX layout of signify's spotify_sample.exe: the flat hash is the
#                     signed one, the spec's sorted-section hash differs)   VALID
#   legacy_ts.exe     `-t http://127.0.0.1:PORT/1704067200`: a legacy Authenticode timestamp
#                     (pkcs9 counterSignature by the TSA, signingTime 2024-01-01)   VALID either
#                     way; with --tsa-trust the reason dates it by the timestamp
#   expired_legacy_ts.exe  expired leaf, legacy timestamp 2020-06-01   EXPIRED; VALID with
#                     --tsa-trust tsa-root.pem (like expired_ts.exe)
#   legacy_ts_bad.exe expired_legacy_ts_bad.exe  the two above with one byte of the
#                     countersignature's encryptedDigest flipped (an unauthenticated attribute:
#                     the outer signature stays valid); the timestamp must not be used:
#                     VALID / EXPIRED either way, the reason says the timestamp is not used
#   uefi_nogap.efi    `sbsign --addcert intermediate.pem` on hello.exe   VALID (sbsign hashes the
#                     spec's section-sorted way, which equals the flat hash on this layout)
#   uefi_gap.efi      hello.exe with 0x200 zero bytes inserted before the last section's raw
#                     data (its PointerToRawData moved up; nothing else changed), then sbsign:
#                     the signed (section-sorted) hash skips the gap, the flat hash covers it
#                     BAD_SIGNATURE; VALID with --uefi, the reason naming the uncovered bytes
#   uefi_gap_edited.efi  uefi_gap.efi with a byte of the gap changed   the same: BAD_SIGNATURE;
#                     VALID with --uefi (nothing signs those bytes: that is the warning's point)
#   uefi_gap_tamper.efi  uefi_gap.efi with a byte of .text flipped   BAD_SIGNATURE either way
#   appended_after_sig.exe  16 bytes after the certificate table     MALFORMED; VALID --lenient
#   stuffed_certtable.exe   32 zero bytes inside the WIN_CERTIFICATE after the PKCS#7 (and its
#                     alignment padding), dwLength and directory size adjusted (CVE-2013-3900)
#                                                                      MALFORMED; VALID --lenient
#   bad_certdir_size.exe    directory size + 8 (past the end of the file)   MALFORMED
#   tamper_checksum.exe     CheckSum flipped (not hashed)                   VALID
#   tamper_section.exe tamper_header.exe tamper_dos_stub.exe   one byte of .text / the COFF
#                     TimeDateStamp / the DOS stub flipped             BAD_SIGNATURE (image hash)
#   tamper_sig.exe    one byte in the middle of the SignerInfo's encryptedDigest   BAD_SIGNATURE
#   transplant_sig.exe  valid_dll.dll's certificate table on hello.exe  BAD_SIGNATURE
#   truncated.exe     valid_sha256.exe cut in the middle of the PKCS#7    MALFORMED
#   truncated_headers.exe  the first 200 bytes of hello.exe               MALFORMED
#   unsigned.exe      hello.exe as linked                                 NO_SIGNATURE
# The uefi_* files need sbsign (osslsigncode always signs the flat hash, and any header edit
# after signing breaks both hashes): without sbsigntool they are skipped and oracle.tsv says so.
#
# Where osslsigncode (rc 0 = accepted; measured with 2.9, and 2.5-4 gives the same rc per the
# notes) disagrees with sigsweep's expected verdict, sigsweep is right because:
#   weak_md5.exe            osslsigncode accepts an MD5 image hash. MD5 collisions are cheap
#                           (chosen-prefix), so a signed MD5 digest binds nothing: sigsweep
#                           refuses the algorithm (UNSUPPORTED) instead of vouching for it.
#   rogue_nested_valid.exe  osslsigncode accepts when ANY signature verifies. Nested signatures
#                           are unauthenticated attributes of the primary SignerInfo that anyone
#                           may add or strip; Windows (WinVerifyTrust) judges the primary
#                           signature. sigsweep: the primary decides (UNTRUSTED); --uefi gives
#                           the any-signature semantics explicitly.
#   stuffed_certtable.exe   osslsigncode accepts: d2i_PKCS7 ignores bytes after the DER, and
#                           the certificate table is not hashed, so anyone can hide 32 bytes
#                           of payload in a signed file without breaking the signature
#                           (CVE-2013-3900; Windows' EnableCertPaddingCheck rejects it).
#                           sigsweep reports MALFORMED unless --lenient.
#   two_wincert.exe         osslsigncode 2.5/2.9 reject a table with more than one entry
#                           ("Corrupted attribute certificate table"), but the layout is legal
#                           (Microsoft's own shimx64.efi.signed has two entries) and the first
#                           entry is a valid signature over the image: sigsweep says VALID and
#                           notes the second entry (UEFI firmware tries each entry).
#   uefi_nogap.efi          (2.5 only) osslsigncode 2.5 says "Invalid signature" to sbsign's
#                           PKCS#7 (as to Debian's sbsign-signed shim-helpers, notes §2); 2.9
#                           accepts it. The image hash and the chain are good: VALID.
# For the verifier: osslsigncode pads the PKCS#7 to 8 bytes INSIDE dwLength (a 2429-byte DER
# gets dwLength 2440), so every signed file here has 1-7 zero bytes after the
# DER within its WIN_CERTIFICATE; only more than that (stuffed_certtable.exe) is stuffing.
# Agreements worth knowing: appended_after_sig.exe is "unsigned" to osslsigncode (a table not at
# the end of the file is ignored, MS12-024) and MALFORMED to sigsweep; expired_ts.exe is
# accepted by osslsigncode with -TSA-CAfile tsa-root.pem, as by sigsweep with --tsa-trust, and
# so is expired_legacy_ts.exe; legacy_ts_bad.exe is accepted by osslsigncode 2.9 too
# ("Timestamp Server Signature verification: failed", then "Signature verification: ok",
# "Succeeded": the timestamp is not used) and expired_legacy_ts_bad.exe rejected (expired);
# uefi_gap.efi is a MISMATCH to osslsigncode (flat hash only) and BAD_SIGNATURE to sigsweep
# without --uefi.
#
# osslsigncode versions: 2.5-4 (Debian 12) has -time, -nest, -addUnauthenticatedBlob and
# verify -TSA-CAfile, but no built-in TSA (-TSA-certs/-TSA-key/-TSA-time arrived in 2.7) and no
# -ignore-crl (2.9; 2.5 never fetches CRLs); 2.9 (bookworm-backports) has both. Both are
# detected from `osslsigncode --help`: without the TSA options valid_ts.exe and expired_ts.exe
# (and their rows) are skipped and oracle.tsv says so. Legacy timestamps (`sign -t URL`) work
# in both (measured: 2.5-4 fetches them over libcurl, 2.9 with OpenSSL's HTTP client); an
# osslsigncode without the TSA options is allowed to fail at them, which skips the four legacy
# cases with a warning; 2.7+ must succeed. oracle.tsv's command has -TSA-CAfile whenever some
# file is timestamped. Measured with 2.5-4 (the Debian 12 .deb unpacked, not installed): the
# same rc as 2.9 on every file both make, except uefi_nogap.efi (above).
set -euo pipefail
export LC_ALL=C
umask 022

stamp_name=.sgs-pe
die() { printf 'pe.sh: %s\n' "$*" >&2; exit 2; }
# shellcheck source=corpus/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
warn() { printf 'pe.sh: warning: %s\n' "$*" >&2; }
usage() { sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

case ${1:-} in
    -h|--help) usage; exit 0 ;;
    ''|-*) usage >&2; exit 2 ;;
esac
(($# == 1)) || { usage >&2; exit 2; }
out=$1
while [[ $out == */ && $out != / ]]; do out=${out%/}; done
[[ $out != / ]] || die "refusing to use / as OUTDIR"
src=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/pe" && pwd) || die "corpus/pe/ not found"
[[ -f $src/hello.c && -f $src/lib.c ]] || die "$src/hello.c or lib.c missing"

CC64=x86_64-w64-mingw32-gcc
CC32=i686-w64-mingw32-gcc
for t in openssl osslsigncode python3 "$CC64"; do
    command -v "$t" >/dev/null ||
        die "$t not found (Debian: openssl osslsigncode python3 gcc-mingw-w64-x86-64-win32)"
done
have32=1
command -v "$CC32" >/dev/null || { have32=0; warn "$CC32 not found: no PE32 case"; }
have_sbsign=1
command -v sbsign >/dev/null ||
    { have_sbsign=0; warn "sbsign not found (Debian: sbsigntool): uefi_* cases skipped"; }
[[ -f $src/legacy_tsa.py ]] || die "$src/legacy_tsa.py missing"
# Nothing here uses the network; the legacy timestamp server is on 127.0.0.1.
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY

help_text=$(osslsigncode --help 2>&1 || true)
oss_version=$(osslsigncode -v 2>&1 | head -n 2 | sed 's/, using://; s/^[[:space:]]*//' |
    paste -sd ' ' - || true)
[[ $oss_version == osslsigncode* ]] || die "osslsigncode -v printed no version: $oss_version"
oss_version=${oss_version/ OpenSSL/ (OpenSSL}
[[ $oss_version != *'(OpenSSL'* ]] || oss_version+=')'
have_tsa=0
[[ $help_text == *-TSA-certs* && $help_text == *-TSA-time* ]] && have_tsa=1
have_ignore_crl=0
[[ $help_text == *-ignore-crl* ]] && have_ignore_crl=1
((have_tsa)) ||
    warn "$oss_version has no built-in TSA (-TSA-certs, 2.7+): valid_ts/expired_ts skipped"

# OUTDIR: create, or wipe one we made before; never touch anything else.
claim_outdir "$out" "$stamp_name" corpus/pe.sh
cd -- "$out"
log=$out/tools.log
: >"$log"

# run TOOL ARGS...: quietly; on failure show its output and stop.
run() {
    printf '+ %s\n' "$*" >>"$log"
    if ! "$@" >>"$log" 2>&1; then
        printf 'pe.sh: %s failed:\n' "$*" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
}

START=20150101000000Z
END=20450101000000Z
O="sigsweep test"
T_SIGN=1704067200        # 2024-01-01T00:00:00Z: signingTime and timestamp of the good cases
T_2020=1590969600        # 2020-06-01T00:00:00Z: inside the expired leaf's validity
mkdir -p ca certs keys build files

# ---------------------------------------------------------------------------------------------
# PKI
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

[ v3_code ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_tsa ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

genkey() { run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "keys/$1.key"; }
csr() { run openssl req -new -key "keys/$1.key" -subj "/O=$O/CN=$2" -out "ca/$1.csr"; }
# selfsigned NAME CN SERIAL: a self-signed root, certs/NAME.pem
selfsigned() {
    new_ca "$1" "$3"
    genkey "$1"
    csr "$1" "$2"
    run openssl ca -batch -config "ca/$1/ca.cnf" -selfsign -keyfile "keys/$1.key" \
        -in "ca/$1.csr" -out "certs/$1.pem" -notext -preserveDN -md sha256 -extfile ext.cnf \
        -extensions v3_root -startdate "$START" -enddate "$END"
    cp "certs/$1.pem" "ca/$1/ca.pem"
    cp "keys/$1.key" "ca/$1/ca.key"
}
# issue ISSUER NAME CN EXT [START END]: certs/NAME.pem signed by ca/ISSUER
issue() {
    genkey "$2"
    csr "$2" "$3"
    run openssl ca -batch -config "ca/$1/ca.cnf" -in "ca/$2.csr" -out "certs/$2.pem" -notext \
        -preserveDN -md sha256 -extfile ext.cnf -extensions "$4" \
        -startdate "${5:-$START}" -enddate "${6:-$END}"
}

selfsigned root "Sigsweep PE Test Root" 1000
issue root intermediate "Sigsweep PE Test Intermediate" v3_int
new_ca intermediate 2000
cp certs/intermediate.pem ca/intermediate/ca.pem
cp keys/intermediate.key ca/intermediate/ca.key
issue intermediate leaf "Sigsweep PE Code Signing Leaf" v3_code
issue intermediate leaf2 "Sigsweep PE Second Code Signing Leaf" v3_code
issue intermediate expired "Sigsweep PE Expired Leaf" v3_code 20200101000000Z 20210101000000Z
issue intermediate tls "Sigsweep PE TLS Leaf" v3_server
selfsigned tsa-root "Sigsweep PE Test TSA Root" 3000
issue tsa-root tsa "Sigsweep PE Test TSA" v3_tsa
selfsigned unrelated-root "Sigsweep PE Unrelated Root" 4000
issue unrelated-root rogue "Sigsweep PE Rogue Leaf" v3_code
rm -f ca/*.csr

cp certs/root.pem root.pem
cp certs/intermediate.pem intermediate.pem
cp certs/tsa-root.pem tsa-root.pem
cp certs/unrelated-root.pem unrelated-root.pem
for n in leaf leaf2 expired tls; do cat "certs/$n.pem" certs/intermediate.pem >"chain-$n.pem"; done
cp certs/leaf.pem chain-leaf-only.pem
cp certs/rogue.pem chain-rogue.pem
cp certs/tsa.pem chain-tsa.pem

# Sanity: the chains are what they claim (openssl verify as the oracle).
run openssl verify -no-CAfile -no-CApath -CAfile root.pem -untrusted intermediate.pem \
    -purpose any certs/leaf.pem certs/leaf2.pem
run openssl verify -no-CAfile -no-CApath -CAfile tsa-root.pem -purpose timestampsign certs/tsa.pem
run openssl verify -no-CAfile -no-CApath -CAfile unrelated-root.pem -purpose any certs/rogue.pem
if openssl verify -no-CAfile -no-CApath -CAfile root.pem -untrusted intermediate.pem \
        certs/expired.pem >>"$log" 2>&1; then
    die "the expired leaf verifies now"
fi

# ---------------------------------------------------------------------------------------------
# Programs
LDFLAGS=(-O2 -s '-Wl,--no-insert-timestamp')
run "$CC64" "${LDFLAGS[@]}" -o build/hello.exe "$src/hello.c"
run "$CC64" "${LDFLAGS[@]}" -shared -o build/lib.dll "$src/lib.c"
((have32 == 0)) || run "$CC32" "${LDFLAGS[@]}" -o build/hello32.exe "$src/hello.c"

# ---------------------------------------------------------------------------------------------
# peedit: byte edits at offsets computed from the PE headers (bounds-checked; every edit
# checks the layout it assumes and fails loudly otherwise).
read -r -d '' PEEDIT <<'PYEOF' || true
import struct, sys

def die(msg):
    sys.exit("peedit: " + msg)

def load(p):
    with open(p, "rb") as f:
        return bytearray(f.read())

def save(p, d):
    with open(p, "wb") as f:
        f.write(d)

def u16(d, o): return struct.unpack_from("<H", d, o)[0]
def u32(d, o): return struct.unpack_from("<I", d, o)[0]

class PE:
    def __init__(self, d, need_sig=True):
        if len(d) < 0x40 or d[:2] != b"MZ":
            die("no MZ header")
        self.e = e = u32(d, 0x3C)
        if e + 24 > len(d) or d[e:e + 4] != b"PE\0\0":
            die("no PE signature at e_lfanew")
        self.nsec, self.optsize = u16(d, e + 6), u16(d, e + 20)
        self.opt = o = e + 24
        magic = u16(d, o)
        if magic not in (0x10B, 0x20B):
            die("optional header magic %#x" % magic)
        self.plus = magic == 0x20B
        self.checksum = o + 64
        self.sizeofheaders = o + 60
        self.filealign = u32(d, o + 36)
        self.timestamp = e + 8
        self.certdir = o + (144 if self.plus else 128)
        self.certoff, self.certsize = struct.unpack_from("<II", d, self.certdir)
        self.sections = []
        s = o + self.optsize
        for k in range(self.nsec):
            h = s + 40 * k
            rawsize, rawptr = struct.unpack_from("<II", d, h + 16)
            self.sections.append((rawptr, rawsize, h))
        if need_sig:
            if self.certoff == 0 or self.certsize == 0:
                die("no certificate table")
            if self.certoff + self.certsize != len(d) or self.certoff % 8:
                die("certificate table not 8-aligned at the end of the file")

    def entries(self, d):
        """(offset, dwLength) of each WIN_CERTIFICATE."""
        out, i, end = [], self.certoff, self.certoff + self.certsize
        while i < end:
            n, rev, typ = struct.unpack_from("<IHH", d, i)
            if n < 8 or rev != 0x200 or typ != 2:
                die("odd WIN_CERTIFICATE at %d: %d %#x %d" % (i, n, rev, typ))
            out.append((i, n))
            i += (n + 7) & ~7
        if i != end:
            die("entries do not fill the table")
        return out

def tlv(d, i):
    """(tag, value offset, value length) of the DER element at i."""
    tag, n = d[i], d[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        if not 1 <= k <= 4:
            die("DER length of %d bytes" % k)
        n = int.from_bytes(d[i:i + k], "big")
        i += k
    return tag, i, n

def kids(d, vs, n):
    i, end = vs, vs + n
    while i < end:
        tag, cvs, cn = tlv(d, i)
        yield tag, cvs, cn
        i = cvs + cn
    if i != end:
        die("DER children overrun their parent")

def der_len(d, i):
    _, vs, n = tlv(d, i)
    return vs + n - i

def encrypted_digest(d, i):
    """(offset, length) of the first SignerInfo's encryptedDigest in the ContentInfo at i."""
    vs, n = signer_info(d, i)
    octets = [k for k in kids(d, vs, n) if k[0] == 0x04]
    if not octets:
        die("no encryptedDigest")
    return octets[0][1], octets[0][2]

def signer_info(d, i):
    """(value offset, length) of the one SignerInfo of the ContentInfo at i."""
    tag, vs, n = tlv(d, i)
    ci = list(kids(d, vs, n))
    if tag != 0x30 or len(ci) != 2 or ci[1][0] != 0xA0:
        die("not a ContentInfo")
    tag, vs, n = tlv(d, ci[1][1])
    sd = list(kids(d, vs, n))
    if tag != 0x30 or sd[-1][0] != 0x31:
        die("not a SignedData")
    si = list(kids(d, sd[-1][1], sd[-1][2]))
    if len(si) != 1 or si[0][0] != 0x30:
        die("want exactly one SignerInfo")
    return si[0][1], si[0][2]

OID_COUNTERSIGNATURE = bytes.fromhex("06092a864886f70d010906")   # 1.2.840.113549.1.9.6

def countersig_digest(d, i):
    """(offset, length) of the encryptedDigest of the pkcs9 countersignature (the one value
    of the one counterSignature attribute) in the unauthenticated attributes of the first
    SignerInfo of the ContentInfo at i."""
    vs, n = signer_info(d, i)
    unauth = [k for k in kids(d, vs, n) if k[0] == 0xA1]
    if len(unauth) != 1:
        die("no unauthenticated attributes")
    found = []
    for tag, avs, an in kids(d, unauth[0][1], unauth[0][2]):
        _, ovs, on = tlv(d, avs)
        if tag == 0x30 and d[avs:ovs + on] == OID_COUNTERSIGNATURE:
            found.append(list(kids(d, ovs + on, avs + an - ovs - on)))
    if len(found) != 1 or len(found[0]) != 1 or found[0][0][0] != 0x31:
        die("want exactly one counterSignature attribute")
    vals = list(kids(d, found[0][0][1], found[0][0][2]))
    if len(vals) != 1 or vals[0][0] != 0x30:
        die("want exactly one countersignature SignerInfo")
    octets = [k for k in kids(d, vals[0][1], vals[0][2]) if k[0] == 0x04]
    if len(octets) != 1:
        die("no countersignature encryptedDigest")
    return octets[0][1], octets[0][2]

def flip(d, off, mask=0x01):
    if not 0 <= off < len(d):
        die("offset %d outside the file" % off)
    d[off] ^= mask

def main(argv):
    cmd = argv[0]
    if cmd == "flip":                      # flip IN OUT checksum|timestamp|dosstub|section|sig
        src, dst, what = argv[1:]
        d = load(src)
        pe = PE(d)
        if what == "checksum":
            flip(d, pe.checksum, 0xFF)
        elif what == "timestamp":
            flip(d, pe.timestamp, 0x01)
        elif what == "dosstub":            # in "This program cannot be run in DOS mode"
            off = d.find(b"This program")
            if off < 0x40 or off + 12 > pe.e:
                die("no DOS stub message before the PE header")
            flip(d, off + 5, 0x20)         # 'p' -> 'P'
        elif what == "section":            # middle of the first section with raw data
            ptr, size, _ = next(s for s in sorted(pe.sections) if s[1])
            flip(d, ptr + size // 2, 0x01)
        elif what in ("sig", "countersig"):  # middle of the primary's (or its countersignature's)
            (off, n), = pe.entries(d)[:1]     # encryptedDigest
            find = encrypted_digest if what == "sig" else countersig_digest
            vo, vn = find(d, off + 8)
            if vn < 64:
                die("%s encryptedDigest of %d bytes" % (what, vn))
            flip(d, vo + vn // 2, 0x01)
            print(vo + vn // 2)
        elif what == "gap":                # middle of the first gap between sections' raw data
            secs = sorted((p, n) for p, n, _ in pe.sections if n)
            gaps = [(a[0] + a[1], b[0]) for a, b in zip(secs, secs[1:]) if a[0] + a[1] < b[0]]
            if not gaps:
                die("no gap between sections")
            lo, hi = gaps[0]
            flip(d, (lo + hi) // 2, 0x5A)
            print((lo + hi) // 2)
        else:
            die("flip what? " + what)
        save(dst, d)
    elif cmd == "dirsize":                 # dirsize IN OUT DELTA
        src, dst, delta = argv[1], argv[2], int(argv[3])
        d = load(src)
        pe = PE(d)
        struct.pack_into("<I", d, pe.certdir + 4, pe.certsize + delta)
        save(dst, d)
    elif cmd == "stuff":                   # stuff IN OUT N: N zero bytes inside the one entry
        src, dst, n = argv[1], argv[2], int(argv[3])
        if n <= 0 or n % 8:
            die("stuff wants a positive multiple of 8")
        d = load(src)
        pe = PE(d)
        (off, length), = pe.entries(d)
        end = off + ((length + 7) & ~7)
        d[end:end] = bytes(n)
        struct.pack_into("<I", d, off, ((length + 7) & ~7) + n)
        struct.pack_into("<I", d, pe.certdir + 4, pe.certsize + n)
        if der_len(d, off + 8) + 8 + n > u32(d, off):
            die("stuffing not inside the entry")
        save(dst, d)
    elif cmd == "second":                  # second IN DONOR OUT: append DONOR's entry to IN's table
        src, donor, dst = argv[1:]
        d, e = load(src), load(donor)
        pe, pd = PE(d), PE(e)
        def image(x, p):                   # the hashed bytes (flat), as one string
            return x[:p.checksum] + x[p.checksum + 4:p.certdir] + x[p.certdir + 8:p.certoff]
        if image(d, pe) != image(e, pd):
            die("the donor is not the same image")
        (eoff, elen), = pd.entries(e)
        entry = e[eoff:eoff + ((elen + 7) & ~7)]
        d += entry
        struct.pack_into("<I", d, pe.certdir + 4, pe.certsize + len(entry))
        PE(d).entries(d)
        save(dst, d)
    elif cmd == "junk":                    # junk IN OUT TYPE REV: append an entry of that type
        src, dst, typ, rev = argv[1:]      # and revision holding 1 KiB that signs nothing
        d = load(src)
        pe = PE(d)
        pe.entries(d)
        payload = b"UNSIGNED PAYLOAD " * 60
        if int(typ, 0) == 2:               # shaped like PKCS#7: a DER SEQUENCE of junk
            payload = b"\x30\x82" + struct.pack(">H", len(payload)) + payload
        entry = struct.pack("<IHH", 8 + len(payload), int(rev, 0), int(typ, 0)) + payload
        entry += b"\0" * (-len(entry) % 8)
        d += entry
        struct.pack_into("<I", d, pe.certdir + 4, pe.certsize + len(entry))
        save(dst, d)
    elif cmd == "transplant":              # transplant IMAGE DONOR OUT: DONOR's table on IMAGE
        src, donor, dst = argv[1:]
        d, e = load(src), load(donor)
        pe, pd = PE(d), PE(e)
        d = d[:pe.certoff] + e[pd.certoff:pd.certoff + pd.certsize]
        struct.pack_into("<I", d, pe.certdir + 4, pd.certsize)
        PE(d).entries(d)
        save(dst, d)
    elif cmd == "truncate":                # truncate IN OUT: cut in the middle of the PKCS#7
        src, dst = argv[1:]
        d = load(src)
        pe = PE(d)
        (off, _), = pe.entries(d)
        save(dst, d[:off + 8 + der_len(d, off + 8) // 2])
    elif cmd == "overlap":                 # overlap IN OUT: SizeOfHeaders past the first section
        src, dst = argv[1:]
        d = load(src)
        pe = PE(d, need_sig=False)
        if pe.certoff or pe.certsize:
            die("overlap wants an unsigned image")
        first = min(p for p, n, _ in pe.sections if n)
        if u32(d, pe.sizeofheaders) != first:
            die("headers do not end where the first section starts")
        struct.pack_into("<I", d, pe.sizeofheaders, first + pe.filealign)
        save(dst, d)
    elif cmd == "gap":                     # gap IN OUT N: N zero bytes before the last section
        src, dst, n = argv[1], argv[2], int(argv[3])
        d = load(src)
        pe = PE(d, need_sig=False)
        if pe.certoff or pe.certsize:
            die("gap wants an unsigned image")
        if n <= 0 or n % pe.filealign:
            die("gap wants a positive multiple of FileAlignment (%d)" % pe.filealign)
        if u32(d, pe.e + 12):
            die("a COFF symbol table (PointerToSymbolTable) would move")
        secs = sorted(s for s in pe.sections if s[1])
        if len(secs) < 2:
            die("gap wants two sections with raw data")
        ptr, size, h = secs[-1]
        if any(p + k > ptr for p, k, _ in secs[:-1]):
            die("the last section overlaps another")
        if ptr + size != len(d):
            die("data after the last section")
        d[ptr:ptr] = bytes(n)
        struct.pack_into("<I", d, h + 20, ptr + n)   # PointerToRawData
        save(dst, d)
        print(ptr, ptr + n - 1)            # the gap's first and last byte
    elif cmd == "p7":                      # p7 IN OUT: the first entry's PKCS#7 DER
        src, dst = argv[1:]
        d = load(src)
        (off, _), = PE(d).entries(d)[:1]
        save(dst, d[off + 8:off + 8 + der_len(d, off + 8)])
    elif cmd == "layout":                  # layout IN: magic certoff certsize entries
        d = load(argv[1])
        pe = PE(d)
        print("PE32+" if pe.plus else "PE32", pe.certoff, pe.certsize,
              " ".join("%d:%d:%d" % (o, n, der_len(d, o + 8)) for o, n in pe.entries(d)))
    else:
        die("unknown command " + cmd)

main(sys.argv[1:])
PYEOF
peedit() { python3 -c "$PEEDIT" "$@"; }

# ---------------------------------------------------------------------------------------------
# Cases
# sign IN OUT CHAIN KEY ALG [osslsigncode sign options...]
sign() {
    local in=$1 dst=$2 chain=$3 key=$4 alg=$5
    shift 5
    rm -f "$dst"
    run osslsigncode sign -certs "$chain" -key "keys/$key.key" -h "$alg" "$@" -in "$in" -out "$dst"
}
TSA=(-TSA-certs chain-tsa.pem -TSA-key keys/tsa.key)
H=build/hello.exe

sign "$H" files/valid_sha256.exe chain-leaf.pem leaf sha256 -time "$T_SIGN"
sign "$H" files/valid_sha1.exe chain-leaf.pem leaf sha1 -time "$T_SIGN"
sign "$H" files/valid_sha512.exe chain-leaf.pem leaf sha512 -time "$T_SIGN"
sign build/lib.dll files/valid_dll.dll chain-leaf.pem leaf sha256 -time "$T_SIGN"
((have32 == 0)) ||
    sign build/hello32.exe files/valid_pe32.exe chain-leaf.pem leaf sha256 -time "$T_SIGN"
sign "$H" files/weak_md5.exe chain-leaf.pem leaf md5 -time "$T_SIGN"
sign "$H" files/expired_nots.exe chain-expired.pem expired sha256 -time "$T_2020"
if ((have_tsa)); then
    sign "$H" files/valid_ts.exe chain-leaf.pem leaf sha256 -time "$T_SIGN" \
        "${TSA[@]}" -TSA-time "$T_SIGN"
    sign "$H" files/expired_ts.exe chain-expired.pem expired sha256 -time "$T_2020" \
        "${TSA[@]}" -TSA-time "$T_2020"
fi

# Legacy (pkcs9 countersignature) timestamps from pe/legacy_tsa.py on 127.0.0.1; the URL path
# is the signingTime. The server is killed on exit (trap) or, failing that, exits by itself
# within about two seconds of its parent going away.
tsa_pid=''
stop_legacy_tsa() {
    [[ -n $tsa_pid ]] || return 0
    kill "$tsa_pid" 2>/dev/null || true
    wait "$tsa_pid" 2>/dev/null || true
    tsa_pid=''
}
trap stop_legacy_tsa EXIT
python3 "$src/legacy_tsa.py" --cert certs/tsa.pem --key keys/tsa.key \
    --port-file build/legacy-tsa.port 2>>legacy-tsa.log </dev/null &
tsa_pid=$!
for _ in $(seq 100); do
    [[ -s build/legacy-tsa.port ]] && break
    kill -0 "$tsa_pid" 2>/dev/null || break
    sleep 0.05
done
[[ -s build/legacy-tsa.port ]] ||
    die "legacy_tsa.py did not start (see $out/legacy-tsa.log)"
TURL=http://127.0.0.1:$(cat build/legacy-tsa.port)
have_legacy=1
# legacy_sign IN OUT CHAIN KEY TIME: like sign, with a legacy timestamp at TIME; returns 1
# (instead of exiting) when an osslsigncode without the built-in TSA (2.5) cannot do it.
legacy_sign() {
    local in=$1 dst=$2 chain=$3 key=$4 t=$5
    local cmd=(osslsigncode sign -certs "$chain" -key "keys/$key.key" -h sha256 -time "$t"
               -t "$TURL/$t" -in "$in" -out "$dst")
    rm -f "$dst"
    printf '+ %s\n' "${cmd[*]}" >>"$log"
    "${cmd[@]}" >>"$log" 2>&1 </dev/null && [[ -s $dst ]] && return 0
    rm -f "$dst"
    ((have_tsa == 0)) || {
        tail -n 20 "$log" >&2
        die "osslsigncode sign -t $TURL/$t failed (see $out/legacy-tsa.log)"
    }
    return 1
}
if legacy_sign "$H" files/legacy_ts.exe chain-leaf.pem leaf "$T_SIGN"; then
    legacy_sign "$H" files/expired_legacy_ts.exe chain-expired.pem expired "$T_2020" ||
        die "osslsigncode sign -t failed the second time"
    peedit flip files/legacy_ts.exe files/legacy_ts_bad.exe countersig >>"$log"
    peedit flip files/expired_legacy_ts.exe files/expired_legacy_ts_bad.exe countersig >>"$log"
else
    have_legacy=0
    warn "$oss_version cannot get a legacy timestamp (sign -t): legacy_ts cases skipped"
fi
stop_legacy_tsa

sign "$H" files/missing_intermediate.exe chain-leaf-only.pem leaf sha256 -time "$T_SIGN"
sign "$H" files/rogue_root.exe chain-rogue.pem rogue sha256 -time "$T_SIGN"
sign "$H" files/noeku.exe chain-tls.pem tls sha256 -time "$T_SIGN"

# Nested: -nest adds the new signature to the primary SignerInfo of an already signed file.
sign files/valid_sha256.exe files/nested_good.exe chain-leaf2.pem leaf2 sha1 -time "$T_SIGN" -nest
sign files/valid_sha256.exe files/nested_rogue.exe chain-rogue.pem rogue sha256 \
    -time "$T_SIGN" -nest
sign files/rogue_root.exe files/rogue_nested_valid.exe chain-leaf.pem leaf sha256 \
    -time "$T_SIGN" -nest

# A second WIN_CERTIFICATE: the PKCS#7 of the same image signed by the second leaf.
sign "$H" build/hello_leaf2.exe chain-leaf2.pem leaf2 sha256 -time "$T_SIGN"
peedit second files/valid_sha256.exe build/hello_leaf2.exe files/two_wincert.exe
peedit junk files/valid_sha256.exe files/junk_entry_x509.exe 1 0x200
peedit junk files/valid_sha256.exe files/junk_entry_rev1.exe 2 0x100
peedit junk files/valid_sha256.exe files/junk_entry_pkcs7.exe 2 0x200

sign "$H" files/unauth_blob.exe chain-leaf.pem leaf sha256 -time "$T_SIGN" -addUnauthenticatedBlob

{ cat "$H"; head -c 1000 /dev/zero | tr '\0' 'O'; } >build/hello_overlay.exe
sign build/hello_overlay.exe files/overlay_signed.exe chain-leaf.pem leaf sha256 -time "$T_SIGN"

peedit overlap "$H" build/hello_overlap.exe
sign build/hello_overlap.exe files/overlap_headers.exe chain-leaf.pem leaf sha256 -time "$T_SIGN"

V=files/valid_sha256.exe
{ cat "$V"; printf 'appended-16bytes'; } >files/appended_after_sig.exe
peedit stuff "$V" files/stuffed_certtable.exe 32
peedit dirsize "$V" files/bad_certdir_size.exe 8
peedit flip "$V" files/tamper_checksum.exe checksum
peedit flip "$V" files/tamper_section.exe section
peedit flip "$V" files/tamper_header.exe timestamp
peedit flip "$V" files/tamper_dos_stub.exe dosstub
sig_off=$(peedit flip "$V" files/tamper_sig.exe sig)
peedit transplant "$V" files/valid_dll.dll files/transplant_sig.exe
peedit truncate "$V" files/truncated.exe
head -c 200 "$H" >files/truncated_headers.exe
cp "$H" files/unsigned.exe
printf '+ tamper_sig.exe: flipped the encryptedDigest byte at file offset %s\n' "$sig_off" >>"$log"

# UEFI: sbsign signs the section-sorted (spec) hash. uefi_gap's layout has a 0x200-byte gap
# before the last section's raw data, which the flat hash covers and the spec hash skips.
if ((have_sbsign)); then
    # sbsign_to IN OUT: leaf + intermediate (--addcert), SHA-256
    sbsign_to() {
        rm -f "$2"
        run sbsign --key keys/leaf.key --cert certs/leaf.pem --addcert intermediate.pem \
            --output "$2" "$1"
    }
    sbsign_to "$H" files/uefi_nogap.efi
    read -r gap_first gap_last < <(peedit gap "$H" build/hello_gap.efi 512)
    [[ -n ${gap_last:-} ]] || die "peedit gap failed"
    printf '+ hello_gap.efi: zero bytes %s-%s inserted\n' "$gap_first" "$gap_last" >>"$log"
    sbsign_to build/hello_gap.efi files/uefi_gap.efi
    printf '+ uefi_gap_edited.efi: changed the gap byte at file offset %s\n' \
        "$(peedit flip files/uefi_gap.efi files/uefi_gap_edited.efi gap)" >>"$log"
    peedit flip files/uefi_gap.efi files/uefi_gap_tamper.efi section
fi

# The flipped signature still parses as PKCS#7 (so the failure is the signature, not DER).
# (Not `osslsigncode extract-signature`: 2.5 writes the WIN_CERTIFICATE header too.)
python3 -c "$PEEDIT" layout files/tamper_sig.exe >>"$log"
peedit p7 files/tamper_sig.exe build/tamper_sig.p7
run openssl pkcs7 -inform DER -in build/tamper_sig.p7 -noout -print_certs

# ---------------------------------------------------------------------------------------------
# Oracle: osslsigncode verify on every file.
ver_args=(-CAfile root.pem)
sgs_oracle_args="--trust root.pem"
if ((have_tsa || have_legacy)); then
    ver_args+=(-TSA-CAfile tsa-root.pem)
    sgs_oracle_args+=" --tsa-trust tsa-root.pem"
fi
((have_ignore_crl == 0)) || ver_args+=(-ignore-crl)
skipped=()
((have_tsa)) || skipped+=(files/valid_ts.exe files/expired_ts.exe)
((have32)) || skipped+=(files/valid_pe32.exe)
((have_legacy)) || skipped+=(files/legacy_ts.exe files/expired_legacy_ts.exe
    files/legacy_ts_bad.exe files/expired_legacy_ts_bad.exe)
((have_sbsign)) || skipped+=(files/uefi_nogap.efi files/uefi_gap.efi files/uefi_gap_edited.efi
    files/uefi_gap_tamper.efi)
{
    printf '# %s\n' "$oss_version"
    printf '# command: osslsigncode verify %s -in FILE\n' "${ver_args[*]}"
    printf '# sigsweep-args: %s\n' "$sgs_oracle_args"
    printf '# skipped: %s\n' "${skipped[*]:-none}"
    printf '# input\tosslsigncode_rc\tosslsigncode_summary\n'
} >oracle.tsv
declare -A oss_rc=()
OSS_KEEP='MISMATCH|verification: |Number of verified|^Succeeded|^Failed|[Ee]rror|Ignoring'
OSS_KEEP+='|[Nn]o signature|[Cc]orrupt|[Ii]nvalid|[Uu]nsupported|[Ee]xpired|[Uu]nable'
OSS_KEEP+='|not (found|available)|too short'
for f in files/*; do
    set +e
    text=$(osslsigncode verify "${ver_args[@]}" -in "$f" 2>&1 </dev/null)
    rc=$?
    set -e
    oss_rc[$f]=$rc
    # osslsigncode's own messages; OpenSSL's error-queue lines (thread ids, source lines) are
    # dropped, so the summary depends on the file only.
    summary=$(printf '%s\n' "$text" | grep -Ev '^[0-9A-Fa-f]+:error:' |
        grep -E "$OSS_KEEP" |
        grep -v 'Timestamp is not available' |
        sed 's/[[:space:]]\+/ /g; s/^ //; s/ $//' | awk '!seen[$0]++' | paste -sd ';' - |
        sed 's/;/; /g' | cut -c1-300)
    printf '%s\t%s\t%s\n' "$f" "$rc" "${summary:-(no output)}" >>oracle.tsv
done

# The corpus is what it claims to be: osslsigncode's verdicts where they only depend on how the
# file was made (die), and the version-dependent ones of notes §6 (warn).
expect_oss() {   # expect_oss ok|fail die|warn FILE...
    local want=$1 how=$2 f got
    shift 2
    for f in "$@"; do
        [[ -n ${oss_rc[$f]+x} ]] || continue
        got=fail
        [[ ${oss_rc[$f]} != 0 ]] || got=ok
        [[ $got == "$want" ]] && continue
        if [[ $how == die ]]; then
            die "osslsigncode says $got for $f, want $want (see oracle.tsv, tools.log)"
        fi
        warn "osslsigncode says $got for $f, measured $want (notes §6, header above)"
    done
}
expect_oss ok die files/valid_sha256.exe files/valid_sha1.exe files/valid_sha512.exe \
    files/valid_dll.dll files/valid_pe32.exe files/valid_ts.exe files/expired_ts.exe \
    files/nested_good.exe files/unauth_blob.exe files/overlay_signed.exe \
    files/overlap_headers.exe files/tamper_checksum.exe files/legacy_ts.exe \
    files/expired_legacy_ts.exe
expect_oss fail die files/tamper_section.exe files/tamper_header.exe files/tamper_dos_stub.exe \
    files/tamper_sig.exe files/transplant_sig.exe files/truncated.exe \
    files/truncated_headers.exe files/unsigned.exe files/expired_nots.exe \
    files/missing_intermediate.exe files/rogue_root.exe files/noeku.exe \
    files/expired_legacy_ts_bad.exe files/uefi_gap.efi files/uefi_gap_edited.efi \
    files/uefi_gap_tamper.efi
expect_oss ok warn files/nested_rogue.exe files/rogue_nested_valid.exe \
    files/stuffed_certtable.exe files/weak_md5.exe files/legacy_ts_bad.exe files/uefi_nogap.efi
expect_oss fail warn files/two_wincert.exe files/appended_after_sig.exe \
    files/bad_certdir_size.exe files/junk_entry_x509.exe files/junk_entry_rev1.exe \
    files/junk_entry_pkcs7.exe
# uefi_gap.efi is what it claims: to an osslsigncode that reads sbsign's signatures (2.9; 2.5
# says "Invalid signature" to both uefi files) its flat image hash is a MISMATCH.
if [[ ${oss_rc[files/uefi_nogap.efi]:-} == 0 ]] && ! grep -q \
        $'^files/uefi_gap.efi\t[0-9]*\t.*message digest[^;]*MISMATCH' oracle.tsv; then
    die "osslsigncode finds no image hash MISMATCH in files/uefi_gap.efi (see oracle.tsv)"
fi
# ... and the two files whose verdict needs extra certificates do verify with them.
cat root.pem intermediate.pem >build/root-and-intermediate.pem
run osslsigncode verify -CAfile build/root-and-intermediate.pem \
    -in files/missing_intermediate.exe "${ver_args[@]:2}"
run osslsigncode verify -CAfile unrelated-root.pem -in files/rogue_root.exe "${ver_args[@]:2}"

# ---------------------------------------------------------------------------------------------
# signers.tsv: the primary signer of every file that has one that verifies somewhere.
spki() {
    openssl x509 -in "certs/$1.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
        sha256sum | cut -c1-64
}
declare -A signer_of=(
    [valid_sha256.exe]=leaf [valid_sha1.exe]=leaf [valid_sha512.exe]=leaf [valid_dll.dll]=leaf
    [valid_pe32.exe]=leaf [valid_ts.exe]=leaf [weak_md5.exe]=leaf [expired_nots.exe]=expired
    [expired_ts.exe]=expired [missing_intermediate.exe]=leaf [rogue_root.exe]=rogue
    [noeku.exe]=tls [nested_good.exe]=leaf [nested_rogue.exe]=leaf
    [rogue_nested_valid.exe]=rogue [two_wincert.exe]=leaf [unauth_blob.exe]=leaf
    [junk_entry_x509.exe]=leaf [junk_entry_rev1.exe]=leaf [junk_entry_pkcs7.exe]=leaf
    [overlay_signed.exe]=leaf [overlap_headers.exe]=leaf [appended_after_sig.exe]=leaf
    [stuffed_certtable.exe]=leaf [tamper_checksum.exe]=leaf [legacy_ts.exe]=leaf
    [expired_legacy_ts.exe]=expired [legacy_ts_bad.exe]=leaf [expired_legacy_ts_bad.exe]=expired
    [uefi_nogap.efi]=leaf [uefi_gap.efi]=leaf [uefi_gap_edited.efi]=leaf
)
: >signers.tsv
for n in $(printf '%s\n' "${!signer_of[@]}" | sort); do
    [[ -f files/$n ]] || continue
    printf 'files/%s\t%s\n' "$n" "$(spki "${signer_of[$n]}")" >>signers.tsv
done

# ---------------------------------------------------------------------------------------------
# cases.tsv
re() { printf '%s' "$1" | sed 's/[][\\.*^$+?(){}|]/\\&/g'; }
INT_CN=$(re "Sigsweep PE Test Intermediate")
UNREL_CN=$(re "Sigsweep PE Unrelated Root")
ROOT_CN=$(re "Sigsweep PE Test Root")
EXPIRED_RE="(?=.*$(re "Sigsweep PE Expired Leaf"))(?=.*(?i:expired))(?=.*2021-01-01)"
IMAGE_HASH='(?i)image (hash|digest)'
AFTER_TABLE='(?i)(?=.*(data|bytes?) after)(?=.*(signature|certificate table))'
STUFFED='(?i)(?=.*bytes? after)(?=.*signature)(?=.*(certificate table|WIN_CERTIFICATE))'
EKU_RE='(?i)code ?signing|EKU|extended key usage'
# a timestamp that dates the signature / is named but not used (bad, or no --tsa-trust)
TS_NOT_USED='(?i:timestamp[^;]*not used)'
TS_BAD='(?i:timestamp[^;]*(not used|does not verify|not over|invalid))'
ts_used() { printf '\\A(?=.*(?i:timestamp))(?=.*%s)(?!.*%s)' "$1" "$TS_BAD"; }
UNCOVERED="(?i)does not cover bytes?\\b.*\\b${gap_first:-}\\b"

printf '# case\targs\tinput\tverdict\treason regex (re.search)\n' >cases.tsv
grp=''
gargs=''
group() { grp=$1; gargs=$2; }
declare -A seen=()
# row NAME VERDICT [REGEX]: files/NAME under the current group; skipped when NAME was not made
row() {
    local k="$gargs|$1"
    [[ -f files/$1 ]] || return 0
    [[ -z ${seen[$k]:-} ]] || die "cases: $gargs files/$1 listed twice"
    seen[$k]=$2
    printf '%s\t%s\t%s\t%s\t%s\n' "$grp:${1%.*}" "$gargs" "files/$1" "$2" "${3:-}" >>cases.tsv
}

group base "--trust root.pem"
for n in valid_sha256.exe valid_sha1.exe valid_sha512.exe valid_dll.dll valid_pe32.exe \
        valid_ts.exe nested_good.exe nested_rogue.exe two_wincert.exe unauth_blob.exe \
        overlay_signed.exe overlap_headers.exe tamper_checksum.exe; do
    row "$n" VALID
done
row weak_md5.exe UNSUPPORTED '(?i)md5'
row expired_nots.exe EXPIRED "$EXPIRED_RE"
row expired_ts.exe EXPIRED "$EXPIRED_RE"
row legacy_ts.exe VALID "$TS_NOT_USED"
row expired_legacy_ts.exe EXPIRED "$EXPIRED_RE"
row legacy_ts_bad.exe VALID "$TS_BAD"
row expired_legacy_ts_bad.exe EXPIRED "$EXPIRED_RE(?=.*$TS_BAD)"
row uefi_nogap.efi VALID
for n in uefi_gap.efi uefi_gap_edited.efi uefi_gap_tamper.efi; do
    row "$n" BAD_SIGNATURE "$IMAGE_HASH"
done
row missing_intermediate.exe UNTRUSTED "$INT_CN"
row rogue_root.exe UNTRUSTED "$UNREL_CN"
row noeku.exe UNTRUSTED "$EKU_RE"
row rogue_nested_valid.exe UNTRUSTED "$UNREL_CN"
row appended_after_sig.exe MALFORMED "$AFTER_TABLE"
row stuffed_certtable.exe MALFORMED "$STUFFED"
row bad_certdir_size.exe MALFORMED
for n in junk_entry_x509.exe junk_entry_rev1.exe junk_entry_pkcs7.exe; do
    row "$n" MALFORMED 'covered by none'
done
for n in tamper_section.exe tamper_header.exe tamper_dos_stub.exe transplant_sig.exe; do
    row "$n" BAD_SIGNATURE "$IMAGE_HASH"
done
row tamper_sig.exe BAD_SIGNATURE
row truncated.exe MALFORMED
row truncated_headers.exe MALFORMED
row unsigned.exe NO_SIGNATURE

if ((have_tsa || have_legacy)); then
    group tsa "--trust root.pem --tsa-trust tsa-root.pem"
    row valid_ts.exe VALID
    row expired_ts.exe VALID
    row expired_nots.exe EXPIRED "$EXPIRED_RE"
    row valid_sha256.exe VALID
    row legacy_ts.exe VALID "$(ts_used 2024-01-01)"
    row expired_legacy_ts.exe VALID "$(ts_used 2020-06-01)"
    row legacy_ts_bad.exe VALID "$TS_BAD"
    row expired_legacy_ts_bad.exe EXPIRED "$EXPIRED_RE(?=.*$TS_BAD)"
fi

group untrusted "--trust root.pem --untrusted intermediate.pem"
row missing_intermediate.exe VALID
row valid_sha256.exe VALID
row rogue_root.exe UNTRUSTED "$UNREL_CN"

group require-all "--trust root.pem --require-all"
row nested_good.exe VALID
row nested_rogue.exe UNTRUSTED "$UNREL_CN"
row rogue_nested_valid.exe UNTRUSTED "$UNREL_CN"
row valid_sha256.exe VALID

group uefi "--trust root.pem --uefi"
row rogue_nested_valid.exe VALID
row nested_rogue.exe VALID
row nested_good.exe VALID
row two_wincert.exe VALID
row valid_sha256.exe VALID
row rogue_root.exe UNTRUSTED "$UNREL_CN"
row tamper_section.exe BAD_SIGNATURE "$IMAGE_HASH"
row uefi_gap.efi VALID "$UNCOVERED"
row uefi_gap_edited.efi VALID "$UNCOVERED"
row uefi_gap_tamper.efi BAD_SIGNATURE "$IMAGE_HASH"
row uefi_nogap.efi VALID

group lenient "--trust root.pem --lenient"
row appended_after_sig.exe VALID
row stuffed_certtable.exe VALID
for n in junk_entry_x509.exe junk_entry_rev1.exe junk_entry_pkcs7.exe; do
    row "$n" VALID 'warning: 1 certificate-table entry'
done
row valid_sha256.exe VALID
row bad_certdir_size.exe MALFORMED
row truncated.exe MALFORMED

# UEFI firmware's model: an intermediate as the anchor, validity dates ignored
group intermediate "--trust intermediate.pem"
row valid_sha256.exe UNTRUSTED 'not self-signed'
group partial "--trust intermediate.pem --partial-chain"
row valid_sha256.exe VALID
row missing_intermediate.exe VALID
row rogue_root.exe UNTRUSTED "$UNREL_CN"
group no-time "--trust root.pem --no-time-check"
row expired_nots.exe VALID
row valid_sha256.exe VALID
group firmware "--trust intermediate.pem --uefi --partial-chain --no-time-check"
row expired_nots.exe VALID
row uefi_gap.efi VALID "$UNCOVERED"
row rogue_nested_valid.exe VALID

group wrong-trust "--trust unrelated-root.pem"
row rogue_root.exe VALID
row valid_sha256.exe UNTRUSTED "$ROOT_CN"
row valid_dll.dll UNTRUSTED "$ROOT_CN"

printf 'made by corpus/pe.sh; may be deleted and regenerated\nstate=complete\n' \
    >"$out/$stamp_name"
printf 'pe.sh: %s: %d cases, %d files, %s (tsa=%d legacy=%d sbsign=%d pe32=%d)\n' "$out" \
    "$(grep -vc '^#' cases.tsv)" "$(find files -type f | wc -l)" "$oss_version" \
    "$have_tsa" "$have_legacy" "$have_sbsign" "$have32" >&2
