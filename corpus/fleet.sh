#!/usr/bin/env bash
# fleet.sh - an agent fleet with server-key copies for `sigsweep agents` (issue 4).
#
#   corpus/fleet.sh OUTDIR [--agents N] [--seed S]
# Needs bash, coreutils, the openssl CLI (3.0+) and python3 (stdlib). 10,000 agents in ~1 s.
#
# Writes (paths relative to OUTDIR; list.tsv paths are relative to OUTDIR too, so run
# `sigsweep agents --list list.tsv` with OUTDIR as the current directory)
#   server.key server.crt    the server: RSA-2048, self-signed "CN=sigsweep server",
#                            2020-01-01..2045-01-01 (PEM PKCS#8 key, PEM certificate)
#   old-server.key old-server.crt   an older server (RSA-2048, same subject, 2018..2028): the
#                            known key (`--known old-server.crt`) of half of the mismatches
#   unrelated.key unrelated.pub     a key nobody knows: the other half of the mismatches
#   command.txt              a server command; command.sig = `openssl dgst -sha256 -sign
#                            server.key`, command.p7s = `openssl cms -sign -binary -outform DER`
#                            (signer server.crt)
#   fleet/<agent>/OfcNTCer.dat   one directory per agent (N in all, --agents, default 10000)
#   outside/OfcNTCer.dat     a valid copy outside fleet/ that two symbolic links point to
#   prep/                    the prepared copies every agent file is a real copy of
#   expected.tsv             agent<TAB>verdict for every directory entry of fleet/
#   cases.tsv                agent<TAB>case (which prepared file / situation, see CASES below)
#   list.tsv                 agent<TAB>path for a few hundred agents (paths fleet/<agent>/...),
#                            plus "ghost-agent" whose path does not exist
#   list-expected.tsv        agent<TAB>verdict for list.tsv
#   fingerprints.tsv         name<TAB>SPKI SHA-256 (server, old-server, unrelated)
#   .sgs-fleet               stamp: OUTDIR was made here, so it may be wiped and regenerated
# Agent ids in expected.tsv, cases.tsv and list-expected.tsv are escaped: bytes outside
# printable ASCII and the backslash as \xHH (list.tsv holds the raw ids).
#
# Population (counts from N, at least one agent of every kind; which host-NNNNN id gets which
# case comes from --seed, default 1; keys and signatures are random, made once per run):
#   ~2% MISSING_FILE (half an empty directory, half other files but no OfcNTCer.dat),
#   ~1% KEY_MISMATCH (half the old server's key, half the unrelated one; mixed formats),
#   0.5% MALFORMED (garbage, empty, truncated DER, truncated PEM, two different keys in one PEM),
#   0.5% EXPIRED (a certificate of the server key valid 2020-01-01..2021-01-01),
#   3 PRIVATE_KEY_EXPOSED (PEM PKCS#8, traditional "RSA PRIVATE KEY" PEM, DER PKCS#8 EC key),
#   the rest VALID copies of the server key in mixed formats: DER SPKI, PEM SPKI, PEM and DER
#   certificate, PKCS#1 "RSA PUBLIC KEY" PEM, CRLF PEM certificate, certificate + SPKI of the
#   same key in one PEM, a 1 MiB (exactly 1048576 bytes) PEM padded with blank lines.
# Fixed special agents: a key-file symlink and an agent-directory symlink to outside/ (SKIPPED),
# a FIFO and a directory as the key file (SKIPPED), a file of 1 MiB + 1 byte (MALFORMED),
# a not-yet-valid certificate copy (2098..2099, NOT_YET_VALID), DSA, Ed448 and secp256k1 keys
# (UNSUPPORTED), and ids with a space, UTF-8, quotes, a backslash, a leading dash, shell and
# printf metacharacters and 200 characters (VALID, one KEY_MISMATCH).
set -euo pipefail
export LC_ALL=C
umask 022

