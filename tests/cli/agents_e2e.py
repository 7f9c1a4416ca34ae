#!/usr/bin/env python3
"""End-to-end check of `sigsweep agents`, `keygen` and `export-agent-key` (issue 4).

usage: agents_e2e.py --sigsweep BIN --fleet corpus/fleet.sh --outdir DIR [--agents N] [--reuse]

Runs `bash fleet.sh DIR --agents N` (default 2000: a fleet, its server and old-server keys, a
signed command and DIR/expected.tsv + cases.tsv), then, in DIR, `sigsweep agents` and asserts:
  - `--server-cert server.crt --known old-server.crt --format jsonl fleet`: exit 1; one record
    per agent directory with agent, path, verdict, reason, key_fp, alg, digest, size, chain
    (the fingerprint once: key_fp, no signer); every verdict as expected.tsv; reasons per case (VALID "matches the server",
    MISSING_FILE "no key file", KEY_MISMATCH both fingerprints and "matches known key
    old-server.crt" / "matches no known server key", MALFORMED "empty" / "larger than" /
    "different keys", EXPIRED / NOT_YET_VALID the date, PRIVATE_KEY_EXPOSED "private key",
    symlinks "symbolic link"); key_fp = the server's SPKI SHA-256 (computed with the openssl
    CLI) for VALID and certificate copies, the other key's for mismatches, "" without a key;
  - text: one `AGENT: VERDICT (reason)` line per agent, the summary line "N of M agents do
    not have a valid server certificate" with counts per verdict after it; -q: only the lines of
    agents not VALID (and the summary), --status: nothing;
    csv and --output give the same verdicts; -j 1 and -j 2 the same records;
  - --command/--command-sig with the raw and the CMS signature: VALID agents "accept the
    server's command", mismatched ones "would reject" it; a tampered command, or a signature
    checked with the wrong --hash/--pss: exit 2, "does not verify with the server key", no
    agent judged;
  - --list (list.tsv, with a path that does not exist), --list together with FLEET_DIR,
    --key-file, a public key as --server-cert, usage errors (exit 2);
  - keygen for every --type (files, modes, key type, subject, 10-year validity, the agent
    copy = the certificate's SPKI, refusal to overwrite, a fleet of the copy is VALID, exit 0,
    accepting a command signed by the openssl CLI with the new key) and export-agent-key
    (DER and PEM = `openssl x509 -pubkey` output, refusal to overwrite).
--reuse skips fleet.sh when DIR/expected.tsv exists. Exit status 0 when everything holds,
1 otherwise (each failure is printed), 77 (skip) when the openssl CLI is missing.
"""
import argparse
import csv
import datetime
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

from sgs_cli import run_checked, status_checked

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgs_cli  # noqa: E402

REQUIRED = ("agent", "path", "verdict", "reason", "key_fp", "alg", "digest", "size", "chain")
VERDICTS = {
    "VALID", "BAD_SIGNATURE", "MISSING_FILE", "KEY_MISMATCH", "MALFORMED", "EXPIRED",
    "NOT_YET_VALID", "UNSUPPORTED", "PRIVATE_KEY_EXPOSED", "SKIPPED", "IO_ERROR",
}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
SUMMARY = re.compile(r"^(\d+) of (\d+) agents do not have a valid server certificate$")
MAX_FAILURES_SHOWN = 80
KEYGEN_TYPES = {  # type -> substrings of `openssl x509 -noout -text`
    "rsa2048": ("rsaEncryption", "(2048 bit)"),
    "rsa3072": ("rsaEncryption", "(3072 bit)"),
    "ec-p256": ("id-ecPublicKey", "prime256v1"),
    "ed25519": ("ED25519",),
}


def read_tsv(path):
    out = {}
    with open(path, encoding="ascii") as f:
        for line in f:
            k, v = line.rstrip("\n").split("\t")
            out[k] = v
    return out


def openssl(*args, data=None):
    p = subprocess.run(("openssl",) + args, input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=False)
    if p.returncode != 0:
        raise SystemExit("openssl %s failed: %s"
                         % (" ".join(args), p.stderr.decode(errors="replace")))
    return p.stdout


def cert_spki_der(cert):
    """`openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER` (cert PEM or DER)."""
    form = "DER" if open(cert, "rb").read(1) == b"\x30" else "PEM"
    pem = openssl("x509", "-inform", form, "-in", cert, "-pubkey", "-noout")
    return openssl("pkey", "-pubin", "-outform", "DER", data=pem)


