#!/usr/bin/env python3
"""cli.edsig_e2e: minisign and signify against Debian's `minisign` and `signify-openbsd`.

Files, signatures and keys are made by the tools; sigsweep's verdict is checked for each case,
and each tool is the oracle of its own format: the tool accepts exactly when sigsweep says
VALID. Cases: both minisign variants (prehashed, legacy -l), a -P key string, a changed file,
trusted and untrusted comment, the wrong key, truncated, garbled, oversized and NUL-holding
signature files, the other tool's signature where one is expected, no key of the kind, the
precedence of F.minisig over F.sig, an orphan F.minisig; signify-signed checksum lists through
`package verify` (modified, missing, extra files; a changed list), with `signify -C` as oracle.
Allowed disagreement: data after minisign's fourth line (minisign ignores it; MALFORMED here).
Skipped (77) without minisign or signify-openbsd (apt-get install minisign signify-openbsd).
Usage: edsig_e2e.py SIGSWEEP WORKDIR"""
import os
import shutil
import subprocess
import sys

from sgs_cli import Checker, text_records

TOOLS = ("minisign", "signify-openbsd")


def sh(work, *args, ok=True):
    p = subprocess.run(args, cwd=work, capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    if ok and p.returncode != 0:
        raise SystemExit("%s: %s" % (" ".join(args), p.stderr))
    return p.returncode


def write(work, name, data):
    with open(os.path.join(work, name), "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def read(work, name):
    with open(os.path.join(work, name), "rb") as f:
        return f.read()


def main():
    sigsweep, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        print("edsig_e2e: SKIP: missing %s (apt-get install minisign signify-openbsd)"
              % " ".join(missing))
        return 77
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "m"))
    os.makedirs(os.path.join(work, "s"))
    ck = Checker()
    sh(work, "minisign", "-G", "-W", "-p", "m.pub", "-s", "m.key")
    sh(work, "minisign", "-G", "-W", "-p", "m2.pub", "-s", "m2.key")
    sh(work, "signify-openbsd", "-G", "-n", "-p", "s.pub", "-s", "s.sec")
    sh(work, "signify-openbsd", "-G", "-n", "-p", "s2.pub", "-s", "s2.sec")
    pstring = read(work, "m.pub").decode().splitlines()[1]

    # ---- minisign: files in m/, each with its expected verdict and reason fragment
    m = os.path.join(work, "m")
    want = {}

    def msign(name, *extra, data=None, key="m.key"):
        write(m, name, data if data is not None else os.urandom(3000) + name.encode())
        sh(work, "minisign", "-S", "-W", "-s", key, "-m", "m/" + name, *extra)

    msign("prehashed", "-t", "release 1.0")
    want["prehashed"] = ("VALID", "Ed25519 over BLAKE2b-512; trusted comment: release 1.0")
    msign("legacy", "-l")
    want["legacy"] = ("VALID", "Ed25519, legacy")
    msign("empty_file", data=b"")
    want["empty_file"] = ("VALID", "")
    msign("changed")
    with open(os.path.join(m, "changed"), "ab") as f:
        f.write(b"x")
    want["changed"] = ("BAD_SIGNATURE", "the file changed after it was signed")
    msign("legacy_changed", "-l")
    with open(os.path.join(m, "legacy_changed"), "ab") as f:
        f.write(b"x")
    want["legacy_changed"] = ("BAD_SIGNATURE", "the file changed")
    msign("trusted_changed", "-t", "version 1")
    sig = read(m, "trusted_changed.minisig").replace(b"version 1", b"version 2")
    write(m, "trusted_changed.minisig", sig)
    want["trusted_changed"] = ("BAD_SIGNATURE", "the trusted comment was changed")
    msign("untrusted_changed")
    sig = read(m, "untrusted_changed.minisig").replace(b"signature from", b"SIGNATURE FROM")
    write(m, "untrusted_changed.minisig", sig)
    want["untrusted_changed"] = ("VALID", "")
    msign("wrong_key", key="m2.key")
    m2id = read(work, "m2.pub").decode().splitlines()[0].rsplit(" ", 1)[1]
    want["wrong_key"] = ("KEY_MISMATCH", "wants key id " + m2id)
    msign("truncated")
    write(m, "truncated.minisig", read(m, "truncated.minisig")[:150])
    want["truncated"] = ("MALFORMED", "minisign signature")
    msign("garbled")
    lines = read(m, "garbled.minisig").split(b"\n")
    lines[1] = lines[1][:10] + b"*" + lines[1][11:]
    write(m, "garbled.minisig", b"\n".join(lines))
    want["garbled"] = ("MALFORMED", "line 2 is not the base64")
    msign("oversized")
    lines = read(m, "oversized.minisig").split(b"\n")
    lines[2] = b"trusted comment: " + b"x" * 9000
    write(m, "oversized.minisig", b"\n".join(lines))
    want["oversized"] = ("MALFORMED", "line 3 is longer than")
    msign("nul")
    write(m, "nul.minisig", read(m, "nul.minisig").replace(b"trusted comment: ",
                                                             b"trusted comment: \0", 1))
    want["nul"] = ("MALFORMED", "NUL")
    msign("trailing")
    write(m, "trailing.minisig", read(m, "trailing.minisig") + b"more\n")
    want["trailing"] = ("MALFORMED", "after the global signature")
    # minisign ignores what follows the fourth line; sigsweep refuses it (nothing unsigned
    # beyond the untrusted comment is let through)
    disagree = {"trailing"}
    write(m, "empty_sig", b"data")
    write(m, "empty_sig.minisig", b"")
    want["empty_sig"] = ("MALFORMED", "is empty")
    write(m, "signify_in_minisig", os.urandom(500))
    sh(work, "signify-openbsd", "-S", "-s", "s.sec", "-m", "m/signify_in_minisig",
       "-x", "m/signify_in_minisig.minisig")
    want["signify_in_minisig"] = ("MALFORMED", "no trusted comment")
    msign("both")                                   # F.minisig decides over F.sig
    write(m, "both.sig", os.urandom(64))
    want["both"] = ("VALID", "both.sig is there too and was not judged")
    write(m, "orphan.minisig", read(m, "prehashed.minisig"))
    want["orphan.minisig"] = ("NO_SIGNATURE", "")

    recs, rc, err = text_records(sigsweep, work, "verify", "--minisign-key", "m.pub", "m")
    ck.check(rc == 1, "minisign run: exit %d (%s)" % (rc, err.strip()[-300:]))
    for name, (verdict, frag) in sorted(want.items()):
        got = recs.get("m/" + name)
        if not ck.check(got is not None, "m/%s: no record" % name):
            continue
        ck.check(got[0] == verdict and frag in got[1],
                 "m/%s: want %s (...%s...), got %s (%s)" % (name, verdict, frag, got[0], got[1]))
        if name.endswith(".minisig") or name == "both" or name == "empty_sig":
            continue
        # the oracle: minisign -V accepts exactly the VALID ones
        tool = sh(work, "minisign", "-V", "-p", "m.pub", "-m", "m/" + name, ok=False) == 0
        ck.check(tool == (got[0] == "VALID") or (name in disagree and tool),
                 "m/%s: minisign %s, sigsweep %s" % (name, "accepts" if tool else "rejects",
                                                     got[0]))
    ck.check(len(recs) == len(want), "minisign run: %d records for %d files: %s"
             % (len(recs), len(want), sorted(set(recs) - {"m/" + n for n in want})))

    # the key as minisign -P's string; no minisign key at all; a key file that is not one
    recs, rc, _ = text_records(sigsweep, work, "verify", "--minisign-key", pstring, "m/prehashed")
    ck.check(rc == 0 and recs.get("m/prehashed", ("",))[0] == "VALID", "-P string: %r" % recs)
    recs, rc, _ = text_records(sigsweep, work, "verify", "--signify-key", "s.pub", "m/prehashed")
    ck.check(recs.get("m/prehashed", ("",))[0] == "UNTRUSTED" and
             "--minisign-key" in recs["m/prehashed"][1], "no minisign key: %r" % recs)
    for bad in ("m/prehashed.minisig", "RWQ" + "A" * 53, "s.sec"):
        _, rc, err = text_records(sigsweep, work, "verify", "--minisign-key", bad, "m/prehashed")
        ck.check(rc == 2 and bad in err, "--minisign-key %s: exit %d %r" % (bad, rc, err))

    # ---- signify: F.sig by content
    s = os.path.join(work, "s")
    swant = {}

    def ssign(name, key="s.sec", data=None):
        write(s, name, data if data is not None else os.urandom(2000) + name.encode())
        sh(work, "signify-openbsd", "-S", "-s", key, "-m", "s/" + name, "-x", "s/%s.sig" % name)

    ssign("good")
    swant["good"] = ("VALID", "signify signature verified")
    ssign("changed")
    with open(os.path.join(s, "changed"), "ab") as f:
        f.write(b"!")
    swant["changed"] = ("BAD_SIGNATURE", "the file changed")
    ssign("wrong_key", key="s2.sec")
    swant["wrong_key"] = ("KEY_MISMATCH", "wants key id")
    ssign("truncated")
    write(s, "truncated.sig", read(s, "truncated.sig")[:-20])
    swant["truncated"] = ("MALFORMED", "signify signature")
    ssign("crlf")
    write(s, "crlf.sig", read(s, "crlf.sig").replace(b"\n", b"\r\n"))
    swant["crlf"] = ("VALID", "")  # as minisign; signify itself refuses (not an oracle case)
    write(s, "minisign_in_sig", os.urandom(300))
    sh(work, "minisign", "-S", "-W", "-s", "m.key", "-m", "s/minisign_in_sig",
       "-x", "s/minisign_in_sig.sig")
    swant["minisign_in_sig"] = ("MALFORMED", "minisign")
    recs, rc, err = text_records(sigsweep, work, "verify", "--signify-key", "s.pub", "s")
    for name, (verdict, frag) in sorted(swant.items()):
        got = recs.get("s/" + name, ("(none)", ""))
        ck.check(got[0] == verdict and frag in got[1],
                 "s/%s: want %s (...%s...), got %s (%s)" % (name, verdict, frag, got[0], got[1]))
        if name == "crlf":
            continue
        tool = sh(work, "signify-openbsd", "-V", "-q", "-p", "s.pub", "-m", "s/" + name,
                  "-x", "s/%s.sig" % name, ok=False) == 0
        ck.check(tool == (got[0] == "VALID"), "s/%s: signify %s, sigsweep %s"
                 % (name, "accepts" if tool else "rejects", got[0]))
    # a signify F.sig with only --key: said, never judged as raw
    sh(work, "openssl", "genpkey", "-algorithm", "ed25519", "-out", "ed.key")
    sh(work, "openssl", "pkey", "-in", "ed.key", "-pubout", "-out", "ed.pub")
    recs, rc, _ = text_records(sigsweep, work, "verify", "--key", "ed.pub", "s/good")
    ck.check(recs.get("s/good", ("",))[0] == "UNTRUSTED" and "--signify-key" in
             recs["s/good"][1], "signify without --signify-key: %r" % recs)

    # ---- signed checksum lists: signify -S -e over `SHA256 (file) = hex` lines
    pkg = os.path.join(work, "pkg")
    os.makedirs(os.path.join(pkg, "sub"))
    for name in ("one", "sub/two", "three"):
        write(pkg, name, os.urandom(1000))
    sh(pkg, "sh", "-c", "sha256sum --tag one sub/two > SHA256 && sha512sum --tag three >> SHA256")
    sh(pkg, "signify-openbsd", "-S", "-e", "-s", "../s.sec", "-m", "SHA256", "-x", "SHA256.sig")
    os.remove(os.path.join(pkg, "SHA256"))
    pv = ["package", "verify", "pkg", "--manifest", "pkg/SHA256.sig", "--signify-key", "s.pub"]
    recs, rc, err = text_records(sigsweep, work, *pv)
    ck.check(rc == 0 and all(recs.get(n, ("",))[0] == "VALID" for n in ("one", "sub/two", "three"))
             and len(recs) == 3, "signed list: exit %d %r %s" % (rc, recs, err[-300:]))
    ck.check(sh(pkg, "signify-openbsd", "-C", "-q", "-p", "../s.pub", "-x", "SHA256.sig",
                ok=False) == 0, "signify -C rejects the list sigsweep accepts")
    with open(os.path.join(pkg, "one"), "ab") as f:
        f.write(b"x")
    os.remove(os.path.join(pkg, "sub/two"))
    write(pkg, "extra", "not listed")
    recs, rc, _ = text_records(sigsweep, work, *pv)
    ck.check(rc == 1 and recs.get("one", ("",))[0] == "DIGEST_MISMATCH" and
             recs.get("sub/two", ("",))[0] == "MISSING_FILE" and
             recs.get("extra", ("",))[0] == "EXTRA_FILE" and recs.get("three", ("",))[0] == "VALID",
             "changed package: exit %d %r" % (rc, recs))
    ck.check(sh(pkg, "signify-openbsd", "-C", "-q", "-p", "../s.pub", "-x", "SHA256.sig",
                ok=False) != 0, "signify -C accepts a changed package")
    listing = read(pkg, "SHA256.sig")
    write(pkg, "SHA256.sig", listing.replace(b"SHA256 (one)", b"SHA256 (One)"))
    recs, rc, _ = text_records(sigsweep, work, *pv)
    ck.check(recs.get("pkg/SHA256.sig", ("",))[0] == "BAD_SIGNATURE", "changed list: %r" % recs)
    write(pkg, "SHA256.sig", listing)
    for args, verdict in ((["--signify-key", "s2.pub"], "KEY_MISMATCH"),
                          (["--key", "ed.pub"], "UNTRUSTED")):
        recs, rc, _ = text_records(sigsweep, work, "package", "verify", "pkg", "--manifest",
                              "pkg/SHA256.sig", *args)
        ck.check(recs.get("pkg/SHA256.sig", ("",))[0] == verdict,
                 "list with %s: want %s, got %r" % (args, verdict, recs))
    return ck.finish("edsig_e2e", "%d minisign, %d signify files" % (len(want), len(swant)))


if __name__ == "__main__":
    sys.exit(main())