stamp_name=.sgs-fleet
die() { printf 'fleet.sh: %s\n' "$*" >&2; exit 2; }
# shellcheck source=corpus/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
usage() { sed -n '2,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

agents=10000
seed=1
out=
while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --agents) (($# >= 2)) || die "--agents needs a value"; agents=$2; shift 2 ;;
        --agents=*) agents=${1#*=}; shift ;;
        --seed) (($# >= 2)) || die "--seed needs a value"; seed=$2; shift 2 ;;
        --seed=*) seed=${1#*=}; shift ;;
        -*) usage >&2; exit 2 ;;
        *) [[ -z $out ]] || { usage >&2; exit 2; }; out=$1; shift ;;
    esac
done
[[ -n $out ]] || { usage >&2; exit 2; }
if ! [[ $agents =~ ^[0-9]{1,9}$ ]] || ((10#$agents < 200 || 10#$agents > 10000000)); then
    die "--agents must be an integer from 200 to 10000000"
fi
[[ $seed =~ ^[0-9]{1,18}$ ]] || die "--seed must be a non-negative integer"
agents=$((10#$agents))
while [[ $out == */ && $out != / ]]; do out=${out%/}; done
[[ $out != / ]] || die "refusing to use / as OUTDIR"
command -v openssl >/dev/null || die "openssl not found"
command -v python3 >/dev/null || die "python3 not found"

# OUTDIR: create, or wipe one we made before; never touch anything else.
claim_outdir "$out" "$stamp_name" corpus/fleet.sh
cd -- "$out"
log=$out/openssl.log
: >"$log"

# Run openssl quietly; on failure show its output and stop.
ossl() {
    if ! openssl "$@" >>"$log" 2>&1; then
        printf 'fleet.sh: openssl %s failed:\n' "$*" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
}

mkdir -p ca prep outside

# selfsign NAME KEY CN START END -> OUT (PEM): a self-signed certificate with fixed dates.
selfsign() {
    local d=$out/ca/$1
    new_ca "$1" 1000
    printf '%s\n' '[ v3_server ]' 'basicConstraints = critical, CA:FALSE' \
        'keyUsage = critical, digitalSignature, keyEncipherment' \
        'extendedKeyUsage = serverAuth' 'subjectKeyIdentifier = hash' >"$d/ext.cnf"
    ossl req -new -key "$2" -subj "/CN=$3" -out "$d/req.csr"
    ossl ca -batch -config "$d/ca.cnf" -selfsign -keyfile "$2" -in "$d/req.csr" -out "$6" \
        -notext -preserveDN -md sha256 -extfile "$d/ext.cnf" -extensions v3_server \
        -startdate "$4" -enddate "$5"
}

# --- keys and certificates --------------------------------------------------------------------
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out server.key
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out old-server.key
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out unrelated.key
chmod 600 server.key old-server.key unrelated.key
selfsign server server.key "sigsweep server" 20200101000000Z 20450101000000Z server.crt
selfsign old-server old-server.key "sigsweep server" 20180101000000Z 20280101000000Z \
    old-server.crt
selfsign expired server.key "sigsweep server" 20200101000000Z 20210101000000Z prep/expired.pem
selfsign future server.key "sigsweep server" 20980101000000Z 20990101000000Z prep/future.pem
ossl pkey -in unrelated.key -pubout -out unrelated.pub

# Valid copies of the server key.
ossl x509 -in server.crt -pubkey -noout -out prep/spki.pem
ossl pkey -pubin -in prep/spki.pem -outform DER -out prep/spki.der
cp server.crt prep/cert.pem
ossl x509 -in server.crt -outform DER -out prep/cert.der
ossl rsa -pubin -in prep/spki.pem -RSAPublicKey_out -out prep/rsapub.pem
sed 's/$/\r/' prep/cert.pem >prep/cert-crlf.pem
cat prep/cert.pem prep/spki.pem >prep/cert+spki.pem
cp server.crt outside/OfcNTCer.dat

# Mismatches.
ossl x509 -in old-server.crt -pubkey -noout -out prep/old-spki.pem
ossl pkey -pubin -in prep/old-spki.pem -outform DER -out prep/old-spki.der
cp old-server.crt prep/old-cert.pem
ossl x509 -in old-server.crt -outform DER -out prep/old-cert.der
cp unrelated.pub prep/unrelated-spki.pem
ossl pkey -pubin -in unrelated.pub -outform DER -out prep/unrelated-spki.der

# Expired / not yet valid copies (certificates of the server key).
ossl x509 -in prep/expired.pem -outform DER -out prep/expired.der

# Malformed.
cat prep/spki.pem prep/unrelated-spki.pem >prep/two-keys.pem
: >prep/empty
# (garbage, truncated DER/PEM and the oversized files are cut by the python step below)

# Private keys.
ossl pkey -in server.key -out prep/leak-pkcs8.pem
ossl rsa -in server.key -traditional -out prep/leak-rsa.pem
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca/leak-ec.key
ossl pkey -in ca/leak-ec.key -outform DER -out prep/leak-ec.der

# Unsupported key types.
ossl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:1024 -out ca/dsa.param
ossl genpkey -paramfile ca/dsa.param -out ca/dsa.key
ossl pkey -in ca/dsa.key -pubout -out prep/dsa.pem
ossl genpkey -algorithm ED448 -out ca/ed448.key
ossl pkey -in ca/ed448.key -pubout -outform DER -out prep/ed448.der
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 \
    -pkeyopt ec_param_enc:named_curve -out ca/secp256k1.key
ossl pkey -in ca/secp256k1.key -pubout -out prep/secp256k1.pem

# The server's command, signed raw and as CMS.
printf 'sigsweep test command 1\nset policy.scan=full\nset log.upload=on\n' >command.txt
ossl dgst -sha256 -sign server.key -out command.sig command.txt
ossl cms -sign -binary -in command.txt -signer server.crt -inkey server.key -outform DER \
    -out command.p7s

# SPKI SHA-256 fingerprints (as `openssl pkey -pubin -outform DER | sha256sum`).
fp() { openssl pkey -pubin -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }
{
    printf 'server\t%s\n' "$(fp prep/spki.pem)"
    printf 'old-server\t%s\n' "$(fp prep/old-spki.pem)"
    printf 'unrelated\t%s\n' "$(fp unrelated.pub)"
} >fingerprints.tsv

# --- the fleet ----------------------------------------------------------------------------------
python3 - "$agents" "$seed" <<'PYEOF'
import os, random, sys

n, seed = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
KEY = "OfcNTCer.dat"
MiB = 1 << 20

prep = {}
for name in os.listdir("prep"):
    with open(os.path.join("prep", name), "rb") as f:
        prep[name] = f.read()
# Cut and padded variants (deterministic from the seed, apart from the key bytes).
prep["garbage"] = bytes(rng.getrandbits(8) for _ in range(777))
prep["truncated.der"] = prep["spki.der"][: len(prep["spki.der"]) // 2]
pem_lines = prep["cert.pem"].split(b"\n")
prep["truncated.pem"] = b"\n".join(pem_lines[: len(pem_lines) // 2]) + b"\n"
pad = prep["cert.pem"]
prep["exactly-1mib.pem"] = pad + b"\n" * (MiB - len(pad))
prep["over-1mib.pem"] = pad + b"\n" * (MiB + 1 - len(pad))
for name in ("garbage", "truncated.der", "truncated.pem"):
    with open(os.path.join("prep", name), "wb") as f:
        f.write(prep[name])

# case -> (verdict, prepared file or None)
CASES = {
    "valid-spki-der": ("VALID", "spki.der"),
    "valid-spki-pem": ("VALID", "spki.pem"),
    "valid-cert-pem": ("VALID", "cert.pem"),
    "valid-cert-der": ("VALID", "cert.der"),
    "valid-rsapub-pem": ("VALID", "rsapub.pem"),
    "valid-cert-crlf-pem": ("VALID", "cert-crlf.pem"),
    "valid-cert+spki-pem": ("VALID", "cert+spki.pem"),
    "valid-exactly-1mib": ("VALID", "exactly-1mib.pem"),
    "missing-empty-dir": ("MISSING_FILE", None),
    "missing-other-files": ("MISSING_FILE", None),
    "mismatch-old-spki-der": ("KEY_MISMATCH", "old-spki.der"),
    "mismatch-old-cert-pem": ("KEY_MISMATCH", "old-cert.pem"),
    "mismatch-old-cert-der": ("KEY_MISMATCH", "old-cert.der"),
    "mismatch-old-spki-pem": ("KEY_MISMATCH", "old-spki.pem"),
    "mismatch-unrelated-spki-der": ("KEY_MISMATCH", "unrelated-spki.der"),
    "mismatch-unrelated-spki-pem": ("KEY_MISMATCH", "unrelated-spki.pem"),
    "corrupt-garbage": ("MALFORMED", "garbage"),
    "corrupt-empty": ("MALFORMED", "empty"),
    "corrupt-truncated-der": ("MALFORMED", "truncated.der"),
    "corrupt-truncated-pem": ("MALFORMED", "truncated.pem"),
    "corrupt-two-keys": ("MALFORMED", "two-keys.pem"),
    "corrupt-too-large": ("MALFORMED", "over-1mib.pem"),
    "expired-pem": ("EXPIRED", "expired.pem"),
    "expired-der": ("EXPIRED", "expired.der"),
    "future-pem": ("NOT_YET_VALID", "future.pem"),
    "leak-pkcs8-pem": ("PRIVATE_KEY_EXPOSED", "leak-pkcs8.pem"),
    "leak-rsa-pem": ("PRIVATE_KEY_EXPOSED", "leak-rsa.pem"),
    "leak-ec-der": ("PRIVATE_KEY_EXPOSED", "leak-ec.der"),
    "unsupported-dsa": ("UNSUPPORTED", "dsa.pem"),
    "unsupported-ed448": ("UNSUPPORTED", "ed448.der"),
    "unsupported-secp256k1": ("UNSUPPORTED", "secp256k1.pem"),
    "symlink-file": ("SKIPPED", None),
    "symlink-dir": ("SKIPPED", None),
    "fifo": ("SKIPPED", None),
    "keyfile-is-dir": ("SKIPPED", None),
}

def cycle(names, count):
    return [names[i % len(names)] for i in range(count)]

# Fixed special agents (ids chosen to stress quoting and escaping).
special = [
    ("agent with space", "valid-cert-pem"),
    ("agent-\u00fcn\u00efcode-\u65e5\u672c", "valid-spki-der"),
    ('agent"double-quote', "valid-spki-pem"),
    ("agent'single-quote", "valid-cert-der"),
    ("agent\\backslash", "valid-spki-der"),
    ("-leading-dash", "valid-spki-der"),
    ("agent$(touch pwned);`id`", "valid-spki-der"),
    ("agent%s%n%x", "valid-spki-der"),
    ("agent,comma;semicolon", "valid-spki-der"),
    ("a" * 200, "valid-spki-der"),
    ("mismatch agent \u00e9", "mismatch-unrelated-spki-der"),
    ("symlink-file-agent", "symlink-file"),
    ("symlink-dir-agent", "symlink-dir"),
    ("fifo-agent", "fifo"),
    ("keyfile-is-dir-agent", "keyfile-is-dir"),
    ("too-large-agent", "corrupt-too-large"),
    ("exactly-1mib-agent", "valid-exactly-1mib"),
    ("not-yet-valid-agent", "future-pem"),
    ("dsa-agent", "unsupported-dsa"),
    ("ed448-agent", "unsupported-ed448"),
    ("secp256k1-agent", "unsupported-secp256k1"),
]
m = n - len(special)
counts = {  # at least one agent of every case of each kind, also for small fleets
    "missing": max(2, round(n * 0.02)),
    "mismatch": max(4, round(n * 0.01)),
    "corrupt": max(5, round(n * 0.005)),
    "expired": max(2, round(n * 0.005)),
}
pool = []
pool += cycle(["missing-empty-dir", "missing-other-files"], counts["missing"])
half = (counts["mismatch"] + 1) // 2
pool += cycle(["mismatch-old-spki-der", "mismatch-old-cert-pem", "mismatch-old-cert-der",
               "mismatch-old-spki-pem"], half)
pool += cycle(["mismatch-unrelated-spki-der", "mismatch-unrelated-spki-pem"],
              counts["mismatch"] - half)
pool += cycle(["corrupt-garbage", "corrupt-empty", "corrupt-truncated-der",
               "corrupt-truncated-pem", "corrupt-two-keys"], counts["corrupt"])
pool += cycle(["expired-pem", "expired-der"], counts["expired"])
pool += ["leak-pkcs8-pem", "leak-rsa-pem", "leak-ec-der"]
valid = ["valid-spki-der", "valid-spki-pem", "valid-cert-pem", "valid-cert-der",
         "valid-rsapub-pem", "valid-cert-crlf-pem", "valid-cert+spki-pem"]
# Mostly DER SPKI (what installers deploy), the other formats a few percent each.
weights = [70, 10, 8, 6, 2, 2, 2]
pool += rng.choices(valid, weights, k=m - len(pool))
rng.shuffle(pool)
width = max(5, len(str(m)))
agents = [("host-%0*d" % (width, i + 1), c) for i, c in enumerate(pool)] + special

def esc(s):
    return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else "\\x%02x" % b
                   for b in s.encode("utf-8"))

os.mkdir("fleet")
for agent, case in agents:
    verdict, src = CASES[case]
    d = os.path.join("fleet", agent)
    if case == "symlink-dir":
        os.symlink(os.path.join("..", "outside"), d)
        continue
    os.mkdir(d)
    p = os.path.join(d, KEY)
    if src is not None:
        with open(p, "wb") as f:          # a real copy, never a link
            f.write(prep[src])
    elif case == "missing-other-files":
        with open(os.path.join(d, "agent.log"), "wb") as f:
            f.write(b"2024-01-01 agent started\n")
        with open(os.path.join(d, KEY + ".old"), "wb") as f:
            f.write(prep["spki.der"])
    elif case == "symlink-file":
        os.symlink(os.path.join("..", "..", "outside", KEY), p)
    elif case == "fifo":
        os.mkfifo(p)
    elif case == "keyfile-is-dir":
        os.mkdir(p)

with open("expected.tsv", "w", encoding="ascii", newline="\n") as f:
    for agent, case in agents:
        f.write("%s\t%s\n" % (esc(agent), CASES[case][0]))
with open("cases.tsv", "w", encoding="ascii", newline="\n") as f:
    for agent, case in agents:
        f.write("%s\t%s\n" % (esc(agent), case))

# list.tsv: every special agent but the directory symlink (with --list there is no agent
# directory), one agent of every case, a sample of the rest, and a path that does not exist.
chosen, seen, special_ids = [], set(), {a for a, _ in special}
for agent, case in agents:
    if case == "symlink-dir":
        continue
    if agent in special_ids or case not in seen:
        chosen.append((agent, case))
        seen.add(case)
taken = set(chosen)
rest = [a for a in agents[:m] if a not in taken]
chosen += rng.sample(rest, min(len(rest), 300 - len(chosen)))
chosen.sort(key=lambda a: a[0].encode("utf-8"))
with open("list.tsv", "w", encoding="utf-8", newline="\n") as f, \
        open("list-expected.tsv", "w", encoding="ascii", newline="\n") as g:
    for agent, case in chosen:
        f.write("%s\t%s\n" % (agent, os.path.join("fleet", agent, KEY)))
        g.write("%s\t%s\n" % (esc(agent), CASES[case][0]))
    f.write("ghost-agent\tfleet/ghost-agent/%s\n" % KEY)
    g.write("ghost-agent\tMISSING_FILE\n")

total = {}
for agent, case in agents:
    total[CASES[case][0]] = total.get(CASES[case][0], 0) + 1
print("fleet.sh: %d agents (%s), %d in list.tsv" % (
    len(agents), ", ".join("%s %d" % kv for kv in sorted(total.items())), len(chosen) + 1))
PYEOF

printf 'made by corpus/fleet.sh; may be deleted and regenerated\nstate=complete\n' \
    >"$out/$stamp_name"
printf 'agents=%s\nseed=%s\n' "$agents" "$seed" >>"$out/$stamp_name"