def fp_of_cert(cert):
    return hashlib.sha256(cert_spki_der(cert)).hexdigest()


def fp_of_pub(pub):
    return hashlib.sha256(openssl("pkey", "-pubin", "-in", pub, "-outform", "DER")).hexdigest()


class Runner:
    def __init__(self, sigsweep, cwd, ck):
        self.bin = sigsweep
        self.cwd = cwd
        self.ck = ck

    def __call__(self, *args, label=None):
        cmd = [self.bin] + list(args)
        text = "(cd %s && %s)" % (shlex.quote(self.cwd), " ".join(shlex.quote(a) for a in cmd))
        return run_checked(self.ck, cmd, self.cwd, text, env=None)

    def status(self, want, *args):
        return status_checked(self.ck, want, self(*args))


def parse_jsonl(text, stdout, ck):
    """-> {escaped agent: record}; checks the record shape and that agents are unique."""
    recs = {}
    for n, line in enumerate(stdout.split(b"\n"), 1):
        if not line:
            continue
        try:
            r = json.loads(line)
        except ValueError as e:
            ck.check(False, "%s: stdout line %d is not JSON (%s): %r" % (text, n, e, line[:200]))
            continue
        if isinstance(r, dict) and "type" in r:
            continue  # the run record and run_end: not an agent's record
        if not ck.check(isinstance(r, dict) and all(k in r for k in REQUIRED),
                        "%s: record lacks keys %s: %r"
                        % (text, [k for k in REQUIRED if k not in r], line[:300])):
            continue
        agent = sgs_cli.esc(bytes.fromhex(r["agent_hex"])) if "agent_hex" in r else sgs_cli.esc(r["agent"])
        ck.check(agent not in recs, "%s: agent %s reported twice" % (text, agent))
        ck.check(r["verdict"] in VERDICTS,
                 "%s: %s: unknown verdict %r" % (text, agent, r["verdict"]))
        ck.check(isinstance(r["reason"], str) and r["reason"] != "",
                 "%s: %s: empty reason" % (text, agent))
        ck.check(r["key_fp"] == "" or HEX64.match(r["key_fp"] or "x") is not None,
                 "%s: %s: key_fp %r is neither \"\" nor 64 hex" % (text, agent, r["key_fp"]))
        recs[agent] = r
    return recs


def check_verdicts(text, recs, expected, ck):
    missing = [a for a in expected if a not in recs]
    extra = [a for a in recs if a not in expected]
    ck.check(not missing, "%s: no record for %d agents, e.g. %s"
             % (text, len(missing), missing[:5]))
    ck.check(not extra, "%s: records for %d unknown agents, e.g. %s"
             % (text, len(extra), extra[:5]))
    for a, want in expected.items():
        r = recs.get(a)
        if r is not None:
            ck.check(r["verdict"] == want, "%s: %s: %s (%s), want %s"
                     % (text, a, r["verdict"], r["reason"], want))


def has(r, sub):
    return sub in r["reason"]


def check_case(text, a, case, r, fps, ck):
    """Reason and key_fp of one agent of the fleet, by its case (cases.tsv)."""
    v, reason, kfp = r["verdict"], r["reason"], r["key_fp"]
    where = "%s: %s [%s] %s (%s) key_fp=%r" % (text, a, case, v, reason, kfp)
    server = fps["server"]

    def need(sub):
        ck.check(sub in reason, "%s: reason lacks %r" % (where, sub))

    if case.startswith("valid-"):
        need("matches the server")
        ck.check(kfp == server, "%s: key_fp is not the server's %s" % (where, server))
    elif case.startswith("missing-"):
        need("no key file")
        ck.check(kfp == "", "%s: key_fp should be empty" % where)
    elif case.startswith("mismatch-"):
        other = fps["old-server"] if "-old-" in case else fps["unrelated"]
        need("key " + other)
        need("server " + server)
        if "-old-" in case:
            need("matches known key old-server.crt")
        else:
            need("matches no known server key")
        ck.check(kfp == other, "%s: key_fp is not the agent's key %s" % (where, other))
    elif case.startswith("corrupt-"):
        sub = {"corrupt-empty": "empty", "corrupt-too-large": "larger than",
               "corrupt-two-keys": "different keys"}.get(case)
        if sub:
            need(sub)
        if case != "corrupt-two-keys":
            ck.check(kfp == "", "%s: key_fp should be empty" % where)
    elif case.startswith("expired-"):
        need("2021-01-01")
        ck.check(kfp == server, "%s: key_fp is not the server's %s" % (where, server))
    elif case == "future-pem":
        need("2098-01-01")
        ck.check(kfp == server, "%s: key_fp is not the server's %s" % (where, server))
    elif case.startswith("leak-"):
        need("private key")
    elif case.startswith("symlink-"):
        need("symbolic link")
        ck.check(kfp == "", "%s: key_fp should be empty (link not followed)" % where)
    elif case in ("fifo", "keyfile-is-dir"):
        ck.check(kfp == "", "%s: key_fp should be empty" % where)


def agents_by_verdict(expected, verdicts):
    return [a for a, v in expected.items() if v in verdicts]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sigsweep", required=True)
    ap.add_argument("--fleet", required=True, help="corpus/fleet.sh")
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--agents", type=int, default=2000)
    ap.add_argument("--reuse", action="store_true")
    opt = ap.parse_args()
    if shutil.which("openssl") is None:
        print("agents_e2e: openssl CLI not found: skipped")
        return 77
    sigsweep = os.path.abspath(opt.sigsweep)
    out = os.path.abspath(opt.outdir)
    if not (opt.reuse and os.path.exists(os.path.join(out, "expected.tsv"))):
        p = subprocess.run(["bash", opt.fleet, out, "--agents", str(opt.agents)], check=False)
        if p.returncode != 0:
            print("agents_e2e: fleet.sh failed (exit %d)" % p.returncode)
            return 1
    work = os.path.join(out, "work")  # scratch of this test, inside fleet.sh's stamped dir
    shutil.rmtree(work, ignore_errors=True)
    os.mkdir(work)

    ck = sgs_cli.Checker()
    run = Runner(sigsweep, out, ck)
    expected = read_tsv(os.path.join(out, "expected.tsv"))
    cases = read_tsv(os.path.join(out, "cases.tsv"))
    list_expected = read_tsv(os.path.join(out, "list-expected.tsv"))
    fps = {
        "server": fp_of_cert(os.path.join(out, "server.crt")),
        "old-server": fp_of_cert(os.path.join(out, "old-server.crt")),
        "unrelated": fp_of_pub(os.path.join(out, "unrelated.pub")),
    }
    ck.check(fps == read_tsv(os.path.join(out, "fingerprints.tsv")),
             "fleet.sh fingerprints.tsv disagrees with the openssl CLI: %r" % fps)
    m = len(expected)
    counts = {}
    for v in expected.values():
        counts[v] = counts.get(v, 0) + 1
    base = ["agents", "--server-cert", "server.crt", "--known", "old-server.crt"]

    # 1. The whole fleet, JSON Lines.
    rc, so, se, text = run.status(1, *base, "--format", "jsonl", "fleet")
    main_recs = parse_jsonl(text, so, ck)
    check_verdicts(text, main_recs, expected, ck)
    for a, r in main_recs.items():
        if a in cases and r["verdict"] == expected[a]:
            check_case(text, a, cases[a], r, fps, ck)
            if "\\x" not in a:
                ck.check(a in r["path"], "%s: %s: path %r does not name the agent"
                         % (text, a, r["path"]))

    # 2. Text: lines, summary and counts; -q.
    rc, so, se, text = run.status(1, *base, "--format", "text", "fleet")
    lines = so.decode("utf-8", "replace").splitlines()
    ck.check(len(lines) == m, "%s: %d stdout lines, want %d" % (text, len(lines), m))
    line_set = set(lines)
    plain = [a for a in expected if "\\x" not in a and ":" not in a][:400]
    for a in plain:
        r = main_recs.get(a)
        if r is None:
            continue
        line = "%s: %s (%s)" % (a, r["verdict"], r["reason"])
        ck.check(line in line_set, "%s: no line %r" % (text, line[:200]))
    err_lines = se.decode("utf-8", "replace").splitlines()
    idx = [i for i, l in enumerate(err_lines) if SUMMARY.match(l.strip())]
    if ck.check(len(idx) == 1, "%s: want one summary line 'N of M agents do not have a valid "
                               "server certificate' on stderr, got: %r" % (text, err_lines[-15:])):
        i = idx[0]
        nm = SUMMARY.match(err_lines[i].strip())
        bad = m - counts.get("VALID", 0)
        ck.check((int(nm.group(1)), int(nm.group(2))) == (bad, m),
                 "%s: summary %r, want '%d of %d ...'" % (text, err_lines[i], bad, m))
        after = err_lines[i + 1:]
        for v, c in sorted(counts.items()):
            pat = re.compile(r"(\b%s\b.*\b%d\b)|(\b%d\b.*\b%s\b)" % (v, c, c, v))
            ck.check(any(pat.search(l) for l in after),
                     "%s: no count line for %s %d after the summary: %r" % (text, v, c, after))
    # -q as sha256sum -c --quiet: a line for each agent that is not VALID only; the summary
    # stays (some agent is not VALID); --status: nothing at all
    rc, so, se, text = run.status(1, *base, "-q", "fleet")
    ck.check(any(SUMMARY.match(l.strip()) for l in se.decode(errors="replace").splitlines()),
             "%s: -q with agents not VALID: no summary: %r" % (text, se[-300:]))
    ck.check(len(so.splitlines()) == m - counts.get("VALID", 0) and b": VALID (" not in so,
             "%s: -q: %d stdout lines, want %d (no VALID one)"
             % (text, len(so.splitlines()), m - counts.get("VALID", 0)))
    rc, so, se, text = run.status(1, *base, "--status", "fleet")
    ck.check(so == b"" and se == b"", "%s: output %r %r" % (text, so[:200], se[:200]))

    # 3. CSV, --output, -j 1 / -j 2.
    rc, so, se, text = run.status(1, *base, "--format", "csv", "fleet")
    rows = list(csv.DictReader(io.StringIO(so.decode("utf-8", "replace"))))
    if ck.check(rows and "agent" in rows[0] and "verdict" in rows[0],
                "%s: no header with agent and verdict: %r" % (text, so[:200])):
        ck.check(len(rows) == m, "%s: %d rows, want %d" % (text, len(rows), m))
        got = {sgs_cli.esc(r["agent"]): r["verdict"] for r in rows}
        for a in plain:
            ck.check(got.get(a) == expected[a], "%s: %s: %r, want %s"
                     % (text, a, got.get(a), expected[a]))
    outfile = os.path.join(work, "report.jsonl")
    rc, so, se, text = run.status(1, *base, "--format", "jsonl", "--output", outfile, "fleet")
    ck.check(so == b"", "%s: stdout not empty with --output" % text)
    if ck.check(os.path.exists(outfile), "%s: no %s" % (text, outfile)):
        with open(outfile, "rb") as f:
            recs = parse_jsonl(text, f.read(), ck)
        check_verdicts(text + " (--output)", recs, expected, ck)

    def key(recs):
        return {a: (r["verdict"], r["reason"], r["key_fp"]) for a, r in recs.items()}

    j = {}
    for n in ("1", "2"):
        rc, so, se, text = run.status(1, *base, "--format", "jsonl", "-j", n, "fleet")
        j[n] = key(parse_jsonl(text, so, ck))
    diff = [a for a in set(j["1"]) | set(j["2"]) if j["1"].get(a) != j["2"].get(a)]
    ck.check(not diff, "-j 1 and -j 2 differ for %d agents, e.g. %s" % (len(diff), diff[:3]))
    diff = [a for a in j["2"] if j["2"][a] != key(main_recs).get(a)]
    ck.check(not diff, "-j 2 and the default -j differ for %d agents, e.g. %s"
             % (len(diff), diff[:3]))

    # 4. The server's command: raw and CMS signatures, tampered command.
    tampered = os.path.join(work, "command-tampered.txt")
    with open(os.path.join(out, "command.txt"), "rb") as f:
        cmdb = bytearray(f.read())
    cmdb[5] ^= 0x01
    with open(tampered, "wb") as f:
        f.write(cmdb)
    for sig in ("command.sig", "command.p7s"):
        rc, so, se, text = run.status(1, *base, "--format", "jsonl", "--command", "command.txt",
                                      "--command-sig", sig, "fleet")
        recs = parse_jsonl(text, so, ck)
        check_verdicts(text, recs, expected, ck)
        for a, r in recs.items():
            if r["verdict"] == "VALID":
                ck.check(has(r, "accepts the server's command") and has(r, "matches the server"),
                         "%s: %s: VALID reason %r lacks \"accepts the server's command\"/"
                         "\"matches the server\"" % (text, a, r["reason"]))
                ck.check(r["key_fp"] == fps["server"], "%s: %s: key_fp %r" % (text, a, r["key_fp"]))
            elif r["verdict"] == "KEY_MISMATCH":
                ck.check(has(r, "would reject the server's command"),
                         "%s: %s: KEY_MISMATCH reason %r lacks \"would reject the server's "
                         "command\"" % (text, a, r["reason"]))
                if a in cases:
                    check_case(text, a, cases[a], r, fps, ck)

        # a command its signature does not cover: the command's fault, said before any agent
        # is judged (exit 2, no records), not BAD_SIGNATURE on every agent holding the key
        rc, so, se, text = run.status(2, *base, "--format", "jsonl", "--command", tampered,
                                      "--command-sig", sig, "fleet")
        ck.check(so == b"" and b"does not verify with the server key" in se
                 and b"no agent judged" in se,
                 "%s: want no records and the command's fault on stderr: %r / %r"
                 % (text, so[:200], se[-400:]))

    # 5. --list (paths relative to the current directory), --list with FLEET_DIR, --key-file,
    #    a public key as --server-cert.
    rc, so, se, text = run.status(1, *base, "--format", "jsonl", "--list", "list.tsv")
    recs = parse_jsonl(text, so, ck)
    check_verdicts(text, recs, list_expected, ck)
    ck.check(recs.get("ghost-agent", {}).get("reason", "").find("no key file") >= 0,
             "%s: ghost-agent reason %r lacks 'no key file'"
             % (text, recs.get("ghost-agent", {}).get("reason")))
    for a, r in recs.items():
        if a in cases and r["verdict"] == list_expected.get(a):
            check_case(text, a, cases[a], r, fps, ck)
    extra_list = os.path.join(work, "extra.tsv")
    with open(extra_list, "w") as f:
        f.write("extra-valid\tprep/spki.pem\nextra-missing\twork/nowhere/OfcNTCer.dat\n")
    rc, so, se, text = run.status(1, *base, "--format", "jsonl", "--list", extra_list, "fleet")
    recs = parse_jsonl(text, so, ck)
    both = dict(expected, **{"extra-valid": "VALID", "extra-missing": "MISSING_FILE"})
    check_verdicts(text, recs, both, ck)
    ck.check(recs.get("extra-valid", {}).get("path", "").endswith("prep/spki.pem"),
             "%s: extra-valid path %r" % (text, recs.get("extra-valid", {}).get("path")))

    # the server's key given as a DER public key instead of the certificate
    rc, so, se, text = run.status(1, "agents", "--server-cert", "prep/spki.der", "--known",
                                  "old-server.crt", "--format", "jsonl", "--list", "list.tsv")
    check_verdicts(text, parse_jsonl(text, so, ck), list_expected, ck)

    # --at: in mid-2020 the expired copies were valid; the not-yet-valid one is valid in 2098
    # only for its own dates, so it stays NOT_YET_VALID in 2020.
    for at, fix in (("2020-06-01T00:00:00Z", "EXPIRED"), ("@1591000000", "EXPIRED")):
        rc, so, se, text = run.status(1, *base, "--format", "jsonl", "--at", at, "--list",
                                      "list.tsv")
        want = {a: ("VALID" if v == fix else v) for a, v in list_expected.items()}
        check_verdicts(text, parse_jsonl(text, so, ck), want, ck)

    # --hash sha512 and --pss: commands signed by the openssl CLI that way
    sigs = {
        "sha512": (["-sha512"], ["--hash", "sha512"]),
        "pss": (["-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"],
                ["--pss"]),
    }
    for name, (dgst, opts) in sigs.items():
        sig = os.path.join(work, "command-%s.sig" % name)
        openssl("dgst", *dgst, "-sign", os.path.join(out, "server.key"), "-out", sig,
                os.path.join(out, "command.txt"))
        rc, so, se, text = run.status(1, *base, "--format", "jsonl", "--command", "command.txt",
                                      "--command-sig", sig, *opts, "--list", "list.tsv")
        recs = parse_jsonl(text, so, ck)
        check_verdicts(text, recs, list_expected, ck)
        for a, r in recs.items():
            if r["verdict"] == "VALID":
                ck.check(has(r, "accepts the server's command"),
                         "%s: %s: reason %r lacks \"accepts the server's command\""
                         % (text, a, r["reason"]))
        # the same signature without the option does not verify with the server key: the
        # command's fault (exit 2, no agent judged)
        rc, so, se, text = run.status(2, *base, "--format", "jsonl", "--command", "command.txt",
                                      "--command-sig", sig, "--list", "list.tsv")
        ck.check(so == b"" and b"does not verify with the server key" in se,
                 "%s: want the command's fault, no records: %r / %r" % (text, so[:200], se[-300:]))

    # EC P-384 and P-521 servers (made by the openssl CLI): DER and PEM copies VALID
    for curve, hname in (("P-384", "sha384"), ("P-521", "sha512")):
        d = os.path.join(work, "ec-" + curve)
        os.makedirs(d)
        key, crt = os.path.join(d, "server.key"), os.path.join(d, "server.crt")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:" + curve,
                "-nodes", "-keyout", key, "-out", crt, "-subj", "/CN=ec server", "-days", "3650")
        sig = os.path.join(d, "command.sig")
        openssl("dgst", "-" + hname, "-sign", key, "-out", sig, os.path.join(out, "command.txt"))
        fl = os.path.join(d, "fleet")
        spki = cert_spki_der(crt)
        for a, data in (("der", spki), ("pem", open(crt, "rb").read())):
            os.makedirs(os.path.join(fl, a))
            with open(os.path.join(fl, a, "OfcNTCer.dat"), "wb") as f:
                f.write(data)
        rc, so, se, text = run.status(0, "agents", "--server-cert", crt, "--format", "jsonl",
                                      "--command", "command.txt", "--command-sig", sig,
                                      "--hash", hname, fl)
        recs = parse_jsonl(text, so, ck)
        check_verdicts(text, recs, {"der": "VALID", "pem": "VALID"}, ck)
        fp = hashlib.sha256(spki).hexdigest()
        for a, r in recs.items():
            ck.check(r["key_fp"] == fp and has(r, "accepts the server's command"),
                     "%s: %s: key_fp %r reason %r" % (text, a, r["key_fp"], r["reason"]))

    kf = os.path.join(work, "keyfile-fleet")
    with open(os.path.join(out, "prep", "spki.der"), "rb") as f:
        spki_der = f.read()
    for a, name in (("kf-1", "agent.pub"), ("kf-2", "agent.pub"), ("kf-3", "OfcNTCer.dat")):
        os.makedirs(os.path.join(kf, a))
        with open(os.path.join(kf, a, name), "wb") as f:
            f.write(spki_der)
    rc, so, se, text = run.status(1, "agents", "--server-cert", "server.crt", "--key-file",
                                  "agent.pub", "--format", "jsonl", kf)
    check_verdicts(text, parse_jsonl(text, so, ck),
                   {"kf-1": "VALID", "kf-2": "VALID", "kf-3": "MISSING_FILE"}, ck)
    shutil.rmtree(os.path.join(kf, "kf-3"))
    rc, so, se, text = run.status(0, "agents", "--server-cert", "server.crt", "--key-file",
                                  "agent.pub", "--format", "jsonl", kf)
    check_verdicts(text, parse_jsonl(text, so, ck), {"kf-1": "VALID", "kf-2": "VALID"}, ck)

    if os.geteuid() != 0:  # root reads mode-000 files: IO_ERROR is only testable unprivileged
        io_fleet = os.path.join(work, "io-fleet")
        os.makedirs(os.path.join(io_fleet, "io-agent"))
        p = os.path.join(io_fleet, "io-agent", "OfcNTCer.dat")
        with open(p, "wb") as f:
            f.write(spki_der)
        os.chmod(p, 0)
        rc, so, se, text = run.status(1, "agents", "--server-cert", "server.crt", "--format",
                                      "jsonl", io_fleet)
        check_verdicts(text, parse_jsonl(text, so, ck), {"io-agent": "IO_ERROR"}, ck)
        os.chmod(p, 0o644)

    # 6. Usage and fatal errors: exit 2.
    for args in (
        ["agents", "fleet"],                                            # no --server-cert
        ["agents", "--server-cert", "work/nonexistent.crt", "fleet"],
        ["agents", "--server-cert", "prep/garbage", "fleet"],
        ["agents", "--server-cert", "prep/empty", "fleet"],
        ["agents", "--server-cert", "server.key", "fleet"],             # a private key
        ["agents", "--server-cert", "server.crt", "--list", "work/nonexistent.tsv"],
        ["agents", "--server-cert", "server.crt", "--known", "work/nonexistent.crt", "fleet"],
        ["agents", "--server-cert", "server.crt", "--command", "command.txt", "fleet"],
        ["agents", "--server-cert", "server.crt", "--command-sig", "command.sig", "fleet"],
        ["agents", "--server-cert", "server.crt", "--format", "xml", "fleet"],
    ):
        rc, so, se, text = run.status(2, *args)
        ck.check(so == b"", "%s: stdout not empty on a usage error: %r" % (text, so[:200]))
        ck.check(se != b"", "%s: nothing on stderr on a usage error" % text)

    # 7. keygen: every type; the agent copy; a fleet deploying it; commands signed by openssl.
    msg = os.path.join(work, "kg-command.txt")
    with open(msg, "wb") as f:
        f.write(b"keygen test command\n")
    now = datetime.datetime.now(datetime.timezone.utc)
    for t, marks in KEYGEN_TYPES.items():
        d = os.path.join(work, "kg-" + t)
        rc, so, se, text = run.status(0, "keygen", "--type", t, "--out", d)
        files = {n: os.path.join(d, n) for n in ("server.key", "server.crt", "OfcNTCer.dat")}
        if not ck.check(all(os.path.isfile(p) for p in files.values()),
                        "%s: missing output files: %r"
                        % (text, os.listdir(d) if os.path.isdir(d) else d)):
            continue
        mode = os.stat(files["server.key"]).st_mode & 0o777
        ck.check(mode == 0o600, "%s: server.key mode %o, want 600" % (text, mode))
        with open(files["server.key"], "rb") as f:
            ck.check(f.read().startswith(b"-----BEGIN PRIVATE KEY-----\n"),
                     "%s: server.key is not PEM PKCS#8" % text)
        with open(files["server.crt"], "rb") as f:
            ck.check(f.read().startswith(b"-----BEGIN CERTIFICATE-----\n"),
                     "%s: server.crt is not a PEM certificate" % text)
        info = openssl("x509", "-in", files["server.crt"], "-noout", "-text").decode()
        for s in marks:
            ck.check(s in info, "%s: certificate text lacks %r" % (text, s))
        subj = openssl("x509", "-in", files["server.crt"], "-noout", "-subject", "-issuer",
                       "-nameopt", "RFC2253").decode().split("\n")
        ok = (len(subj) >= 2 and subj[0].startswith("subject=") and subj[1].startswith("issuer=")
              and "CN=sigsweep server" in subj[0][8:].split(",")
              and subj[0][8:] == subj[1][7:])
        ck.check(ok, "%s: subject/issuer %r, want CN=sigsweep server, self-issued" % (text, subj))
        dates = openssl("x509", "-in", files["server.crt"], "-noout", "-startdate", "-enddate",
                        "-dateopt", "iso_8601").decode().split("\n")
        try:
            nb = datetime.datetime.strptime(dates[0].split("=", 1)[1], "%Y-%m-%d %H:%M:%SZ")
            na = datetime.datetime.strptime(dates[1].split("=", 1)[1], "%Y-%m-%d %H:%M:%SZ")
            nb, na = (x.replace(tzinfo=datetime.timezone.utc) for x in (nb, na))
            days = (na - nb).days
            ck.check(3649 <= days <= 3654, "%s: validity %s..%s is %d days, want 10 years"
                     % (text, nb, na, days))
            ck.check(abs((now - nb).total_seconds()) < 2 * 86400,
                     "%s: notBefore %s is not about now" % (text, nb))
        except (IndexError, ValueError) as e:
            ck.check(False, "%s: cannot read the dates %r: %s" % (text, dates, e))
        spki = cert_spki_der(files["server.crt"])
        with open(files["OfcNTCer.dat"], "rb") as f:
            agent_copy = f.read()
        ck.check(agent_copy == spki, "%s: OfcNTCer.dat is not the certificate's DER SPKI" % text)
        ck.check(openssl("pkey", "-in", files["server.key"], "-pubout", "-outform", "DER") == spki,
                 "%s: server.key does not belong to server.crt" % text)

        # refuses to overwrite; the files stay as they were
        before = {n: open(p, "rb").read() for n, p in files.items()}
        rc, so, se, text2 = run.status(2, "keygen", "--type", t, "--out", d)
        ck.check(before == {n: open(p, "rb").read() for n, p in files.items()},
                 "%s: files changed by a refused keygen" % text2)

        # a fleet deploying the copy: VALID, exit 0; a command signed with the new key
        fl = os.path.join(work, "kg-fleet-" + t)
        for a in ("agent-a", "agent-b"):
            os.makedirs(os.path.join(fl, a))
            with open(os.path.join(fl, a, "OfcNTCer.dat"), "wb") as f:
                f.write(agent_copy)
        sig = os.path.join(work, "kg-command-%s.sig" % t)
        if t == "ed25519":
            openssl("pkeyutl", "-sign", "-rawin", "-inkey", files["server.key"], "-in", msg,
                    "-out", sig)
        else:
            openssl("dgst", "-sha256", "-sign", files["server.key"], "-out", sig, msg)
        rc, so, se, text = run.status(0, "agents", "--server-cert", files["server.crt"],
                                      "--format", "jsonl", "--command", msg, "--command-sig",
                                      sig, fl)
        recs = parse_jsonl(text, so, ck)
        check_verdicts(text, recs, {"agent-a": "VALID", "agent-b": "VALID"}, ck)
        fp = hashlib.sha256(spki).hexdigest()
        for a, r in recs.items():
            ck.check(r["key_fp"] == fp, "%s: %s: key_fp %r, want %s" % (text, a, r["key_fp"], fp))
            ck.check(has(r, "accepts the server's command"),
                     "%s: %s: reason %r lacks \"accepts the server's command\""
                     % (text, a, r["reason"]))
        # the same fleet against the fleet.sh server: mismatch naming no known key, exit 1
        rc, so, se, text = run.status(1, "agents", "--server-cert", "server.crt", "--format",
                                      "jsonl", fl)
        for a, r in parse_jsonl(text, so, ck).items():
            ck.check(r["verdict"] == "KEY_MISMATCH" and has(r, "key " + fp)
                     and has(r, "matches no known server key"),
                     "%s: %s: %s (%s), want KEY_MISMATCH naming key %s"
                     % (text, a, r["verdict"], r["reason"], fp))

    for args in (["keygen", "--type", "dsa1024", "--out", os.path.join(work, "kg-bad")],
                 ["keygen", "--type", "rsa2048"]):
        run.status(2, *args)
    pre = os.path.join(work, "kg-preexisting")
    os.mkdir(pre)
    with open(os.path.join(pre, "OfcNTCer.dat"), "wb") as f:
        f.write(b"keep me")
    rc, so, se, text = run.status(2, "keygen", "--type", "ec-p256", "--out", pre)
    with open(os.path.join(pre, "OfcNTCer.dat"), "rb") as f:
        ck.check(f.read() == b"keep me", "%s: overwrote an existing OfcNTCer.dat" % text)

    # 8. export-agent-key: DER (default, --der) and PEM = openssl's; DER certificate input.
    spki = cert_spki_der(os.path.join(out, "server.crt"))
    pem = openssl("x509", "-in", os.path.join(out, "server.crt"), "-pubkey", "-noout")
    for name, args, want in (
        ("exp-default.dat", ["--server-cert", "server.crt"], spki),
        ("exp-der.dat", ["--server-cert", "server.crt", "--der"], spki),
        ("exp-pem.pem", ["--server-cert", "server.crt", "--pem"], pem),
        ("exp-from-der.dat", ["--server-cert", "prep/cert.der"], spki),
        ("exp-kg-ed25519.dat", ["--server-cert", "work/kg-ed25519/server.crt"],
         cert_spki_der(os.path.join(work, "kg-ed25519", "server.crt"))
         if os.path.exists(os.path.join(work, "kg-ed25519", "server.crt")) else None),
    ):
        if want is None:
            continue
        dst = os.path.join("work", name)
        rc, so, se, text = run.status(0, "export-agent-key", *args, "--out", dst)
        p = os.path.join(out, dst)
        if ck.check(os.path.isfile(p), "%s: no %s" % (text, dst)):
            with open(p, "rb") as f:
                got = f.read()
            ck.check(got == want, "%s: %s differs from openssl's output (%d vs %d bytes)"
                     % (text, dst, len(got), len(want)))
        rc, so, se, text = run.status(2, "export-agent-key", *args, "--out", dst)
        if os.path.isfile(p):
            with open(p, "rb") as f:
                ck.check(f.read() == want, "%s: a refused export changed %s" % (text, dst))
    run.status(2, "export-agent-key", "--server-cert", "work/nonexistent.crt", "--out",
               "work/exp-none.dat")
    run.status(2, "export-agent-key", "--server-cert", "server.crt")
    ck.check(not os.path.exists(os.path.join(work, "exp-none.dat")),
             "export-agent-key wrote work/exp-none.dat for a missing certificate")
    # the exported copy deployed: VALID
    ex = os.path.join(work, "export-fleet", "agent-x")
    os.makedirs(ex)
    if os.path.exists(os.path.join(work, "exp-pem.pem")):
        shutil.copyfile(os.path.join(work, "exp-pem.pem"), os.path.join(ex, "OfcNTCer.dat"))
        rc, so, se, text = run.status(0, "agents", "--server-cert", "server.crt", "--format",
                                      "jsonl", os.path.join("work", "export-fleet"))
        check_verdicts(text, parse_jsonl(text, so, ck), {"agent-x": "VALID"}, ck)

    return ck.finish("agents_e2e", "%d agents" % m, MAX_FAILURES_SHOWN)


if __name__ == "__main__":
    sys.exit(main())
